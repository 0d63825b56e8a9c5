"""`python -m core build`: crawl folders and build (or refresh) an index."""

from __future__ import annotations

import argparse


def cmd_build(args: argparse.Namespace) -> int:
    from core.index.build import build_index
    from core.ingest.remote import local_roots
    from core.progress import run_with_bar

    images = local_roots(args.images)  # s3://... and other URIs: a local mirror
    return run_with_bar(lambda bar: build_index(
        images, args.model, args.out, trees=args.trees, batch_size=args.batch_size,
        extensions=args.ext.split(","), force=args.force, progress=bar, store=args.store,
        engine=args.engine, ray_address=args.ray_address, ocr=args.ocr))


def register(sub) -> None:
    from core.index.build import DEFAULT_TREES
    from core.ingest.crawl import DEFAULT_EXTENSIONS

    b = sub.add_parser("build", help="crawl folders and build (or refresh) an index")
    b.add_argument("--images", nargs="+", required=True, metavar="DIR",
                   help="folders, or object-store URIs (s3://bucket/prefix, gs://...) mirrored "
                        "locally first")
    b.add_argument("--model", required=True, metavar="SPEC",
                   help="e.g. conse:lite0, efficientnet:lite0, captions:minilm, "
                        "openclip:ViT-B-32@/path/ckpt.bin (see README)")
    b.add_argument("--out", required=True, metavar="indexes/NAME")
    b.add_argument("--trees", type=int, default=DEFAULT_TREES)
    b.add_argument("--batch-size", type=int, default=None)
    b.add_argument("--ext", default=",".join(DEFAULT_EXTENSIONS))
    b.add_argument("--force", action="store_true", help="replace an index of another model")
    b.add_argument("--store", choices=["annoy", "lance"], default="annoy",
                   help="annoy: embeddings.npy + annoy.ann (default); lance: one LanceDB table "
                        "with an IVF-PQ index, disk-resident (large collections, object stores)")
    b.add_argument("--engine", choices=["local", "ray"], default="local",
                   help="ray: decode and encode on a Ray cluster (pip install -r "
                        "requirements-scale.txt)")
    b.add_argument("--ray-address", default=None, metavar="auto|HOST:PORT",
                   help="the Ray cluster to join (default: a local one on this machine's cores)")
    b.add_argument("--ocr", action="store_true",
                   help="read the text in each image (signs, labels; slow: 1-3 s per new image "
                        "on 2 cores) and use it as one more text (needs rapidocr-onnxruntime)")
    b.set_defaults(func=cmd_build)
