"""The hybrid variant's choices, measured on the photo benchmark's DEV split (never test).

    python -m benchmarks.hybrid_weights [--split dev] [--no-write]

Each part is embedded once (the ConSE pixel part, the captions text part with and without file
and folder names) and combined exactly as `hybrid:` does (core.encoders.hybrid.hybrid_vectors),
so a grid of text weights costs one pass over the photos. Then the text-less calibration: the
sidecar texts of a seeded half of the gallery are removed, and every query (and those whose
photos all lost their texts) is scored with a zero text part for a text-less photo, with a share
of its pixel vector there (the stand-in), and with its file and folder names read instead.
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks._common import record, table
from core.cli.demo import CONSE
from core.encoders.fusion import join_parts, part_scales
from core.encoders.hybrid import (
    DEFAULT_TEXT_WEIGHT,
    NAMES,
    STAND_IN,
    TEXT_SPEC,
    hybrid_vectors,
    with_name_words,
)
from core.encoders.registry import load_encoder
from core.eval.evaluate import image_vectors
from core.eval.metrics import per_query_metrics
from core.eval.photo_queries import load_queries, split_queries
from core.ingest.sidecar import load_set
from core.learn.features import set_features
from core.paths import data_dir

WEIGHTS = (0.3, 0.4, 0.5, 0.6, 0.7)
KS = (1, 5, 10)


def recalls(queries: np.ndarray, items: np.ndarray, relevant: list[np.ndarray]) -> list[float]:
    ranks, _ = per_query_metrics(queries, items, relevant, map_k=10)
    return [100 * float((ranks <= k).mean()) for k in KS]


def item_texts(texts: list[list[str]], files: list[str], names: str,
               dropped: np.ndarray | None = None) -> list[list[str]]:
    """What the hybrid's text part reads per photo; `dropped` photos lose their sidecar texts."""
    return [with_name_words([] if dropped is not None and dropped[i] else list(t), f, names)
            for i, (t, f) in enumerate(zip(texts, files, strict=True))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="dev", choices=("dev",), help="choices are made on dev")
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args()
    features = set_features(load_set(data_dir() / "gallery"))
    cset = features.cset
    index = {f: i for i, f in enumerate(cset.files)}
    queries = split_queries(load_queries(), args.split)
    relevant = [np.array(sorted(index[k] for k in q.relevant), np.int64) for q in queries]
    text_enc, conse = load_encoder(TEXT_SPEC), load_encoder(CONSE)
    pixels = image_vectors(conse, features)
    q = text_enc.encode_texts([q.text for q in queries])

    def hybrid(texts: np.ndarray, w: float = DEFAULT_TEXT_WEIGHT, beta: float = STAND_IN,
               subset: list[int] | None = None) -> list[float]:
        scales = part_scales([w, 1 - w])
        keep = list(range(len(queries))) if subset is None else subset
        return recalls(join_parts([q, q], scales)[keep], hybrid_vectors(texts, pixels, scales,
                       beta), [relevant[i] for i in keep])

    full = {n: text_enc.encode_item_texts(item_texts(cset.texts, cset.files, n)) for n in NAMES}
    rows = [["captions only", "-", *recalls(q, full["off"], relevant)],
            ["ConSE only (pixels)", "-", *recalls(q, pixels, relevant)]]
    rows += [[f"hybrid, names={n}", w, *hybrid(full[n], w)] for n in ("off", "on")
             for w in WEIGHTS]  # every gallery photo has texts: fallback reads as off
    grid = table(["variant", "text weight", "R@1", "R@5", "R@10"], rows)

    # calibration: a seeded half of the photos lose their texts (and, first, their names too)
    drop = np.random.default_rng(0).random(len(cset)) < 0.5
    lost = [i for i, r in enumerate(relevant) if drop[r].all()]
    bare = text_enc.encode_item_texts(item_texts(cset.texts, cset.files, "off", drop))
    calib = [["ConSE only", "-", *recalls(q, pixels, relevant),
              *recalls(q[lost], pixels, [relevant[i] for i in lost])]]
    calib += [[f"hybrid, names=off, stand-in {b}", f"{b:g}", *hybrid(bare, beta=b), *hybrid(
        bare, beta=b, subset=lost)] for b in (0.0, 0.25, 0.5, 0.75, 1.0)]
    for n in ("fallback", "on"):
        named = text_enc.encode_item_texts(item_texts(cset.texts, cset.files, n, drop))
        calib.append([f"hybrid, names={n}", f"{STAND_IN:g}", *hybrid(named),
                      *hybrid(named, subset=lost)])
    calibration = table(["half the photos lose their texts", "stand-in", "R@1", "R@5", "R@10",
                         "lost R@1", "lost R@5", "lost R@10"], calib)
    head = (f"{args.split}: {len(queries)} queries over {len(cset)} photos (text->image, %). "
            f"Second table: texts removed from {int(drop.sum())} photos (seed 0); 'lost' = the "
            f"{len(lost)} queries whose photos all lost their texts. Stand-in: the share of its "
            "pixel vector a text-less photo gets as its text part (0 = a zero text part).")
    record("Hybrid variant: text weight, file names, text-less calibration (photo dev)",
           [head, grid, calibration], write=not args.no_write)


if __name__ == "__main__":
    main()
