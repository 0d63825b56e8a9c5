"""Metrics against a brute-force full-sort reference, hand-computed cases, a big chunked run."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from core.eval.metrics import (
    average_precision_at_k,
    evaluate_retrieval,
    map_at_k,
    mean_rank,
    median_rank,
    per_query_metrics,
    rank_of_first_relevant,
    recall_at_k,
    relevant_counts,
)


def reference(sims: np.ndarray, relevant: list, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Full sort per query with the documented tie rule; AP@k straight from its definition."""
    ranks, aps = [], []
    for row, rel in zip(sims, relevant, strict=True):
        rel_set = {int(x) for x in rel}
        is_rel = np.array([j in rel_set for j in range(row.size)])
        order = sorted(range(row.size), key=lambda j: (-row[j], is_rel[j], j))
        rel_seq = [bool(is_rel[j]) for j in order]
        ranks.append(rel_seq.index(True) + 1)
        hits, ap = 0, 0.0
        for i in range(1, min(k, row.size) + 1):
            if rel_seq[i - 1]:
                hits += 1
                ap += hits / i
        aps.append(ap / min(k, len(rel_set)))
    return np.array(ranks), np.array(aps)


def random_problem(rng: np.random.Generator, n_q: int, n_g: int, dim: int, ties: bool):
    """Queries, gallery and several relevant items per query; `ties` makes exact score ties."""
    if ties:  # small integers: every dot product is exact, and duplicate rows tie exactly
        protos = rng.integers(-2, 3, size=(n_g // 3, dim)).astype(np.float32)
        g = protos[rng.integers(0, len(protos), size=n_g)]
        q = rng.integers(-2, 3, size=(n_q, dim)).astype(np.float32)
    else:
        g = rng.standard_normal((n_g, dim)).astype(np.float32)
        q = rng.standard_normal((n_q, dim)).astype(np.float32)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    relevant = [rng.choice(n_g, size=rng.integers(1, 6), replace=False) for _ in range(n_q)]
    return q, g, relevant


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("chunk", [1, 7, 64, 1000])
def test_matches_bruteforce_reference(ties: bool, chunk: int) -> None:
    rng = np.random.default_rng(1 + ties)
    q, g, relevant = random_problem(rng, 150, 90, 6, ties)
    ref_ranks, ref_ap = reference(q @ g.T, relevant, 10)
    ranks, ap = per_query_metrics(q, g, relevant, map_k=10, chunk=chunk)
    np.testing.assert_array_equal(ranks, ref_ranks)
    np.testing.assert_allclose(ap, ref_ap, rtol=1e-12)
    res = evaluate_retrieval(q, g, relevant, ks=(1, 5, 10), map_k=10, chunk=chunk)
    assert res["R@5"] == pytest.approx(np.mean(ref_ranks <= 5))
    assert res["median_rank"] == pytest.approx(np.median(ref_ranks))
    assert res["mean_rank"] == pytest.approx(np.mean(ref_ranks))
    assert res["mAP@10"] == pytest.approx(np.mean(ref_ap))
    assert res["n_queries"] == 150


def test_k_larger_than_gallery_and_first_rank_agrees_with_topk() -> None:
    rng = np.random.default_rng(3)
    q, g, relevant = random_problem(rng, 40, 12, 4, ties=True)
    ranks, ap = per_query_metrics(q, g, relevant, map_k=50, chunk=16)
    ref_ranks, ref_ap = reference(q @ g.T, relevant, 50)
    np.testing.assert_array_equal(ranks, ref_ranks)
    np.testing.assert_allclose(ap, ref_ap)
    # with k >= gallery every relevant item is retrieved, so AP > 0 for every query
    assert (ap > 0).all()


def test_hand_computed_three_queries() -> None:
    """Gallery of 6 items, scores written out so ranks and AP can be checked by hand.

    q0: order 0,1,2,3,4,5; relevant {1, 3} -> ranks 2 and 4.
        first rank 2; AP@3 = (1/2) * (1/2) = 0.25 (only rank 2 is in the top 3).
    q1: relevant {5} scored highest -> rank 1, AP@3 = 1.
    q2: relevant {0} ties with irrelevant 2 and 4 at the top score 0.9 -> pessimistic rank 3;
        AP@3 = (1/1) * (1/3) = 1/3.
    """
    sims = np.array(
        [
            [0.9, 0.8, 0.7, 0.6, 0.5, 0.4],
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.9],
            [0.9, 0.1, 0.9, 0.2, 0.9, 0.3],
        ],
        dtype=np.float32,
    )
    relevant = [np.array([1, 3]), {5}, [0]]
    ranks = rank_of_first_relevant(sims, relevant)
    np.testing.assert_array_equal(ranks, [2, 1, 3])
    np.testing.assert_allclose(average_precision_at_k(sims, relevant, k=3), [0.25, 1.0, 1 / 3])
    assert map_at_k(sims, relevant, k=3) == pytest.approx((0.25 + 1 + 1 / 3) / 3)
    # AP@6 for q0: (1/2) * (1/2 + 2/4) = 0.5
    assert average_precision_at_k(sims, relevant, k=6)[0] == pytest.approx(0.5)
    assert recall_at_k(ranks, ks=(1, 2, 3)) == {"R@1": 1 / 3, "R@2": 2 / 3, "R@3": 1.0}
    assert median_rank(ranks) == 2.0
    assert mean_rank(ranks) == 2.0


def test_perfect_retrieval_with_normalised_vectors() -> None:
    rng = np.random.default_rng(0)
    g = rng.standard_normal((30, 8)).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    q = np.repeat(g, 2, axis=0)  # two "captions" per image, each exactly its image's vector
    relevant = [np.array([i // 2]) for i in range(60)]
    res = evaluate_retrieval(q, g, relevant)
    assert res["R@1"] == 1.0 and res["median_rank"] == 1.0 and res["mAP@10"] == 1.0


def test_chunked_large_run_stays_small_and_matches_reference() -> None:
    """20k queries x 2k gallery: the full score matrix would be 160 MB; chunks are 8 MB."""
    rng = np.random.default_rng(7)
    n_q, n_g, dim = 20_000, 2_000, 16
    g = rng.standard_normal((n_g, dim)).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    owner = rng.integers(0, n_g, size=n_q)
    q = g[owner] + 0.6 * rng.standard_normal((n_q, dim)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    relevant = [np.array([o, (o + 1) % n_g]) for o in owner]

    tracemalloc.start()
    ranks, ap = per_query_metrics(q, g, relevant, map_k=10, chunk=1024)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 60e6, f"peak {peak / 1e6:.0f} MB suggests the full matrix was built"

    sub = rng.choice(n_q, size=300, replace=False)
    ref_ranks, ref_ap = reference(q[sub] @ g.T, [relevant[i] for i in sub], 10)
    np.testing.assert_array_equal(ranks[sub], ref_ranks)
    np.testing.assert_allclose(ap[sub], ref_ap)
    assert 0.0 < ap.mean() < 1.0


def test_bad_inputs_raise() -> None:
    sims = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(ValueError, match="query 1 has no relevant"):
        rank_of_first_relevant(sims, [[0], []])
    with pytest.raises(ValueError, match="out of range"):
        rank_of_first_relevant(sims, [[0], [3]])
    with pytest.raises(ValueError, match="2 score rows but 1"):
        rank_of_first_relevant(sims, [[0]])
    with pytest.raises(ValueError, match="equal width"):
        evaluate_retrieval(np.zeros((2, 3)), np.zeros((4, 5)), [[0], [1]])
    with pytest.raises(ValueError, match="NaN"):
        evaluate_retrieval(np.full((1, 3), np.nan), np.zeros((4, 3)), [[0]])


def test_relevant_counts_drop_repeats_and_check_range() -> None:
    counts = relevant_counts([[0, 0, 2], {1}, np.array([3, 1, 3, 1])], 4)
    assert counts.tolist() == [2, 1, 2]
    with pytest.raises(ValueError, match="out of range"):
        relevant_counts([[4]], 4)
