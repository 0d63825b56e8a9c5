"""Retrieval evaluation of model variants on the test split of captioned sets.

Every variant is scored on the same images and the same queries: text->image (each distinct
caption is a query; identical captions of several images make several relevant images) and
image->text (each image is a query; its distinct captions are the relevant texts). Metrics come
from core.eval.metrics, the random row from core.eval.baseline; R@k carries a bootstrap 95%
interval over queries because ~140 test images make one split noisy. ConSE and the two-branch
head reuse the cached frozen features (one EfficientNet pass per set for all of them); other
models encode the images themselves.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from core.encoders.base import RANDOM_WEIGHTS_WARNING, Encoder, batched
from core.errors import UserError
from core.eval.baseline import random_baseline
from core.eval.metrics import (
    mean_rank,
    median_rank,
    per_query_metrics,
    recall_at_k,
)
from core.ingest.sidecar import Queries, build_queries
from core.learn.features import SetFeatures

KS = (1, 5, 10)
MAP_K = 10
BOOTSTRAP = 1000
NOTE = ("These sets (Tux Paint stamps, OpenClipart, IFCT food photos) are not Flickr30k or COCO: "
        "the numbers are not comparable with published image-text retrieval results.")
CAPTIONS_NA = ("n/a: the test queries are the very captions the items are embedded from, so a "
               "caption would simply find itself")
HYBRID_NA = ("n/a: its text part embeds the very captions queried (its pixel part is the ConSE "
             "row)")
Log = Callable[[str], None]


@dataclass
class EvalSet:
    """One test set: its frozen features (for the fast paths) and the retrieval ground truth."""

    name: str
    source: str
    features: SetFeatures
    queries: Queries = field(init=False)

    def __post_init__(self) -> None:
        f = self.features
        if len(f.cset) < 2:
            raise UserError(f"{self.name}: fewer than 2 test images; nothing to rank")
        self.queries = build_queries(f.texts, f.text_owner, len(f.cset))

    @property
    def n_images(self) -> int:
        return len(self.features.cset)


def bootstrap_ci(values: np.ndarray, resamples: int = BOOTSTRAP, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of per-query values, resampling queries."""
    values = np.asarray(values, np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    step = max(1, 2_000_000 // max(1, values.size))
    for start in range(0, resamples, step):
        stop = min(start + step, resamples)
        idx = rng.integers(0, values.size, size=(stop - start, values.size))
        means[start:stop] = values[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def score_direction(queries: np.ndarray, gallery: np.ndarray, relevant: list[np.ndarray],
                    resamples: int = BOOTSTRAP, seed: int = 0) -> dict:
    """R@1/5/10, median/mean rank, mAP@10, and bootstrap intervals of each R@k."""
    ranks, ap = per_query_metrics(queries, gallery, relevant, map_k=MAP_K)
    out: dict = dict(recall_at_k(ranks, KS))
    out.update({"median_rank": median_rank(ranks), "mean_rank": mean_rank(ranks),
                f"mAP@{MAP_K}": float(ap.mean()), "n_queries": int(ranks.size)})
    out["ci"] = {f"R@{k}": list(bootstrap_ci(ranks <= k, resamples, seed)) for k in KS}
    out["ci_kind"] = "bootstrap 95% over queries"
    return out


def random_row(es: EvalSet) -> dict:
    """Exact expectations under a uniformly random ranking (no interval needed)."""
    q = es.queries
    return _row("random", "random", "random",
                t2i=random_baseline(len(q.texts), es.n_images, q.images_of_text),
                i2t=random_baseline(es.n_images, len(q.texts), q.texts_of_image))


def _row(label: str, spec: str, family: str, **kw) -> dict:
    row = {"model": label, "spec": spec, "family": family, "status": "ok", "reason": None,
           "random_weights": False, "t2i": None, "i2t": None, "annoy_recall@10": None,
           "seconds": None}
    row.update(kw)
    return row


def na_row(label: str, spec: str, family: str, reason: str) -> dict:
    return _row(label, spec, family, status="n/a", reason=reason)


def model_label(enc: Encoder) -> str:
    family = enc.spec.split(":", 1)[0]
    names = {"conse": "ConSE", "twobranch": "two-branch", "openclip": "OpenCLIP",
             "captions": "captions", "efficientnet": "EfficientNet", "hybrid": "hybrid"}
    argument, *options = enc.spec.split(":", 1)[1].split(",")
    shown = [o for o in options if o.split("=")[0] in ("prompt", "view", "power", "text", "names")
             or (o.startswith("top=") and o != "top=10")]
    label = f"{names.get(family, family)} ({', '.join([argument, *shown])})"
    return f"{label} — {RANDOM_WEIGHTS_WARNING}" if enc.random_weights else label


def _load_images(paths: list[Path]):
    from core.ingest.images import ImageProblem, open_image

    for p in paths:
        try:
            yield open_image(p, draft=512)[0]
        except ImageProblem as e:
            raise UserError(f"{p}: {e}") from e


def image_vectors(enc: Encoder, f: SetFeatures) -> np.ndarray:
    """Item vectors of a set's images as a build makes them (`encode_items`: from the texts and
    names the model reads, the pixels, or both); from the cached frozen features when the
    encoder can use them (its `vectors_from_features`)."""
    texts = [enc.item_texts(t, rel) for t, rel in zip(f.cset.texts, f.cset.files, strict=True)]
    if enc.item_input == "texts":
        return enc.encode_item_texts(texts)
    img = enc.vectors_from_features(f.image_spec, f.pooled, f.logits)
    if img is None:
        img = np.concatenate([enc.encode_items(list(_load_images(paths)), chunk)
                              for paths, chunk in zip(batched(f.cset.paths, 32),
                                                      batched(texts, 32), strict=True)])
    return img


def embed(enc: Encoder, es: EvalSet) -> tuple[np.ndarray, np.ndarray]:
    """(image vectors, distinct-caption vectors) for a text-capable model."""
    f, q = es.features, es.queries
    img = image_vectors(enc, f)
    txt = enc.text_vectors_from_features(f.text_model, f.text_vecs[q.first])
    return img, enc.encode_texts(q.texts) if txt is None else txt


def annoy_recall(gallery: np.ndarray, queries: np.ndarray, k: int = 10) -> float:
    """Annoy recall@k against exact search with core's default build and search settings."""
    from core.index.build import DEFAULT_TREES
    from core.index.store import Index, write_annoy
    from core.query.search import recall_at_k as annoy_recall_at_k

    with tempfile.TemporaryDirectory(prefix="annoy-eval-") as tmp:
        write_annoy(Path(tmp), gallery, DEFAULT_TREES)
        index = Index(Path(tmp), {"encoder": {"spec": "eval"}}, pd.DataFrame(),
                      np.ascontiguousarray(gallery, np.float32))
        try:
            return float(annoy_recall_at_k(index, queries, k))
        finally:
            index.annoy().unload()


def model_row(enc: Encoder, es: EvalSet, resamples: int = BOOTSTRAP) -> tuple[dict, tuple]:
    """One scored row, plus the embeddings (kept for the fused row)."""
    label = model_label(enc)
    family = enc.spec.split(":", 1)[0]
    if not enc.can_text:
        return na_row(label, enc.spec, family, "n/a: image-only model (no text queries)"), ()
    if enc.item_input != "pixels":
        return na_row(label, enc.spec, family,
                      CAPTIONS_NA if enc.item_input == "texts" else HYBRID_NA), ()
    t0 = time.perf_counter()
    img, txt = embed(enc, es)
    q = es.queries
    row = _row(label, enc.spec, family, random_weights=enc.random_weights,
               t2i=score_direction(txt, img, q.images_of_text, resamples),
               i2t=score_direction(img, txt, q.texts_of_image, resamples),
               **{"annoy_recall@10": annoy_recall(img, txt)})
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row, (img, txt)


def _zscore_parts(queries: np.ndarray, gallery: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectors whose dot products are the per-query z-scores of queries @ gallery.T.

    z(q, g) = (q.g - q.mean_g) / sd_q = (q / sd_q) . (g - mean_g), sd_q^2 = q C q (C the
    gallery covariance), so the fused ranking runs through the same chunked metrics.
    """
    centred = gallery - gallery.mean(axis=0, keepdims=True)
    cov = centred.T @ centred / max(1, gallery.shape[0])
    sd = np.sqrt(np.maximum(np.einsum("nd,de,ne->n", queries, cov, queries), 1e-12))
    return queries / sd[:, None], centred


def fused_scores(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated (query, gallery) vectors scoring the sum of per-model z-scored similarities."""
    zq, zg = zip(*(_zscore_parts(q, g) for q, g in parts), strict=True)
    return (np.concatenate(zq, axis=1).astype(np.float32),
            np.concatenate(zg, axis=1).astype(np.float32))


def fused_row(label: str, specs: list[str], embeddings: list[tuple], es: EvalSet,
              resamples: int = BOOTSTRAP) -> dict:
    """Sum of z-scored similarities of several models (the prototype's best variant)."""
    q = es.queries
    t_q, t_g = fused_scores([(txt, img) for img, txt in embeddings])
    i_q, i_g = fused_scores([(img, txt) for img, txt in embeddings])
    return _row(label, " + ".join(specs), "fused",
                t2i=score_direction(t_q, t_g, q.images_of_text, resamples),
                i2t=score_direction(i_q, i_g, q.texts_of_image, resamples),
                reason="Annoy n/a: scores are a sum of two models' z-scores, not one embedding")


def paired_difference(relevant: list[np.ndarray], a: tuple[str, tuple], b: tuple[str, tuple],
                      k: int = 10, resamples: int = BOOTSTRAP, seed: int = 0) -> dict:
    """Text->image R@k of model a minus model b on the same queries, with a paired bootstrap
    interval: far tighter than comparing two separate intervals, since queries are shared."""
    hits = []
    for _, (img, txt) in (a, b):
        ranks, _ = per_query_metrics(txt, img, relevant, map_k=k)
        hits.append((ranks <= k).astype(np.float64))
    diff = hits[0] - hits[1]
    return {"a": a[0], "b": b[0], "metric": f"t2i R@{k}", "difference": float(diff.mean()),
            "ci": list(bootstrap_ci(diff, resamples, seed)),
            "ci_kind": "paired bootstrap 95% over queries"}


def evaluate_set(es: EvalSet, specs: list[str], fuse: bool = True,
                 resamples: int = BOOTSTRAP, log: Log | None = None) -> dict:
    """All rows for one test set: random, captions (n/a), each model, fused if possible."""
    from core.encoders.registry import load_encoder

    rows = [random_row(es)]
    if not any(s.startswith("captions:") for s in specs):
        rows.append(na_row("captions (minilm)", "captions:minilm", "captions", CAPTIONS_NA))
    kept: dict[str, tuple[str, tuple]] = {}
    for spec in specs:
        enc = load_encoder(spec)
        row, emb = model_row(enc, es, resamples)
        rows.append(row)
        if log:
            log(f"  {es.name}: {row['model']} done")
        family = enc.spec.split(":", 1)[0]
        if emb and family in ("twobranch", "conse") and family not in kept:
            kept[family] = (enc.spec, emb)
    comparisons = []
    if len(kept) == 2:
        (s1, e1), (s2, e2) = kept["twobranch"], kept["conse"]
        comparisons.append(paired_difference(es.queries.images_of_text, (s1, e1), (s2, e2),
                                             resamples=resamples))
        if fuse:
            rows.append(fused_row("fused two-branch + ConSE (z-scored sum)", [s1, s2],
                                  [e1, e2], es, resamples))
    f = es.features
    return {"name": es.name, "source": es.source, "split": "test", "n_images": es.n_images,
            "n_texts": len(f.texts), "n_text_queries": len(es.queries.texts),
            "skipped": len(f.cset.problems), "rows": rows, "comparisons": comparisons}


def average_folds(reports: list[dict], name: str) -> dict:
    """COCO 1K protocol: metrics averaged over folds; the interval is the range over folds."""
    out = {**reports[0], "name": name, "folds": len(reports),
           "n_images": sum(r["n_images"] for r in reports),
           "n_texts": sum(r["n_texts"] for r in reports),
           "n_text_queries": sum(r["n_text_queries"] for r in reports), "rows": []}
    for i, row in enumerate(reports[0]["rows"]):
        rows = [r["rows"][i] for r in reports]
        merged = dict(row)
        for d in ("t2i", "i2t"):
            if row[d] is None:
                continue
            metrics = {key: float(np.mean([r[d][key] for r in rows]))
                       for key, v in row[d].items() if isinstance(v, int | float)}
            metrics["ci"] = {f"R@{k}": [min(r[d][f"R@{k}"] for r in rows),
                                        max(r[d][f"R@{k}"] for r in rows)] for k in KS}
            metrics["ci_kind"] = f"range over {len(reports)} folds"
            merged[d] = metrics
        if row["annoy_recall@10"] is not None:
            merged["annoy_recall@10"] = float(np.mean([r["annoy_recall@10"] for r in rows]))
        out["rows"].append(merged)
    return out
