"""`python -m core train --sets DIR... --out models/NAME`: train the two-branch head.

The result folder is an encoder: build and search with `--model twobranch:models/NAME`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.learn.train_config import TrainConfig
from core.paths import features_dir, spec_path
from core.progress import log


def train_from_sets(set_dirs: list[str], out: str, config: TrainConfig,
                    cache_dir: str | None = str(features_dir()), log=log) -> dict:
    """Load (cached) frozen features, train, save; returns a short summary for printing."""
    from core.ingest.sidecar import load_set
    from core.learn.features import set_features
    from core.learn.train import save_model, train

    train_sets, val_sets, described = [], {}, {}
    for d in set_dirs:
        cset = load_set(d)
        log(f"{cset.name}: {len(cset)} images {cset.split_counts()}, "
            f"{len(cset.problems)} rows skipped; frozen features (cached in {cache_dir})")
        feats = set_features(cset, cache_dir=cache_dir, progress=_progress(cset.name, log))
        tr, va = feats.split("train"), feats.split("val")
        if len(tr.texts):
            train_sets.append(tr)
        if len(va.texts):
            val_sets[cset.name] = va
        described[cset.name] = {"path": str(d), "train_images": len(tr.cset),
                                "train_texts": len(tr.texts), "val_images": len(va.cset),
                                "val_texts": len(va.texts)}
    result = train(train_sets, val_sets, config, log=log)
    save_model(result, out, described)
    best = result.history[result.best_epoch - 1]
    return {"out": out, "best_epoch": result.best_epoch, "epochs_run": len(result.history),
            "best_val_rsum": best["val_rsum"], "seconds": result.seconds}


def _progress(name: str, log):
    def update(done: int, total: int) -> None:
        if done == total or done % 1024 == 0:
            log(f"  {name}: features {done}/{total}")
    return update


def cmd_train(args: argparse.Namespace) -> int:
    config = TrainConfig(hidden=args.hidden, dim=args.dim, margin=args.margin, top_k=args.top_k,
                         image_anchor_weight=args.image_weight, lr=args.lr,
                         weight_decay=args.weight_decay, dropout=args.dropout,
                         batch_size=args.batch_size, epochs=args.epochs,
                         patience=args.patience, seed=args.seed, threads=args.threads)
    cache = None if args.no_cache else args.cache
    summary = train_from_sets(args.sets, args.out, config, cache)
    print(f"saved {summary['out']}  (best epoch {summary['best_epoch']} of "
          f"{summary['epochs_run']}, validation R@sum {summary['best_val_rsum']:.1f}, "
          f"{summary['seconds']:.1f} s)")
    print(f"use it with: --model twobranch:{spec_path(summary['out'])}   curves: "
          f"{Path(summary['out']) / 'curves.png'}")
    return 0


def register(sub) -> None:
    d = TrainConfig()
    t = sub.add_parser("train", help="train the two-branch image-text head on captioned sets",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("--sets", nargs="+", required=True, metavar="DIR",
                   help="captioned set folders (captions.jsonl with train/val/test splits)")
    t.add_argument("--out", required=True, metavar="models/NAME")
    t.add_argument("--epochs", type=int, default=d.epochs, help="at most this many")
    t.add_argument("--patience", type=int, default=d.patience,
                   help="stop after this many epochs without a better validation R@sum")
    t.add_argument("--batch-size", type=int, default=d.batch_size)
    t.add_argument("--lr", type=float, default=d.lr)
    t.add_argument("--weight-decay", type=float, default=d.weight_decay)
    t.add_argument("--margin", type=float, default=d.margin, help="paper: 0.05")
    t.add_argument("--top-k", type=int, default=d.top_k, help="hardest negatives per anchor")
    t.add_argument("--image-weight", type=float, default=d.image_anchor_weight,
                   help="weight of the image-anchor term (paper: 1.5)")
    t.add_argument("--hidden", type=int, default=d.hidden)
    t.add_argument("--dim", type=int, default=d.dim)
    t.add_argument("--dropout", type=float, default=d.dropout)
    t.add_argument("--seed", type=int, default=d.seed)
    t.add_argument("--threads", type=int, default=d.threads,
                   help="torch threads while training (fixed so a seed is reproducible)")
    t.add_argument("--cache", default=str(features_dir()), help="frozen-feature cache folder")
    t.add_argument("--no-cache", action="store_true")
    t.set_defaults(func=cmd_train)
