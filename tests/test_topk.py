import numpy as np
import pytest

from core.query.topk import top_k


def test_best_first_and_scores_match() -> None:
    scores = np.array([0.1, 0.9, 0.5, -0.2, 0.7], np.float32)
    ids, vals = top_k(scores, 3)
    assert ids.tolist() == [1, 4, 2]
    assert vals.tolist() == scores[[1, 4, 2]].tolist()
    assert ids.dtype == np.int64 and vals.dtype == np.float32


def test_ties_go_to_the_lower_id_even_across_the_cut() -> None:
    scores = np.array([0.5, 0.9, 0.5, 0.5, 0.1, 0.5])
    assert top_k(scores, 3)[0].tolist() == [1, 0, 2]
    # many ties on a large array: argpartition alone would pick arbitrary ones at the boundary
    big = np.zeros(10_000)
    big[[7000, 9000]] = 1.0
    assert top_k(big, 5)[0].tolist() == [7000, 9000, 0, 1, 2]


def test_exclude_is_skipped_and_k_still_filled() -> None:
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert top_k(scores, 2, exclude={0})[0].tolist() == [1, 2]
    assert top_k(scores, 2, exclude=[0, 1, 99, -1])[0].tolist() == [2, 3]
    assert top_k(scores, 5, exclude=(3,))[0].tolist() == [0, 1, 2]


@pytest.mark.parametrize("k", [4, 5, 100])
def test_k_at_least_n_returns_everything_sorted(k: int) -> None:
    scores = np.array([0.2, 0.8, 0.2, 0.5])
    assert top_k(scores, k)[0].tolist() == [1, 3, 0, 2]


@pytest.mark.parametrize("k", [0, -3])
def test_k_not_positive_or_empty_input_gives_nothing(k: int) -> None:
    ids, vals = top_k(np.array([1.0, 2.0]), k)
    assert ids.tolist() == [] and vals.tolist() == []
    assert top_k(np.zeros(0), 3)[0].tolist() == []
    assert top_k(np.array([1.0]), 1, exclude={0})[0].tolist() == []


def test_nan_ranks_last_and_infinities_are_ordinary() -> None:
    scores = np.array([np.nan, 0.5, np.inf, -np.inf])
    assert top_k(scores, 4)[0].tolist() == [2, 1, 0, 3]  # NaN ties with -inf, lower id first
    assert top_k(scores, 2)[0].tolist() == [2, 1]


def test_matches_a_full_stable_sort_on_random_data() -> None:
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 20, 500).astype(np.float64)  # many ties
    for k in (1, 7, 50, 499, 500):
        expected = np.argsort(-scores, kind="stable")[:k]
        assert top_k(scores, k)[0].tolist() == expected.tolist()
