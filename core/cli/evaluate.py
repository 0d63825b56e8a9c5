"""`python -m core evaluate`: retrieval metrics of model variants on test splits.

    python -m core evaluate --sets data/sets/* --models conse:lite0 twobranch:models/twobranch \\
        --markdown reports/evaluation.md --json reports/evaluation.json
    python -m core evaluate --photos --photo-split dev --models conse:lite0 captions:minilm
    python -m core evaluate --karpathy dataset_flickr30k.json --images flickr30k-images
    python -m core evaluate --karpathy dataset_coco.json --images coco --coco-1k
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

from core.errors import UserError
from core.paths import TWOBRANCH_SPEC, data_dir, default_twobranch, features_dir, resolve_path
from core.progress import log


def default_models() -> list[str]:
    specs = ["conse:lite0"]
    if (default_twobranch() / "config.json").is_file():
        specs.append(TWOBRANCH_SPEC)
    return specs


def set_eval_sets(set_dirs: list[str], split: str = "test", limit: int | None = None,
                  cache_dir: str | None = str(features_dir()), log=log) -> list:
    """EvalSets from captioned set folders (their `split` rows, the first `limit` of them).

    Features are taken for the whole set and then split, so the cache written by training
    (which reads the whole set) serves evaluation too.
    """
    from core.eval.evaluate import EvalSet
    from core.ingest.sidecar import load_set
    from core.learn.features import set_features

    out = []
    for d in set_dirs:
        cset = load_set(d)
        if split not in cset.splits:
            raise UserError(f"{d}: no '{split}' rows in captions.jsonl")
        log(f"{cset.name}: {cset.splits.count(split)} {split} images; frozen features")
        part = set_features(cset, cache_dir=cache_dir).split(split)
        if limit:
            part = part.subset(range(min(limit, len(part.cset))))
        out.append(EvalSet(cset.name, str(d), part))
    return out


def karpathy_eval_sets(json_path: str, images: str, coco_1k: bool = False,
                       limit: int | None = None, cache_dir: str | None = str(features_dir()),
                       log=log, fold_size: int = 1000, n_folds: int = 5
                       ) -> list[tuple[str, list]]:
    """(name, folds) of the standard Karpathy test split; COCO 1K gives five folds."""
    from core.eval.datasets import coco_1k_folds, load_karpathy
    from core.eval.evaluate import EvalSet
    from core.ingest.sidecar import CaptionedSet
    from core.learn.features import set_features

    loaded = load_karpathy(json_path, images, split="test", limit=limit)
    log(f"{json_path}: test split {loaded.report()}")
    root = Path(images)
    dataset = loaded.records[0].key.split(":", 1)[0]
    folds = (coco_1k_folds(loaded.records, fold_size, n_folds) if coco_1k
             else [loaded.records])
    name = f"{dataset}-test-1k-folds" if coco_1k else f"{dataset}-test-{len(loaded.records)}"
    out = []
    for i, records in enumerate(folds):
        cset = CaptionedSet(f"{name}-{i}" if coco_1k else name, root,
                            [r.path.relative_to(root).as_posix() for r in records],
                            [r.texts for r in records], ["test"] * len(records),
                            [f"{r.path}: image not found" for r in loaded.missing])
        out.append(EvalSet(name, str(json_path), set_features(cset, cache_dir=cache_dir)))
    return [(name, out)]


def training_info(specs: list[str]) -> dict:
    """History and curves of each two-branch model evaluated (for the app's page)."""
    info = {}
    for spec in specs:
        if not spec.startswith("twobranch:"):
            continue
        path = resolve_path(spec.split(":", 1)[1])  # the folder the encoder loaded
        try:
            cfg = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        info[spec] = {"path": str(path), "curves": str(path / "curves.png"),
                      **{k: cfg.get(k) for k in ("best_epoch", "best_val_rsum", "history",
                                                 "hyperparameters", "train_seconds", "sets",
                                                 "trained_at")}}
    return info


def run_evaluation(set_dirs: list[str], specs: list[str], karpathy: str | None = None,
                   images: str | None = None, coco_1k: bool = False, limit: int | None = None,
                   fuse: bool = True, resamples: int = 1000,
                   cache_dir: str | None = str(features_dir()), log=log,
                   photos: str | None = None, photo_split: str = "test",
                   photo_queries: str | None = None, **fold_options) -> dict:
    from core.eval.evaluate import NOTE, average_folds, evaluate_set
    from core.index.build import DEFAULT_TREES
    from core.query.search import DEFAULT_SEARCH_K_PER_RESULT

    if not set_dirs and not karpathy and not photos:
        raise UserError("nothing to evaluate: pass --sets DIR..., --photos [GALLERY] and/or "
                        "--karpathy JSON --images DIR")
    if karpathy and not images:
        raise UserError("--karpathy needs --images DIR (the folder holding the images)")
    sets = []
    for es in set_eval_sets(set_dirs, limit=limit, cache_dir=cache_dir, log=log):
        sets.append(evaluate_set(es, specs, fuse, resamples, log))
    if karpathy:
        for name, folds in karpathy_eval_sets(karpathy, images, coco_1k, limit, cache_dir, log,
                                              **fold_options):
            reports = [evaluate_set(es, specs, fuse, resamples, log) for es in folds]
            merged = reports[0] if len(reports) == 1 else average_folds(reports, name)
            merged["note"] = "standard Karpathy test split (frozen features, no fine-tuning)"
            sets.append(merged)
    if photos:
        from core.eval.photo_queries import QUERY_FILE
        from core.eval.photos import photo_eval

        log(f"photos: {photos}, {photo_split} queries over every photo")
        sets.append(photo_eval(photos, specs, photo_split, photo_queries or QUERY_FILE,
                               resamples, cache_dir, log=log))
    return {"created": datetime.now(UTC).isoformat(timespec="seconds"), "note": NOTE,
            "models": specs, "bootstrap_resamples": resamples,
            "annoy": {"trees": DEFAULT_TREES, "search_k_per_result": DEFAULT_SEARCH_K_PER_RESULT,
                      "k": 10, "direction": "text→image"},
            "sets": sets, "training": training_info(specs)}


def cmd_evaluate(args: argparse.Namespace) -> int:
    from core.eval.report import to_text, write_outputs

    specs = args.models or default_models()
    report = run_evaluation(args.sets, specs, args.karpathy, args.images, args.coco_1k,
                            args.limit, not args.no_fused, args.bootstrap,
                            None if args.no_cache else args.cache, photos=args.photos,
                            photo_split=args.photo_split, photo_queries=args.photo_queries)
    print(to_text(report))
    for path in write_outputs(report, args.json, args.csv, args.markdown):
        print(f"wrote {path}")
    return 0


def register(sub) -> None:
    e = sub.add_parser("evaluate", help="retrieval metrics of models on captioned test splits",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--sets", nargs="*", default=[], metavar="DIR",
                   help="captioned set folders; their 'test' rows are evaluated")
    e.add_argument("--models", nargs="*", metavar="SPEC",
                   help="text-capable specs, e.g. conse:lite0 twobranch:models/twobranch "
                        "openclip:ViT-B-32@/path/ckpt.bin (default: conse:lite0 and "
                        "twobranch:models/twobranch when it exists)")
    e.add_argument("--photos", nargs="?", const=str(data_dir() / "gallery"), metavar="GALLERY",
                   help="photo benchmark: natural queries over every photo of GALLERY "
                        "(default data/gallery); every text-capable spec, captions included")
    e.add_argument("--photo-split", choices=("dev", "test"), default="test",
                   help="dev to choose variants, test to report them (default test)")
    e.add_argument("--photo-queries", metavar="JSONL",
                   help="query file (default core/eval/queries/photo_queries.jsonl)")
    e.add_argument("--karpathy", metavar="dataset_X.json", help="Karpathy split JSON")
    e.add_argument("--images", metavar="DIR", help="image folder for --karpathy")
    e.add_argument("--coco-1k", action="store_true",
                   help="COCO 1K protocol: the 5K test split as 5 folds, metrics averaged")
    e.add_argument("--limit", type=int, default=None, help="first N test images per set")
    e.add_argument("--no-fused", action="store_true", help="skip the two-branch + ConSE row")
    e.add_argument("--bootstrap", type=int, default=1000, help="resamples for the intervals")
    e.add_argument("--json", metavar="PATH", help="e.g. reports/evaluation.json (the app reads it)")
    e.add_argument("--csv", metavar="PATH")
    e.add_argument("--markdown", metavar="PATH", help="README-ready tables")
    e.add_argument("--cache", default=str(features_dir()), help="frozen-feature cache folder")
    e.add_argument("--no-cache", action="store_true")
    e.set_defaults(func=cmd_evaluate)
