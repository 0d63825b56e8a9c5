"""Relevance curves: the Platt fit recovers a known curve, the figures behave, and the committed
file holds an honest, increasing curve per calibrated spec with its held-out test check."""

from __future__ import annotations

import json

import numpy as np

from core.query import calibration as cal


def test_fit_recovers_a_known_curve() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0.0, 1.0, 20_000)
    truth = cal.Curve(10.0, -6.0)
    labels = rng.random(scores.size) < truth(scores)
    fitted = cal.fit_platt(scores, labels)
    assert abs(fitted.slope - 10.0) < 0.6 and abs(fitted.intercept + 6.0) < 0.4
    probs = fitted(scores)
    assert cal.brier(probs, labels) < cal.brier(np.full(scores.size, labels.mean()), labels)
    assert cal.expected_calibration_error(probs, labels) < 0.02
    rows = cal.reliability(probs, labels)
    assert sum(r["n"] for r in rows) == scores.size and len(rows) == 5


def test_strong_count_is_the_prefix_above_the_threshold() -> None:
    assert cal.strong_count([0.9, 0.6, 0.4, 0.7]) == 2
    assert cal.strong_count([0.3, 0.2]) == 0
    assert cal.strong_count([]) == 0


def test_no_curve_means_no_probability(tmp_path) -> None:
    assert cal.relevance("efficientnet:lite0", [0.5]) is None
    assert cal.relevance("captions:minilm", [0.5], tmp_path / "missing.json") is None


def test_committed_curves_were_checked_on_test() -> None:
    data = json.loads(cal.CURVES_FILE.read_text(encoding="utf-8"))
    assert data["threshold"] == cal.THRESHOLD and "dev split" in data["note"]
    for spec, c in data["curves"].items():
        assert c["slope"] > 0, spec
        test = c["test"]
        assert test["brier"] <= test["brier_base_rate"], spec  # better than the base rate
        assert test["queries"] > 50 and test["ece"] < 0.05, spec
    probs = cal.relevance("captions:minilm", [0.2, 0.6, 0.95])
    assert probs is not None and probs == sorted(probs) and probs[0] < 0.5 < probs[2]
