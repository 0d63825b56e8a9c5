"""Issue 14's untried image-only levers, on the photo benchmark's DEV split (never test).

    python -m benchmarks.conse_views --variants lite0   # once: Lite0 view logits
    python -m benchmarks.conse_detect                   # once: Lite3 logits, COCO detections
    python -m benchmarks.conse_detect_levers [--split dev]

Reference: the kept ConSE (`conse:lite0,prompt=definition,view=multi,top=20,power=0.5`). Rows:
(a) detected COCO objects as extra prompts ("a photo of a {label}"), weighted by detector score,
added to the ConSE vector; (b) Lite3's class probabilities instead of or with Lite0's; (c) each
detected box classified by Lite0 as one more view; (d) an image's vector smoothed towards its
nearest gallery neighbours by Lite0 pooled features (pixels only, transductive); (e) the
views' ConSE vectors averaged; (f) the gallery's mean vector taken out (hubness); (g) the
query embedded inside the class prompts' template; (h) each image's class probabilities
divided by the gallery's mean probabilities (a class every photo has says little); (i) pseudo-
relevance feedback: the query moved towards the mean of its first k images, searched again;
(j) Lite3 through the other views of benchmarks.conse_views (`--variants lite3` first).
"""

from __future__ import annotations

import argparse

import numpy as np

from benchmarks.conse_detect import COCO, detect_features, kept_boxes
from benchmarks.conse_levers import MULTI, class_vecs, conse, photo_split, print_levers
from benchmarks.conse_views import view_features
from core.encoders.backbones import encode_sentences
from core.encoders.base import l2_normalise
from core.encoders.conse import softmax


def probs_of(logits: np.ndarray) -> np.ndarray:
    """(n, v, 1000) logits -> (n, v, 1000) probabilities."""
    return softmax(logits.reshape(-1, 1000)).reshape(logits.shape)


def coco_mass(det: np.ndarray, min_score: float) -> np.ndarray:
    """(n, 91) summed detector scores per COCO id (one object kind counted once: its best)."""
    out = np.zeros((len(det), len(COCO)), np.float32)
    for i, rows in enumerate(det):
        for cid, score in rows[rows[:, 1] >= min_score][:, :2]:
            out[i, int(cid)] = max(out[i, int(cid)], score)
    return out


