"""Fit the relevance curves of `core/query/calibration.json` and check them on held-out queries.

    .venv/bin/python -m benchmarks.calibrate                       # every text index in indexes/
    .venv/bin/python -m benchmarks.calibrate --indexes /path/to/indexes --no-write

For every text-capable index over the demo gallery, the photo benchmark's queries are searched
exactly as the app does (`texts_collapsed`, top-k, duplicates folded), and each (cosine,
relevant?) pair of a result is one sample. The curve is fitted on the **dev** split only; the
**test** split then reports the Brier score (against predicting the dev base rate), the
expected calibration error, a reliability table, and how the 0.5 cut-off line behaves: the
share of results above it that are relevant, and the share of relevant results it keeps.
The curves are keyed by the index's encoder spec, so an index built with the same spec over
another folder gets the same curve (an assumption the note in the JSON states).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks._common import log, record, table
from core.atomic import write_text
from core.encoders.registry import load_encoder
from core.eval.photo_queries import load_queries, split_queries
from core.index.catalogue import indexes_root, scan_indexes
from core.index.store import Index, load_index
from core.paths import REPO_ROOT
from core.query import calibration as cal
from core.query.duplicates import texts_collapsed

K = 20  # the text-search page's default number of results
PROBES = ("a red apple", "!!!???", "a ginger tabby cat", "the eiffel tower at night")
NOTE = ("Platt curves P(relevant | cosine) per encoder spec, fitted on the photo benchmark's dev "
        "split (top-{k} results of each query over the demo gallery); test figures are held out. "
        "Regenerate with `python -m benchmarks.calibrate`. A curve assumes the collection looks "
        "like the demo gallery; a spec without a curve shows ranks only.")


def samples(index: Index, texts: list[str], relevant: list[set[str]], k: int = K
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cosine, relevant 0/1, query number) of every result of every query. A result counts as
    relevant when it or one of the exact copies folded into it is."""
    keys = index.items["rel_path"].astype(str).tolist()
    found = texts_collapsed(load_encoder(index.spec), index, texts, k)
    scores, labels, owner = [], [], []
    for q, hits in enumerate(found):
        for h in hits:
            scores.append(h.score)
            labels.append(any(keys[i] in relevant[q] for i in (h.id, *h.duplicates)))
            owner.append(q)
    return np.array(scores), np.array(labels, np.float64), np.array(owner)


def check(curve: cal.Curve, scores: np.ndarray, labels: np.ndarray, owner: np.ndarray,
          base_rate: float) -> dict:
    """Held-out figures of one curve."""
    probs = curve(scores)
    above = probs >= cal.THRESHOLD
    first = np.r_[True, owner[1:] != owner[:-1]]  # each query's top result
    return {"results": int(scores.size), "queries": int(first.sum()),
            "relevant_rate": float(labels.mean()),
            "brier": cal.brier(probs, labels),
            "brier_base_rate": cal.brier(np.full(scores.size, base_rate), labels),
            "ece": cal.expected_calibration_error(probs, labels),
            "precision_above_line": float(labels[above].mean()) if above.any() else None,
            "relevant_kept_above_line": float(above[labels == 1].mean()) if labels.any() else None,
            "queries_with_a_strong_match": float(above[first].mean()),
            "reliability": cal.reliability(probs, labels)}


def fit_index(index: Index) -> dict:
    queries = load_queries()
    known = set(index.items["rel_path"].astype(str))
    out: dict = {}
    data = {}
    for split in ("dev", "test"):
        qs = [q for q in split_queries(queries, split) if set(q.relevant) <= known]
        data[split] = samples(index, [q.text for q in qs], [set(q.relevant) for q in qs])
    scores, labels, _ = data["dev"]
    curve = cal.fit_platt(scores, labels)
    out = {"slope": curve.slope, "intercept": curve.intercept, "k": K,
           "dev": {"results": int(scores.size), "relevant_rate": float(labels.mean()),
                   "brier": cal.brier(curve(scores), labels)},
           "test": check(curve, *data["test"], base_rate=float(labels.mean()))}
    probe_scores = samples(index, list(PROBES), [set()] * len(PROBES), 1)[0]
    out["probes_top1"] = {t: round(float(p), 3) for t, p in zip(PROBES, curve(probe_scores),
                                                                   strict=True)}
    return out


def report(name: str, spec: str, fit: dict) -> str:
    t = fit["test"]
    rows = [[r["bin"], r["n"], r["predicted"] if r["n"] else float("nan"),
             r["observed"] if r["n"] else float("nan")] for r in t["reliability"]]
    return "\n".join([
        f"### {name} (`{spec}`)",
        f"Curve: P = σ({fit['slope']:.2f}·cos {fit['intercept']:+.2f}); dev {fit['dev']['results']}"
        f" results, {fit['dev']['relevant_rate']:.1%} relevant, Brier {fit['dev']['brier']:.4f}.  ",
        f"Test ({t['queries']} queries, {t['results']} results, {t['relevant_rate']:.1%} relevant):"
        f" Brier {t['brier']:.4f} (base rate {t['brier_base_rate']:.4f}), ECE {t['ece']:.3f};"
        f" above the 0.5 line {_pct(t['precision_above_line'])} relevant, keeping"
        f" {_pct(t['relevant_kept_above_line'])} of the relevant results;"
        f" {_pct(t['queries_with_a_strong_match'])} of test queries get a strong match.  ",
        "Top-1 probability of probes: " + ", ".join(f"“{q}” {p:.2f}"
                                                    for q, p in fit["probes_top1"].items()),
        "", table(["P bin", "results", "mean predicted", "observed relevant"], rows, 3)])


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.0%}"


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--indexes", default=str(indexes_root(REPO_ROOT)))
    ap.add_argument("--out", default=str(cal.CURVES_FILE))
    ap.add_argument("--no-write", action="store_true", help="print only")
    args = ap.parse_args(argv)
    curves, blocks = {}, []
    for entry in scan_indexes(Path(args.indexes)):
        if not entry.can_text:
            continue
        log(f"calibrating {entry.name} ({entry.spec})")
        fit = fit_index(load_index(entry.path))
        curves[entry.spec] = {"index": entry.name, **fit}
        blocks.append(report(entry.name, entry.spec, fit))
    text = json.dumps({"note": NOTE.format(k=K), "threshold": cal.THRESHOLD, "curves": curves},
                      indent=1)
    record("Relevance calibration (photo dev fit, test check)", blocks, write=not args.no_write)
    if not args.no_write:
        write_text(Path(args.out), text + "\n")


if __name__ == "__main__":
    main()
