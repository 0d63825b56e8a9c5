"""`python -m core info`: describe an index."""

from __future__ import annotations

import argparse


def cmd_info(args: argparse.Namespace) -> int:
    from core.index.info import describe_index
    from core.index.store import load_index

    print("\n".join(describe_index(load_index(args.index))))
    return 0


def register(sub) -> None:
    i = sub.add_parser("info", help="describe an index")
    i.add_argument("--index", required=True)
    i.set_defaults(func=cmd_info)
