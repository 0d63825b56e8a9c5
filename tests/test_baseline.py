"""The random-ranking baseline: closed forms, a seeded simulation, and real random scores."""

from __future__ import annotations

import numpy as np
import pytest

from core.eval.baseline import random_baseline
from core.eval.metrics import evaluate_retrieval


def test_random_baseline_expected_matches_simulation_and_formulas() -> None:
    rng = np.random.default_rng(5)
    n_g = 200
    relevant = [rng.choice(n_g, size=rng.integers(1, 6), replace=False) for _ in range(4000)]
    exp = random_baseline(4000, n_g, relevant, ks=(1, 5, 10), map_k=10)
    sim = random_baseline(4000, n_g, relevant, ks=(1, 5, 10), map_k=10, seed=1, method="simulate")
    assert set(exp) == set(sim) == {"R@1", "R@5", "R@10", "median_rank", "mean_rank", "mAP@10",
                                    "n_queries"}
    for key in ("R@1", "R@5", "R@10", "mAP@10"):
        assert sim[key] == pytest.approx(exp[key], abs=0.015)
    assert sim["mean_rank"] == pytest.approx(exp["mean_rank"], rel=0.05)
    assert sim["median_rank"] == pytest.approx(exp["median_rank"], rel=0.1)

    # One relevant item: R@k = k/g, mean rank = (g+1)/2, mAP@k = H_k / g.
    one = [np.array([0])] * 10
    r1 = random_baseline(10, 100, one, ks=(1, 5), map_k=5)
    assert r1["R@1"] == pytest.approx(0.01) and r1["R@5"] == pytest.approx(0.05)
    assert r1["mean_rank"] == pytest.approx(50.5)
    assert r1["mAP@5"] == pytest.approx(sum(1 / i for i in range(1, 6)) / 100)
    assert r1["median_rank"] == 50.0


def test_random_baseline_simulation_matches_random_scores() -> None:
    """A random ranking scored by evaluate_retrieval agrees with the simulated baseline."""
    rng = np.random.default_rng(11)
    n_q, n_g = 3000, 150
    relevant = [rng.choice(n_g, size=rng.integers(1, 4), replace=False) for _ in range(n_q)]
    q = rng.standard_normal((n_q, 64)).astype(np.float32)
    g = rng.standard_normal((n_g, 64)).astype(np.float32)
    real = evaluate_retrieval(q, g, relevant, ks=(1, 10))
    exp = random_baseline(n_q, n_g, relevant, ks=(1, 10))
    assert real["R@10"] == pytest.approx(exp["R@10"], abs=0.03)
    assert real["mAP@10"] == pytest.approx(exp["mAP@10"], abs=0.02)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="method"):
        random_baseline(1, 3, [[0]], method="guess")
    with pytest.raises(ValueError, match="2 queries but 1"):
        random_baseline(2, 3, [[0]])
    with pytest.raises(ValueError, match="out of range"):
        random_baseline(1, 3, [[5]])
