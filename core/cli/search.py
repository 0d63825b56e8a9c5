"""`python -m core search`: query an index from the terminal."""

from __future__ import annotations

import argparse
import math
import sys

from core.errors import UserError


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def finite_float(value: str) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {value}")
    return number


def utf8_text(value: str) -> str:
    """Query text from argv: bytes that are not UTF-8 arrive as surrogates; refuse them here."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("is not valid UTF-8 text") from None
    return value


def cmd_search(args: argparse.Namespace) -> int:
    from core.index.fingerprint import encoder_for
    from core.index.store import load_index
    from core.ingest.images import ImageProblem, open_image
    from core.query.search import Query, search

    index = load_index(args.index)
    if index.random_weights:
        print("warning: random weights — not meaningful", file=sys.stderr)
    query = Query(texts=[(t, 1.0) for t in args.query],
                  image_ids=[(i, args.image_weight) for i in args.like_id],
                  negative_texts=[(t, args.negative_weight) for t in args.negative])
    for path in args.like_file:
        try:
            query.images.append((open_image(path)[0], args.image_weight))
        except ImageProblem as e:
            raise UserError(f"{path}: {e}") from e
    needs_model = bool(args.query or args.negative or args.like_file)
    encoder = encoder_for(index) if needs_model else None
    hits = search(encoder, index, query, k=args.k, method=args.method, search_k=args.search_k)
    for h in hits:
        print(f"{h.rank:>3}  {h.score:.4f}  {index.items.at[h.id, 'path']}")
    return 0


def register(sub) -> None:
    s = sub.add_parser("search", help="query an index from the terminal")
    s.add_argument("--index", required=True)
    s.add_argument("query", nargs="*", type=utf8_text, help="text query (several are summed)")
    s.add_argument("-k", type=positive_int, default=10)
    s.add_argument("--negative", action="append", type=utf8_text, default=[], metavar="TEXT")
    s.add_argument("--negative-weight", type=finite_float, default=1.0)
    s.add_argument("--like-id", action="append", type=int, default=[], metavar="ID")
    s.add_argument("--like-file", action="append", default=[], metavar="IMAGE")
    s.add_argument("--image-weight", type=finite_float, default=1.0)
    s.add_argument("--method", choices=["auto", "exact", "annoy"], default="auto")
    s.add_argument("--search-k", type=positive_int, default=None,
                   help="Annoy nodes to inspect (default: grows with the index)")
    s.set_defaults(func=cmd_search)
