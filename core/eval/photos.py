"""Text->image retrieval on the photo benchmark: natural queries over a whole gallery.

Unlike the captioned sets, the queries here are not the items' own texts, so every variant is
scored, the captions variant included, and the candidate pool is every photo of the gallery
(371 in the demo), not only the split's: a visitor searches the whole folder. Only text->image
is measured (the queries are not a caption bank). The split (dev for choosing, test for
reporting) comes from core.eval.photo_queries.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from core.eval.baseline import random_baseline
from core.eval.evaluate import BOOTSTRAP, Log, _row, image_vectors, model_label, paired_difference
from core.eval.evaluate import score_direction as _score
from core.eval.photo_queries import QUERY_FILE, check_keys, load_queries, split_queries

NOTE = ("photo benchmark: hand-written natural queries (core/eval/queries/photo_queries.jsonl) "
        "over every photo of the gallery; dev picks variants, test reports them")


def photo_eval(gallery: str | Path, specs: list[str], split: str = "test",
               query_file: str | Path = QUERY_FILE, resamples: int = BOOTSTRAP,
               cache_dir: str | Path | None = None, baseline: str | None = None,
               log: Log | None = None) -> dict:
    """One report section: random, then every spec, on the split's queries.

    `baseline` (default: the first spec) is compared with every other variant by a paired
    bootstrap of R@10, since all variants answer the same queries.
    """
    from core.encoders.registry import load_encoder
    from core.ingest.sidecar import load_set
    from core.learn.features import set_features

    cset = load_set(gallery)
    queries = load_queries(query_file)
    check_keys(queries, cset.files, str(gallery))
    queries = split_queries(queries, split)
    features = set_features(cset, cache_dir=cache_dir)
    index = {f: i for i, f in enumerate(features.cset.files)}
    check_keys(queries, index, f"{gallery} (readable images)")
    relevant = [np.array(sorted(index[k] for k in q.relevant), np.int64) for q in queries]
    texts = [q.text for q in queries]
    n = len(features.cset)
    rows = [_row("random", "random", "random",
                 t2i=random_baseline(len(texts), n, relevant))]
    kept: dict[str, tuple] = {}
    for spec in specs:
        enc = load_encoder(spec)
        t0 = time.perf_counter()
        img, txt = image_vectors(enc, features), enc.encode_texts(texts)
        row = _row(model_label(enc), enc.spec, enc.spec.split(":", 1)[0],
                   random_weights=enc.random_weights,
                   t2i=_score(txt, img, relevant, resamples))
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        kept[spec] = (img, txt)
        if log:
            log(f"  photos ({split}): {row['model']} done")
    base = baseline or (specs[0] if specs else None)
    comparisons = [paired_difference(relevant, (load_encoder(s).spec, kept[s]),
                                     (load_encoder(base).spec, kept[base]), resamples=resamples)
                   for s in specs if base in kept and s != base]
    return {"name": "photos", "source": str(gallery), "split": split, "n_images": n,
            "n_texts": len(texts), "n_text_queries": len(texts), "query_kind": "queries",
            "relevant_images": len({k for q in queries for k in q.relevant}),
            "skipped": len(features.cset.problems), "rows": rows, "comparisons": comparisons,
            "note": NOTE}
