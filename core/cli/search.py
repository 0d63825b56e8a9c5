"""`python -m core search`: query an index from the terminal."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import date

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


def iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2024-05-31, not {value}") from None


def _filters(args: argparse.Namespace):
    from core.query.filters import Filters

    return Filters(folders=tuple(args.folder), sources=tuple(args.source),
                   taken_from=args.taken_from, taken_to=args.taken_to,
                   min_width=args.min_width, min_height=args.min_height,
                   orientations=tuple(args.orientation), has_text=args.has_text,
                   has_ocr=args.has_ocr)


def _copy(index, hits, folder: str) -> None:
    from core.query.export import copy_results

    done = copy_results(index, [h.id for h in hits], folder)
    moved = sum(c.status in ("copied", "renamed") for c in done)
    print(f"copied {moved} of {len(done)} files to {folder}")
    for c in done:
        where = f" -> {c.target}" if c.target is not None else ""
        print(f"  {c.status:<13} {c.source}{where}")


def cmd_search(args: argparse.Namespace) -> int:
    from core.index.fingerprint import encoder_for
    from core.index.store import load_index
    from core.ingest.images import ImageProblem, open_image
    from core.query.filters import filtered_search, item_facts, keep_mask
    from core.query.search import Query, query_vector

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
    filters = _filters(args)
    keep = keep_mask(item_facts(index), filters) if filters.active() else None
    vec = query_vector(encoder, index, query)
    hits = filtered_search(index, vec, args.k, keep, frozenset(args.like_id), args.method,
                           args.search_k)
    hits = [h for h in hits if args.min_score is None or h.score >= args.min_score]
    if not hits:
        print("no results" + (f" ({filters.describe()})" if filters.active() else ""),
              file=sys.stderr)
    for h in hits:
        print(f"{h.rank:>3}  {h.score:.4f}  {index.items.at[h.id, 'path']}")
    if args.copy_to:
        _copy(index, hits, args.copy_to)
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
    s.add_argument("--min-score", type=finite_float, default=None, metavar="COSINE",
                   help="drop results below this cosine")
    s.add_argument("--copy-to", metavar="DIR", help="copy the result files into DIR (names "
                   "kept; a clash gets a new name, nothing is overwritten)")
    f = s.add_argument_group("filters (applied after ranking; more candidates are fetched)")
    f.add_argument("--folder", action="append", default=[], metavar="REL",
                   help="only images in this folder (relative to the root) or below it")
    f.add_argument("--source", action="append", default=[], help="only this source")
    f.add_argument("--orientation", action="append", default=[],
                   choices=["landscape", "portrait", "square"])
    f.add_argument("--min-width", type=int, default=0, metavar="PX")
    f.add_argument("--min-height", type=int, default=0, metavar="PX")
    f.add_argument("--taken-from", type=iso_date, metavar="YYYY-MM-DD",
                   help="EXIF date taken on or after (images without a date are dropped)")
    f.add_argument("--taken-to", type=iso_date, metavar="YYYY-MM-DD")
    text = f.add_mutually_exclusive_group()
    text.add_argument("--with-text", dest="has_text", action="store_const", const=True,
                      default=None, help="only images with a description")
    text.add_argument("--without-text", dest="has_text", action="store_const", const=False)
    words = f.add_mutually_exclusive_group()
    words.add_argument("--with-words", dest="has_ocr", action="store_const", const=True,
                       default=None, help="only images showing words (an index built with --ocr)")
    words.add_argument("--without-words", dest="has_ocr", action="store_const", const=False)
    s.set_defaults(func=cmd_search)
