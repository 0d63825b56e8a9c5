"""Each image-only ConSE lever measured on the photo benchmark's DEV split (never test).

    python -m benchmarks.conse_views            # once: every view's logits per backbone, cached
    python -m benchmarks.conse_levers [--split dev] [--variants lite0,lite2]

One row per lever, over the whole 371-photo gallery, text->image R@1/5/10. Rows change one
thing from `conse:lite0` (prompt "a photo of a {name}", top 10, padded, sentence space) or from
the definition/multi-view ConSE; the winners became spec options of the conse family
(core/encoders/conse_prompts.py). Hypernym rows need Debian's wordnet-base (an experiment only).
"""

from __future__ import annotations

import argparse
from functools import lru_cache
from pathlib import Path

import numpy as np

from benchmarks.conse_views import GALLERY, view_features
from core.encoders.backbones import encode_sentences
from core.encoders.base import l2_normalise
from core.encoders.conse import class_embeddings, softmax
from core.encoders.weights import imagenet_classes, imagenet_glosses
from core.eval.metrics import per_query_metrics
from core.eval.photo_queries import load_queries, split_queries
from core.ingest.sidecar import load_set

WORDNET_NOUNS = Path("/usr/share/wordnet/data.noun")  # Debian wordnet-base
MULTI = (0, 1, 2, 3)  # view=multi: padded, centre, both ends (benchmarks.conse_views.VIEWS)


def wordnet(links: tuple[str, ...] = ("@", "@i")
            ) -> tuple[dict[str, str], dict[str, str], dict[str, list[str]]]:
    """(first lemma, gloss, linked offsets) of every WordNet 3.0 noun synset: the links are
    hypernyms by default, ("~", "~i") gives hyponyms and instances."""
    first, gloss, parents = {}, {}, {}
    for line in WORDNET_NOUNS.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line[:1].isdigit():
            continue
        head, _, text = line.partition(" | ")
        f = head.split()
        n = int(f[3], 16)
        first[f[0]], gloss[f[0]] = f[4].replace("_", " "), text.split(";")[0].strip()
        ptr = f[5 + 2 * n:]
        parents[f[0]] = [ptr[i + 1] for i in range(0, 4 * int(f[4 + 2 * n]), 4)
                         if ptr[i] in links and ptr[i + 2] == "n"]
    return first, gloss, parents


def hypernym_prompts() -> list[str]:
    """"a photo of a {name}, a kind of {hypernym}, {gloss}" per class."""
    first, _, parents = wordnet()
    out = []
    for name, (wnid, _, gloss) in zip(imagenet_classes(), imagenet_glosses(), strict=True):
        kind = first.get((parents.get(wnid[1:]) or [""])[0], "thing")
        out.append(f"a photo of a {name}, a kind of {kind}, {gloss}")
    return out


def ancestor_space() -> tuple[np.ndarray, np.ndarray]:
    """(1000, A) class -> WordNet ancestor membership and the (A, 384) ancestor prompts."""
    first, gloss, parents = wordnet()
    wnids = [w[1:] for w, _, _ in imagenet_glosses()]
    anc = []
    for w in wnids:
        seen, stack = [], list(parents.get(w, []))
        while stack:
            a = stack.pop()
            if a not in seen:
                seen.append(a)
                stack += parents.get(a, [])
        anc.append(seen)
    names = sorted({a for row in anc for a in row} - set(wnids))
    col = {a: i for i, a in enumerate(names)}
    member = np.zeros((1000, len(names)), np.float32)
    for c, row in enumerate(anc):
        member[c, [col[a] for a in row if a in col]] = 1
    vecs = encode_sentences("minilm", [f"a photo of a {first[a]}, {gloss[a]}" for a in names])
    return member, vecs


@lru_cache(maxsize=16)
def class_vecs(prompt: str, template: str = "a photo of a {}") -> np.ndarray:
    if prompt == "hypernym":
        return encode_sentences("minilm", hypernym_prompts())
    return class_embeddings(template, "minilm", prompt)  # cached on disk


def weights(probs: np.ndarray, top: int, power: float) -> np.ndarray:
    """(n, 1000) ConSE weights: the top classes' p**power, summing to 1 (the rest 0)."""
    idx = np.argsort(-probs, axis=1)[:, :top]
    out = np.zeros_like(probs)
    np.put_along_axis(out, idx, np.take_along_axis(probs, idx, 1) ** power, 1)
    return out / out.sum(axis=1, keepdims=True)


def conse(probs: np.ndarray, cvecs: np.ndarray, top: int = 10, power: float = 1.0) -> np.ndarray:
    return l2_normalise(weights(probs, top, power) @ cvecs)


def photo_split(split: str) -> tuple[object, list, list[np.ndarray], np.ndarray]:
    """(the gallery set, the split's photo queries, each query's relevant gallery rows, the
    queries' MiniLM vectors): what every lever benchmark ranks against."""
    cset = load_set(GALLERY)
    queries = split_queries(load_queries(), split)
    index = {f: i for i, f in enumerate(cset.files)}
    rel = [np.array([index[k] for k in q.relevant]) for q in queries]
    return cset, queries, rel, encode_sentences("minilm", [x.text for x in queries])


