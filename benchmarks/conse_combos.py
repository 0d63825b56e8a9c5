"""Combinations of the image-only ConSE levers that won alone, on the photo DEV split (never test).

    python -m benchmarks.conse_views --variants lite0,lite1,lite2,lite3   # once: view logits
    python -m benchmarks.conse_detect                                     # once: COCO detections
    python -m benchmarks.conse_combos [--split dev]

benchmarks/conse_detect_levers.py measured each lever alone against the kept ConSE
(`conse:lite0,prompt=definition,view=multi,top=20,power=0.5`): Lite3 instead of Lite0 and
dividing the class probabilities by the gallery's mean ("prior") were the only ones above it.
Here they are crossed with each other and with the near-misses: ensembles of the Lite
backbones (probabilities averaged over backbones and views), top, power, a few COCO labels as
extra prompts, neighbour smoothing, and a CSLS-like hub penalty (an image close to every class
prompt is a hub). R@1/5/10 and MRR over all 371 photos, text->image, %.
"""

from __future__ import annotations

import argparse
from itertools import product

import numpy as np

from benchmarks.conse_detect import COCO, detect_features
from benchmarks.conse_detect_levers import coco_mass, probs_of
from benchmarks.conse_levers import MULTI, WORDNET_NOUNS, class_vecs, conse, photo_split, wordnet
from benchmarks.conse_views import cache_path, view_features
from core.encoders.backbones import encode_sentences
from core.encoders.base import l2_normalise
from core.encoders.weights import imagenet_classes, imagenet_glosses
from core.eval.evaluate import bootstrap_ci
from core.eval.metrics import per_query_metrics

BACKBONES = ("lite0", "lite1", "lite2", "lite3")
VIEW_SETS = {"multi": MULTI, "all11": tuple(range(11))}


def ensemble(probs: dict[str, np.ndarray], names: tuple[str, ...], weights: tuple[float, ...],
             views: tuple[int, ...]) -> np.ndarray:
    """(n, 1000) weighted mean over backbones of each backbone's mean over `views`."""
    w = np.asarray(weights, np.float32) / sum(weights)
    return sum(wi * probs[n][:, list(views)].mean(axis=1) for n, wi in zip(names, w, strict=True))


def with_prior(p: np.ndarray, alpha: float) -> np.ndarray:
    """Class probabilities divided by the gallery's mean probability ** alpha, renormalised."""
    if alpha == 0:
        return p
    q = p / p.mean(axis=0) ** alpha
    return q / q.sum(axis=1, keepdims=True)


def hyponym_prompts(k: int) -> list[str]:
    """The definition prompt plus ", such as A, B, C": the class's first k direct WordNet
    hyponyms and instances ("palace ..., such as alcazar, Alhambra, Lateran Palace"), for
    queries naming a kind or a famous instance of a class."""
    first, _, children = wordnet(("~", "~i"))
    out = []
    for name, (wnid, _, gloss) in zip(imagenet_classes(), imagenet_glosses(), strict=True):
        words = list(dict.fromkeys(first[c] for c in children.get(wnid[1:], [])))[:k]
        out.append(f"a photo of a {name}, {gloss}" + (f", such as {', '.join(words)}"
                                                       if words else ""))
    return out


def paired(hits: np.ndarray, ref: np.ndarray) -> str:
    """R@10 minus the reference's on the same queries, paired bootstrap 95% interval."""
    diff = hits.astype(np.float64) - ref
    lo, hi = bootstrap_ci(diff)
    return f"{100 * diff.mean():+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}]"


def scores(qv: np.ndarray, iv: np.ndarray, rel: list[np.ndarray]
           ) -> tuple[list[float], np.ndarray]:
    """[R@1, R@5, R@10, MRR] in % and each query's R@10 hit."""
    ranks, _ = per_query_metrics(qv, iv, rel)
    hits = [100 * float((ranks <= k).mean()) for k in (1, 5, 10)]
    return [*hits, 100 * float((1 / ranks).mean())], ranks <= 10


