"""Calibrated relevance: the probability that a text-search result is relevant, from its cosine.

Raw cosines are not comparable between variants (ConSE, captions and fusion live on different
scales) and say nothing absolute: the 20th result of "a red apple" scores like the 1st. A
logistic (Platt) curve per encoder spec, fitted on the photo benchmark's *dev* split only
(`python -m benchmarks.calibrate`, which writes `calibration.json` beside this file), turns a
cosine into P(relevant). A spec without a fitted curve gets `None`: pages then show ranks only,
never a made-up probability. The curves describe plain text queries; a query mixed with a
negative phrase or an image is a different score and is not calibrated either.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CURVES_FILE = Path(__file__).with_name("calibration.json")
THRESHOLD = 0.5  # below this a result is more likely irrelevant than relevant: the cut-off line


@dataclass(frozen=True)
class Curve:
    """P(relevant | cosine) = 1 / (1 + exp(-(slope * cosine + intercept)))."""

    slope: float
    intercept: float

    def __call__(self, scores: Sequence[float] | np.ndarray) -> np.ndarray:
        z = self.slope * np.asarray(scores, np.float64) + self.intercept
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


@functools.cache
def load_curves(path: str | Path = CURVES_FILE) -> dict[str, Curve]:
    """Spec -> curve from the committed file (empty when the file is missing)."""
    path = Path(path)
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {spec: Curve(float(c["slope"]), float(c["intercept"]))
            for spec, c in data.get("curves", {}).items()}


def relevance(spec: str, scores: Sequence[float], path: str | Path = CURVES_FILE
              ) -> list[float] | None:
    """Each score's probability of relevance under the spec's curve, or None without one."""
    curve = load_curves(path).get(spec)
    return None if curve is None else curve(scores).tolist()


def strong_count(probs: Sequence[float], threshold: float = THRESHOLD) -> int:
    """How many leading results are at or above the threshold (results come best first, and the
    curve is increasing, so the strong ones are a prefix): where the cut-off line goes."""
    n = 0
    for p in probs:
        if p < threshold:
            break
        n += 1
    return n


def fit_platt(scores: np.ndarray, labels: np.ndarray, steps: int = 50, ridge: float = 1e-6
              ) -> Curve:
    """Maximum-likelihood logistic fit of labels (0/1) on scores by Newton's method (two
    parameters, so no solver library is needed; the tiny ridge keeps a separable set finite)."""
    x = np.stack([np.asarray(scores, np.float64), np.ones(len(scores))], axis=1)
    y = np.asarray(labels, np.float64)
    w = np.zeros(2)
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -50.0, 50.0)))
        grad = x.T @ (p - y) + ridge * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-10:
            break
    return Curve(float(w[0]), float(w[1]))


def brier(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean squared error of the probabilities (0 is perfect; the base rate's own is the bar)."""
    return float(np.mean((np.asarray(probs) - np.asarray(labels, np.float64)) ** 2))


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 5) -> list[dict]:
    """Equal-width probability bins: how many results, the mean predicted probability and the
    fraction actually relevant in each (a calibrated curve has the two close)."""
    probs, labels = np.asarray(probs), np.asarray(labels, np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(probs, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        rows.append({"bin": f"{edges[b]:.1f}–{edges[b + 1]:.1f}", "n": int(mask.sum()),
                     "predicted": float(probs[mask].mean()) if mask.any() else None,
                     "observed": float(labels[mask].mean()) if mask.any() else None})
    return rows


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 5) -> float:
    """The bins' |predicted - observed| weighted by their share of results."""
    rows = reliability(probs, labels, bins)
    total = sum(r["n"] for r in rows)
    return float(sum(r["n"] * abs(r["predicted"] - r["observed"]) for r in rows if r["n"])
                 / max(total, 1))