def print_levers(rows: list[tuple[str, np.ndarray, np.ndarray]], split: str, n_queries: int,
                 n_photos: int, rel: list[np.ndarray]) -> None:
    """One markdown row of R@1/5/10 (%) per (label, query vectors, image vectors)."""
    print(f"{split}: {n_queries} queries over {n_photos} photos (text->image)\n")
    print("| lever | R@1 | R@5 | R@10 |\n|---|---:|---:|---:|")
    for label, qv, iv in rows:
        ranks, _ = per_query_metrics(qv, iv, rel)
        r = [100 * float((ranks <= k).mean()) for k in (1, 5, 10)]
        print(f"| {label} | {r[0]:.1f} | {r[1]:.1f} | {r[2]:.1f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="dev")
    ap.add_argument("--variants", default="lite0,lite2", help="backbones in the view cache")
    args = ap.parse_args()
    cset, queries, rel, q = photo_split(args.split)
    views = {}
    for v in args.variants.split(","):
        lg = view_features(v)[0]
        views[v] = softmax(lg.reshape(-1, 1000)).reshape(lg.shape)

    def probs(vs: tuple[str, ...] = ("lite0",), which: tuple[int, ...] = MULTI,
              pool: str = "mean") -> np.ndarray:
        arr = np.concatenate([views[v][:, list(which)] for v in vs], axis=1)
        if pool == "max":
            top = arr.max(axis=1, keepdims=True)
            arr = top / top.sum(axis=-1, keepdims=True)
        return arr.mean(axis=1)

    rows: list[tuple[str, np.ndarray, np.ndarray]] = []
    d, pad, multi = class_vecs("definition"), probs(which=(0,)), probs()
    rows.append(("today: conse:lite0 (name, pad, top 10)", q, conse(pad, class_vecs("name"))))
    for p in ("definition", "lemmas"):
        rows.append((f"prompt={p}, pad", q, conse(pad, class_vecs(p))))
    rows.append(("definition + lemmas, 2 spaces concatenated, multi, power .5",
                 np.hstack([q, q]), np.hstack([conse(multi, d, 10, .5),
                                               conse(multi, class_vecs("lemmas"), 10, .5)])))
    if WORDNET_NOUNS.is_file():
        rows.append(("prompt=definition + WordNet hypernym, pad", q,
                     conse(pad, class_vecs("hypernym"))))
        member, avecs = ancestor_space()
        for lam in (0.25, 0.5):  # an image's mass on every WordNet ancestor of its classes
            anc = (multi @ member) ** 0.5
            extra = anc @ avecs / anc.sum(axis=1, keepdims=True)
            rows.append((f"definition, multi, power .5 + ancestors x{lam}", q,
                         l2_normalise(weights(multi, 10, .5) @ d + lam * extra)))
    for t in ("a good photo of a {}", "{}"):
        rows.append((f"definition, template '{t}', multi, power .5", q,
                     conse(multi, class_vecs("definition", t), 10, .5)))
    rows.append(("prompt ensemble name+definition (mean vectors), pad", q,
                 conse(pad, l2_normalise(class_vecs("name") + d))))
    names = {(0,): "pad", (1,): "crop", MULTI: "multi (pad + 3 squares)",
             (0, 1, 2, 3, 4, 5): "multi + 2 mirrored", (0, 1, 2, 3, 6): "multi + zoomed centre",
             (0, 1, 2, 3, 7, 8, 9, 10): "multi + 4 quarter tiles", tuple(range(11)): "all 11"}
    for which, label in names.items():
        rows.append((f"definition, views={label}", q, conse(probs(which=which), d)))
    rows.append(("definition, multi, max over views", q, conse(probs(pool="max"), d)))
    for top in (5, 20, 50, 1000):
        rows.append((f"definition, multi, top={top}", q, conse(multi, d, top)))
    for power in (0.3, 0.5, 0.7, 1.5, 2.0):
        for top in (10, 20):
            rows.append((f"definition, multi, top={top}, power={power}", q,
                         conse(multi, d, top, power)))
    g = conse(multi, d)
    rows.append(("definition, multi, minus the class-vector mean", q,
                 l2_normalise(weights(multi, 10, 1) @ d - d.mean(axis=0))))
    for tau in (0.02, 0.05):
        qc, ic = l2_normalise(softmax(q @ d.T / tau)), l2_normalise(multi)
        rows.append((f"class space, tau={tau}", qc, ic))
        for a in (0.3, 0.7):
            rows.append((f"{a} sentence + {1 - a:.1f} class space, tau={tau}",
                         np.hstack([np.sqrt(a) * q, np.sqrt(1 - a) * qc]),
                         np.hstack([np.sqrt(a) * g, np.sqrt(1 - a) * ic])))
        rows.append((f"query expanded by its classes, tau={tau}",
                     l2_normalise(q + softmax(q @ d.T / tau) @ d), g))
    for vs in [tuple(views)[1:], tuple(views)]:
        if vs and len(views) > 1:
            for top, power in ((10, 1.0), (20, 0.5)):
                rows.append((f"{'+'.join(vs)}, definition, multi, top={top}, power={power}", q,
                             conse(probs(vs), d, top, power)))
    print_levers(rows, args.split, len(queries), len(cset), rel)


if __name__ == "__main__":
    main()
