"""`python -m core export-onnx [--out models/onnx] [--model SPEC ...]`: the ONNX files a deployment
ships.

Always the backbones (EfficientNet-Lite, MiniLM); with `--model` (or every index in `--indexes`)
the query-time encoders those indexes need: OpenCLIP's text and image towers, a
`captions:<folder>` sentence model. Each folder's catalogue.json says which file is which, so the
served app (no torch, no weights packages) finds them. Without these files the app cannot answer
on a machine without torch; the first query there is a clear error naming this command.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.encoders import runtime
from core.encoders.backbones import onnx_sources
from core.encoders.fusion import parse_parts
from core.encoders.openclip_onnx import TOWERS
from core.encoders.registry import normalised
from core.encoders.weights import MINILM, openclip_checkpoint, sentence_model_dir, sentence_weights
from core.errors import UserError
from core.paths import indexes_dir

Source = tuple[str, str, Path | None]


def spec_sources(spec: str) -> list[Source]:
    """(kind, name, weights) of what a spec's queries run on beyond the backbones."""
    parsed = normalised(spec)
    if parsed.family == "fusion":
        return [s for part, _ in parse_parts(parsed.argument) for s in spec_sources(part)]
    if parsed.family == "openclip":
        checkpoint = openclip_checkpoint(parsed.argument.partition("@")[2])
        if checkpoint is not None and not checkpoint.is_file():
            raise UserError(f"{spec}: checkpoint {checkpoint} is not on this machine")
        return [(kind, parsed.argument, checkpoint) for kind in TOWERS]
    if parsed.family == "captions" and parsed.argument != MINILM:
        folder = sentence_model_dir(parsed.argument)
        weights = sentence_weights(folder) if folder is not None else None
        if weights is None:
            raise UserError(f"{spec}: only a local sentence-transformers folder is exported")
        return [("sentence", parsed.argument, weights)]
    return []


def index_specs(root: Path) -> list[str]:
    """The model spec of every index folder under root (their manifests)."""
    specs = []
    for manifest in sorted(root.glob("*/manifest.json")):
        specs.append(json.loads(manifest.read_text(encoding="utf-8"))["encoder"]["spec"])
    return specs


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    specs = list(args.model or [])
    if args.indexes:
        specs += index_specs(Path(args.indexes))
    sources = [*onnx_sources(tuple(args.variants))]
    for spec in dict.fromkeys(specs):
        sources += [s for s in spec_sources(spec) if s not in sources]
    for kind, name, weights in sources:
        path = out / runtime.onnx_name(kind, name, weights)
        if not path.is_file():
            runtime.export(kind, name, path)
        runtime.record(path, kind, name)  # also for files exported before catalogues existed
        print(f"{kind}:{name}  {path}  {path.stat().st_size / 2**20:.0f} MB")
    return 0


def register(sub) -> None:
    e = sub.add_parser("export-onnx", help="write the ONNX files a deployment ships",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--out", default=str(runtime.SHIPPED_DIR),
                   help="folder (default models/onnx, where the app looks besides the cache)")
    e.add_argument("--variants", nargs="*", default=["lite0"], metavar="LITE",
                   help="EfficientNet-Lite variants (default lite0)")
    e.add_argument("--model", action="append", metavar="SPEC",
                   help="also a query encoder, e.g. openclip:ViT-B-32@laion2b_s34b_b79k "
                        "(repeatable)")
    e.add_argument("--indexes", nargs="?", const=str(indexes_dir()), metavar="DIR",
                   help="also what every index in DIR needs (default DIR: the app's indexes)")
    e.set_defaults(func=cmd_export)
