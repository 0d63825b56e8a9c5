"""`python -m core vg-index`: a searchable index from Visual Genome region descriptions.

    python -m core vg-index --regions region_descriptions.json --images VG --out indexes/vg
"""

from __future__ import annotations

import argparse


def cmd_vg_index(args: argparse.Namespace) -> int:
    from core.eval.vg import build_vg_index
    from core.progress import run_with_bar

    return run_with_bar(lambda bar: build_vg_index(
        args.regions, args.images, args.out, args.model, args.links, args.limit,
        args.max_phrases, progress=bar))


def register(sub) -> None:
    v = sub.add_parser("vg-index", help="index Visual Genome images by their region descriptions")
    v.add_argument("--regions", required=True, metavar="region_descriptions.json")
    v.add_argument("--images", required=True, metavar="DIR",
                   help="folder with <id>.jpg (or VG_100K/ and VG_100K_2/)")
    v.add_argument("--out", required=True, metavar="indexes/NAME")
    v.add_argument("--model", default="captions:minilm",
                   help="captions:minilm embeds each image from its phrases (default); any "
                        "other spec embeds the pixels and keeps the phrases as descriptions")
    v.add_argument("--links", default=None, metavar="DIR",
                   help="where the linked images + captions.jsonl go (default data/vg/NAME)")
    v.add_argument("--limit", type=int, default=None, help="first N images of the file")
    v.add_argument("--max-phrases", type=int, default=None)
    v.set_defaults(func=cmd_vg_index)
