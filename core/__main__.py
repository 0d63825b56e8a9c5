"""Command line: `python -m core build|search|info|demo|train|evaluate ...` (thin over core)."""

from __future__ import annotations

import argparse
import sys

from core.errors import UserError


def cmd_build(args: argparse.Namespace) -> int:
    from core.build import build_index
    from core.progress import progress_bar

    bar = progress_bar()
    try:
        summary = build_index(args.images, args.model, args.out, trees=args.trees,
                              batch_size=args.batch_size, extensions=args.ext.split(","),
                              force=args.force, progress=bar)
    finally:
        bar.close()
    print("\n".join(summary.lines()))
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from core.encoders.registry import load_encoder
    from core.images import ImageProblem, open_image
    from core.search import Query, search
    from core.store import load_index

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
    encoder = load_encoder(index.spec) if needs_model else None
    hits = search(encoder, index, query, k=args.k, method=args.method, search_k=args.search_k)
    for h in hits:
        print(f"{h.rank:>3}  {h.score:.4f}  {index.items.at[h.id, 'path']}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from core.info import describe_index
    from core.store import load_index

    print("\n".join(describe_index(load_index(args.index))))
    return 0


def _parser() -> argparse.ArgumentParser:
    from core.build import DEFAULT_TREES
    from core.crawl import DEFAULT_EXTENSIONS

    p = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="crawl folders and build (or refresh) an index")
    b.add_argument("--images", nargs="+", required=True, metavar="DIR")
    b.add_argument("--model", required=True, metavar="SPEC",
                   help="e.g. conse:lite0, efficientnet:lite0, captions:minilm, "
                        "openclip:ViT-B-32@/path/ckpt.bin (see README)")
    b.add_argument("--out", required=True, metavar="indexes/NAME")
    b.add_argument("--trees", type=int, default=DEFAULT_TREES)
    b.add_argument("--batch-size", type=int, default=None)
    b.add_argument("--ext", default=",".join(DEFAULT_EXTENSIONS))
    b.add_argument("--force", action="store_true", help="replace an index of another model")
    b.set_defaults(func=cmd_build)

    s = sub.add_parser("search", help="query an index from the terminal")
    s.add_argument("--index", required=True)
    s.add_argument("query", nargs="*", help="text query (several are summed)")
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--negative", action="append", default=[], metavar="TEXT")
    s.add_argument("--negative-weight", type=float, default=1.0)
    s.add_argument("--like-id", action="append", type=int, default=[], metavar="ID")
    s.add_argument("--like-file", action="append", default=[], metavar="IMAGE")
    s.add_argument("--image-weight", type=float, default=1.0)
    s.add_argument("--method", choices=["auto", "exact", "annoy"], default="auto")
    s.add_argument("--search-k", type=int, default=None)
    s.set_defaults(func=cmd_search)

    i = sub.add_parser("info", help="describe an index")
    i.add_argument("--index", required=True)
    i.set_defaults(func=cmd_info)

    _add_optional_commands(sub)
    return p


def _add_optional_commands(sub) -> None:
    """Commands whose modules register themselves (demo, train, evaluate, export-onnx)."""
    for module in ("core.demo.cli", "core.train_cli", "core.evaluate_cli",
                   "core.encoders.export_cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        mod.register(sub)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was changed (the previous index, if any, is intact)",
              file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
