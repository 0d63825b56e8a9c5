"""`python -m core export-onnx [--out models/onnx]`: the ONNX files a deployment can ship.

Without them, the first query on a new machine exports EfficientNet and MiniLM in a subprocess
(~10 s, and that subprocess imports torch: ~0.8 and ~1.2 GB peak with the CUDA wheel). With them
in models/onnx/, the app never imports torch at all.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.encoders import runtime
from core.encoders.backbones import onnx_sources


def cmd_export(args: argparse.Namespace) -> int:
    out = Path(args.out)
    for kind, name, weights in onnx_sources(tuple(args.variants)):
        path = out / runtime.onnx_name(kind, name, weights)
        if not path.is_file():
            runtime.export(kind, name, path)
        print(f"{kind}:{name}  {path}  {path.stat().st_size / 2**20:.0f} MB")
    return 0


def register(sub) -> None:
    e = sub.add_parser("export-onnx", help="write the backbones' ONNX files (for deployment)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--out", default=str(runtime.SHIPPED_DIR),
                   help="folder (default models/onnx, where the app looks besides the cache)")
    e.add_argument("--variants", nargs="*", default=["lite0"], metavar="LITE",
                   help="EfficientNet-Lite variants (default lite0)")
    e.set_defaults(func=cmd_export)