def with_boxes(multi: np.ndarray, det: np.ndarray, box_probs: np.ndarray, weight: float,
               min_score: float) -> np.ndarray:
    """Mean of the four views plus each big-enough box (score >= min_score) at `weight`."""
    out = multi.copy()
    for i in range(len(det)):
        keep = kept_boxes(det[i]) & (det[i][:, 1] >= min_score)
        if keep.any():
            w = weight * det[i][keep, 1]
            out[i] = (multi[i] + (w[:, None] * box_probs[i, keep]).sum(0)) / (1 + w.sum())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="dev")
    args = ap.parse_args()
    cset, queries, rel, q = photo_split(args.split)
    lg0, pooled0 = view_features("lite0")
    feats = detect_features()
    p0 = probs_of(lg0[:, list(MULTI)]).mean(axis=1)
    p3 = probs_of(feats["lite3"]).mean(axis=1)
    pb = probs_of(feats["boxes"])
    det = feats["det"]
    d = class_vecs("definition")
    best = conse(p0, d, 20, .5)
    coco_vecs = np.zeros((len(COCO), d.shape[1]), np.float32)
    named = [i for i, n in enumerate(COCO) if n]
    coco_vecs[named] = encode_sentences("minilm", [f"a photo of a {COCO[i]}" for i in named])

    rows: list[tuple[str, np.ndarray, np.ndarray]] = [
        ("reference: lite0, definition, multi, top=20, power=0.5 (demo-conse)", q, best)]
    for template in ("a photo of {}", "a photo of a {}"):  # (g) the query as a class prompt
        qt = encode_sentences("minilm", [template.format(x.text) for x in queries])
        for label, p in (("lite0", p0), ("lite3", p3)):
            rows.append((f"(g) {label}, query as '{template}'", qt, conse(p, d, 20, .5)))
    for min_score in (0.3, 0.5):
        mass = coco_mass(det, min_score)
        extra = mass @ coco_vecs
        for lam in (0.25, 0.5, 1.0):
            rows.append((f"(a) + COCO objects x{lam}, score >= {min_score}", q,
                         l2_normalise(best + lam * extra)))
    person = coco_mass(det, 0.5)[:, 1:2] * coco_vecs[1]
    rows.append(("(a) + 'person' only x0.5, score >= 0.5", q,
                 l2_normalise(best + 0.5 * person)))
    for top, power in ((10, 1.0), (20, 0.5), (50, 0.5), (20, 0.3), (20, 0.7)):
        rows.append((f"(b) lite3, multi, top={top}, power={power}", q,
                     conse(p3, d, top, power)))
    for a in (0.3, 0.5, 0.7):
        rows.append((f"(b) {a} lite0 + {1 - a:.1f} lite3 probabilities, top=20, power=0.5", q,
                     conse(a * p0 + (1 - a) * p3, d, 20, .5)))
    rows.append(("(b) lite3, prompt=lemmas, multi, top=20, power=0.5", q,
                 conse(p3, class_vecs("lemmas"), 20, .5)))
    rows.append(("(b) lite3, padded view only, top=20, power=0.5", q,
                 conse(probs_of(feats["lite3"][:, :1]).mean(axis=1), d, 20, .5)))
    rows.append(("(b) lite0 vector + lite3 vector (sum), top=20, power=0.5", q,
                 l2_normalise(best + conse(p3, d, 20, .5))))
    for weight in (0.25, 0.5, 1.0):
        for min_score in (0.3, 0.5):
            rows.append((f"(c) multi + detected boxes x{weight}, score >= {min_score}", q,
                         conse(with_boxes(p0, det, pb, weight, min_score), d, 20, .5)))
    g = l2_normalise(pooled0[:, list(MULTI)].mean(axis=1))
    sims = g @ g.T
    np.fill_diagonal(sims, -1)
    for k, lam in ((3, 0.3), (5, 0.3), (3, 0.6)):
        nn = np.argsort(-sims, axis=1)[:, :k]
        rows.append((f"(d) + mean of {k} nearest neighbours' vectors x{lam}", q,
                     l2_normalise(best + lam * best[nn].mean(axis=1))))
    per_view = probs_of(lg0[:, list(MULTI)])
    rows.append(("(e) mean of the four views' ConSE vectors (not of their probabilities)", q,
                 l2_normalise(np.mean([conse(per_view[:, v], d, 20, .5)
                                       for v in range(len(MULTI))], axis=0))))
    for lam in (0.5, 1.0):
        rows.append((f"(f) minus {lam} x the gallery's mean vector (hubness)", q,
                     l2_normalise(best - lam * best.mean(axis=0))))
    for label, p in (("lite0", p0), ("lite3", p3)):  # (h) the gallery's class prior divided out
        for alpha in (0.25, 0.5, 1.0):
            rows.append((f"(h) {label}, probabilities / gallery mean ** {alpha}", q,
                         conse(p / p.mean(axis=0) ** alpha, d, 20, .5)))
    for label, iv in (("lite0", best), ("lite3", conse(p3, d, 20, .5))):
        for k, beta in ((1, 0.5), (3, 0.5), (3, 1.0), (5, 0.5)):  # (i) pseudo-relevance feedback
            top = np.argsort(-(q @ iv.T), axis=1)[:, :k]
            rows.append((f"(i) {label}, query + {beta} x mean of its top {k} images",
                         l2_normalise(q + beta * iv[top].mean(axis=1)), iv))
    pv3 = probs_of(view_features("lite3")[0])  # (j) Lite3 through more views
    for which, label in (((1,), "crop"), (MULTI, "multi (pad + 3 squares)"),
                         ((0, 1, 2, 3, 6), "multi + zoomed centre"),
                         ((0, 1, 2, 3, 7, 8, 9, 10), "multi + 4 quarter tiles"),
                         (tuple(range(11)), "all 11")):
        rows.append((f"(j) lite3, views={label}, top=20, power=0.5", q,
                     conse(pv3[:, list(which)].mean(axis=1), d, 20, .5)))
    print_levers(rows, args.split, len(queries), len(cset), rel)


if __name__ == "__main__":
    main()