def fmt(r: list[float]) -> str:
    return " | ".join(f"{x:.1f}" for x in r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--show", type=int, default=25, help="grid rows printed (best R@10 first)")
    args = ap.parse_args()
    cset, queries, rel, q = photo_split(args.split)
    have = [b for b in BACKBONES if cache_path(b).is_file()]
    probs = {b: probs_of(view_features(b)[0]) for b in have}
    d = class_vecs("definition")
    print(f"{args.split}: {len(queries)} queries over {len(cset)} photos (text->image); "
          f"backbones cached: {', '.join(have)}\n")

    mixes: list[tuple[str, tuple[str, ...], tuple[float, ...]]] = [
        ("lite0", ("lite0",), (1,)), ("lite3", ("lite3",), (1,))]
    for names in (("lite0", "lite3"), ("lite2", "lite3"), ("lite0", "lite2", "lite3"),
                  ("lite1", "lite2", "lite3"), ("lite0", "lite1", "lite2", "lite3")):
        if all(n in probs for n in names):
            mixes.append(("+".join(names), names, (1,) * len(names)))
    if "lite2" in probs:
        mixes.append(("lite0+lite2+2*lite3", ("lite0", "lite2", "lite3"), (1, 1, 2)))
    grid = []
    for (label, names, w), (vlabel, views), alpha, top, power in product(
            mixes, VIEW_SETS.items(), (0, 0.25, 0.5), (20, 50), (0.3, 0.5)):
        p = with_prior(ensemble(probs, names, w, views), alpha)
        grid.append((f"{label}, {vlabel}, prior**{alpha}, top={top}, power={power}",
                     scores(q, conse(p, d, top, power), rel)[0]))
    ref, ref_hits = scores(q, conse(ensemble(probs, ("lite0",), (1,), MULTI), d, 20, .5), rel)
    print("Grid (backbones x views x prior x top x power), best R@10 first, then MRR:\n")
    print("| combination | R@1 | R@5 | R@10 | MRR |\n|---|---:|---:|---:|---:|")
    print(f"| reference: lite0, multi, top=20, power=0.5 | {fmt(ref)} |")
    for label, r in sorted(grid, key=lambda x: (-x[1][2], -x[1][3]))[:args.show]:
        print(f"| {label} | {fmt(r)} |")

    # extras on the reference and the best bases: COCO prompts, neighbours, hubs, hyponyms
    lite3 = ensemble(probs, ("lite3",), (1,), MULTI)
    bases = {"lite0, multi, prior**0 (reference)": ensemble(probs, ("lite0",), (1,), MULTI),
             "lite3, multi, prior**0": lite3, "lite3, multi, prior**0.25": with_prior(lite3, .25)}
    det = detect_features()["det"]
    coco_vecs = np.zeros((len(COCO), d.shape[1]), np.float32)
    named = [i for i, n in enumerate(COCO) if n]
    coco_vecs[named] = encode_sentences("minilm", [f"a photo of a {COCO[i]}" for i in named])
    hyponyms = {k: encode_sentences("minilm", hyponym_prompts(k))
                for k in (3, 6)} if WORDNET_NOUNS.is_file() else {}
    rows: list[tuple[str, tuple[list[float], np.ndarray]]] = []
    for blabel, p in bases.items():
        base = conse(p, d, 20, .5)
        rows.append((f"{blabel}, top=20, power=0.5", scores(q, base, rel)))
        for lam in (0.1, 0.25):
            extra = coco_mass(det, 0.5) @ coco_vecs
            rows.append((f"  + COCO labels x{lam} (score >= 0.5)",
                         scores(q, l2_normalise(base + lam * extra), rel)))
        sims = base @ base.T  # neighbours in ConSE space itself (pixels only)
        np.fill_diagonal(sims, -1)
        nn = np.argsort(-sims, axis=1)[:, :3]
        rows.append(("  + 0.2 x mean of 3 ConSE-space neighbours",
                     scores(q, l2_normalise(base + .2 * base[nn].mean(axis=1)), rel)))
        hub = np.sort(base @ d.T, axis=1)[:, -10:].mean(axis=1)  # closeness to its 10 classes
        for beta in (0.5, 1.0):  # CSLS: images near many prompts are hubs; the query side is
            # the same for every image, so score = cos - beta/2 * hub, as one more dimension
            iv = np.hstack([base, -beta * hub[:, None] / 2])
            qv = np.hstack([q, np.ones((len(q), 1), np.float32)])
            rows.append((f"  CSLS-like hub penalty, beta={beta}", scores(qv, iv, rel)))
        for k, hv in hyponyms.items():
            rows.append((f"  prompts + first {k} WordNet hyponyms ('such as ...')",
                         scores(q, conse(p, hv, 20, .5), rel)))
    print("\nExtras (R@10 difference from the reference on the same queries, paired bootstrap):"
          "\n")
    print("| combination | R@1 | R@5 | R@10 | MRR | R@10 vs reference |\n"
          "|---|---:|---:|---:|---:|---|")
    for label, (r, hits) in rows:
        print(f"| {label} | {fmt(r)} | {paired(hits, ref_hits)} |")


if __name__ == "__main__":
    main()
