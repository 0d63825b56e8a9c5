"""A head trained on photo pairs, kept near ConSE: is it worth it? Measured on DEV only.

    python -m benchmarks.conse_head [--lams 1,0.1,0.01,0.001]

The learnt part is ConSE's class-vector matrix W (1000 x 384), initialised at the definition
prompts' MiniLM vectors and pulled back toward them by lam * ||W - W0||^2; an image is
normalise(weights(p) @ W) with the chosen ConSE weights (multi-view Lite0, top 20, p**0.5). It is
trained with an InfoNCE loss (tau 0.05) between each dev photo's gallery texts and the photo.
Training on a photo's texts and scoring queries about the same photo would leak, so dev's image
groups are split in two folds: train on one fold's photos, score the other fold's queries over all
371 photos, and the other way round. Needs torch (the build tools) and the view cache of
benchmarks/conse_views.py.
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np

from benchmarks.conse_levers import MULTI, class_vecs, weights
from benchmarks.conse_views import CACHE, GALLERY, view_features
from core.encoders.backbones import encode_sentences
from core.encoders.base import l2_normalise
from core.encoders.conse import softmax
from core.eval.metrics import per_query_metrics
from core.eval.photo_queries import _groups, image_splits, load_queries, split_queries
from core.ingest.sidecar import load_set
from core.learn.features import cached_text_features


def train(w: np.ndarray, texts: np.ndarray, owner: np.ndarray, w0: np.ndarray, lam: float,
          steps: int, tau: float = 0.05) -> np.ndarray:
    """W after `steps` Adam steps; `owner[j]` is the row of `w` (the photo) of text j."""
    import torch

    torch.manual_seed(0)
    x, t, pos = torch.tensor(w), torch.tensor(texts), torch.tensor(owner)
    start = torch.tensor(w0)
    mat = torch.nn.Parameter(start.clone())
    opt = torch.optim.Adam([mat], lr=1e-3)
    for _ in range(steps):
        v = torch.nn.functional.normalize(x @ mat, dim=1)
        loss = torch.nn.functional.cross_entropy(t @ v.T / tau, pos)
        loss = loss + lam * ((mat - start) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return mat.detach().numpy()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lams", default="1,0.1,0.01,0.001")
    ap.add_argument("--steps", default="100,300")
    args = ap.parse_args()
    cset, queries = load_set(GALLERY), load_queries()
    groups, splits = _groups(queries), image_splits(queries)
    index = {f: i for i, f in enumerate(cset.files)}
    dev = split_queries(queries, "dev")
    rel = [np.array([index[k] for k in q.relevant]) for q in dev]
    q = encode_sentences("minilm", [x.text for x in dev])
    lg = view_features("lite0")[0][:, list(MULTI)]
    w = weights(softmax(lg.reshape(-1, 1000)).reshape(lg.shape).mean(axis=1), 20, 0.5)
    w0 = class_vecs("definition")
    owner = np.repeat(np.arange(len(cset)), [len(ts) for ts in cset.texts])
    tvecs = cached_text_features([t for ts in cset.texts for t in ts], name="gallery",
                                 cache_dir=CACHE)

    def fold(key: str) -> int:
        return hashlib.sha1(groups[key].encode()).digest()[0] >> 1 & 1  # bit 0 is the split

    print("| lam | steps | head R@1 | R@5 | R@10 | ConSE R@1 | R@5 | R@10 |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|")
    for lam in (float(x) for x in args.lams.split(",")):
        for steps in (int(x) for x in args.steps.split(",")):
            head, base = [], []
            for f in (0, 1):
                ids = np.array(sorted(index[k] for k, s in splits.items()
                                      if s == "dev" and k in index and fold(k) != f))
                keep = np.isin(owner, ids)
                mat = train(w[ids], tvecs[keep], np.searchsorted(ids, owner[keep]), w0, lam,
                            steps)
                sel = [i for i, x in enumerate(dev) if fold(x.relevant[0]) == f]
                for out, m in ((head, mat), (base, w0)):
                    out.append(per_query_metrics(q[sel], l2_normalise(w @ m),
                                                 [rel[i] for i in sel])[0])
            cells = [100 * float((np.concatenate(r) <= k).mean()) for r in (head, base)
                     for k in (1, 5, 10)]
            print(f"| {lam:g} | {steps} | " + " | ".join(f"{c:.1f}" for c in cells) + " |")


if __name__ == "__main__":
    main()
