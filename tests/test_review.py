"""Review metrics on three real indexes over the bundled photos, against a brute-force
computation from the marks written out longhand here."""

from __future__ import annotations

import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_TEXTS

from core.cli.review import DirectSearcher, index_entry
from core.eval import query_set
from core.eval.evaluate import bootstrap_ci
from core.eval.review import Review, query_scores, run_review, summarise
from core.index.store import load_index

K = 5


def photo_of(index, image_id: int) -> str:
    return Path(str(index.items.at[image_id, "rel_path"])).stem


def true_marks(review: Review, indexes: dict, leave_unmarked: int = 3) -> dict:
    """The photo a text describes is relevant, others are not; the last `leave_unmarked`
    results of the first variant's lists stay unmarked (unless another list marks them)."""
    texts = {t: name for name, t in PHOTO_TEXTS.items()}
    marks: dict = {}
    for q in review.queries:
        for v in review.variants:
            shown = review.shown(q.key, v) or []
            cut = len(shown) - leave_unmarked if v == review.variants[0] else len(shown)
            for r in shown[:cut]:
                if q.is_text:
                    marks[(q.key, r.hash)] = photo_of(indexes[v], r.id) == texts[q.text]
                else:
                    marks[(q.key, r.hash)] = False
    return marks


def brute(review: Review, marks: dict, v: str, qkey: str) -> dict:
    """The figures from first principles: a loop over ranks, the ideal list built and scored."""
    shown = review.shown(qkey, v)
    rel = [1 if marks.get((qkey, r.hash)) is True else 0 for r in shown]
    out = {}
    for n in (1, 5, 10):
        if n <= review.k:
            out[f"success@{n}"] = 1.0 if 1 in rel[:n] else 0.0
    out["P@k"] = sum(rel) / len(rel)
    pool = [h for (q, h), value in marks.items() if q == qkey and value]
    ideal = ([1] * len(pool) + [0] * review.k)[: review.k]
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(rel))
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    out["nDCG@k"] = dcg / idcg if idcg else 0.0
    out["unmarked"] = float(sum(1 for r in shown if (qkey, r.hash) not in marks))
    return out


@pytest.fixture(scope="module")
def reviewed(conse_index_path, captions_index_path, efficientnet_index_path):
    paths = [conse_index_path, captions_index_path, efficientnet_index_path]
    entries = [index_entry(str(p)) for p in paths]
    indexes = {e.name: load_index(e.path) for e in entries}
    first = indexes["conse"]
    chelsea = next(i for i in range(first.n) if photo_of(first, i) == "chelsea")
    specs = [query_set.QuerySpec(text=t) for t in PHOTO_TEXTS.values()]
    specs.append(query_set.QuerySpec(image_id=chelsea))
    queries = query_set.resolve(specs, first)
    review = run_review([(e, indexes[e.name]) for e in entries], queries, K,
                        DirectSearcher(indexes))
    return review, indexes


def test_every_query_runs_where_it_can(reviewed) -> None:
    review, indexes = reviewed
    assert len(review.queries) == 9 and review.variants == ["conse", "captions", "efficientnet"]
    image_q = review.queries[-1]
    for q in review.queries[:-1]:
        assert "images only" in review.problems[q.key]["efficientnet"]  # image-only model
        assert len(review.shown(q.key, "conse")) == K
    for v in review.variants:  # the image query runs everywhere, never returning itself
        shown = review.shown(image_q.key, v)
        assert len(shown) == K and image_q.image_hash not in [r.hash for r in shown]
        assert all(r.hash == indexes[v].items.at[r.id, "hash"] for r in shown)


def test_metrics_equal_a_brute_force_computation(reviewed) -> None:
    review, indexes = reviewed
    marks = true_marks(review, indexes)
    summary = summarise(review, marks, resamples=200)
    for row in summary.rows:
        answered = [q.key for q in review.queries if review.shown(q.key, row.variant)]
        per_q = [brute(review, marks, row.variant, q) for q in answered]
        assert row.queries == len(answered)
        for name in ("success@1", "success@5", "P@k", "nDCG@k"):
            assert row.metrics[name] == pytest.approx(np.mean([f[name] for f in per_q]))
        assert "success@10" not in row.metrics  # k = 5
        assert row.unmarked == sum(f["unmarked"] for f in per_q)
        for q, f in zip(answered, per_q, strict=True):
            assert summary.scores[row.variant][q] == pytest.approx(f)
    conse = summary.rows[0]
    assert 0 < conse.unmarked < 3 * 9  # some are marked through the other lists
    assert 0 < conse.metrics["nDCG@k"] <= 1
    assert summary.rows[1].unmarked == 0  # the captions lists are marked in full


def test_pairs_count_wins_and_bootstrap_the_paired_difference(reviewed) -> None:
    review, indexes = reviewed
    marks = true_marks(review, indexes)
    summary = summarise(review, marks, resamples=300)
    for p, (a, b) in zip(summary.pairs, combinations(review.variants, 2), strict=True):
        assert (p.a, p.b) == (a, b)
        both = [q.key for q in review.queries
                if review.shown(q.key, a) and review.shown(q.key, b)]
        diff = np.array([brute(review, marks, a, q)["nDCG@k"] - brute(review, marks, b, q)
                         ["nDCG@k"] for q in both])
        assert p.queries == len(both)
        assert (p.wins, p.losses, p.ties) == (int((diff > 0).sum()), int((diff < 0).sum()),
                                              int((diff == 0).sum()))
        assert p.difference == pytest.approx(diff.mean())
        assert p.ci == pytest.approx(bootstrap_ci(diff, 300, 0))
        assert p.ci[0] <= p.difference <= p.ci[1]
        sets = [({r.hash for r in review.shown(q, a)}, {r.hash for r in review.shown(q, b)})
                for q in both]
        assert p.shared == pytest.approx(np.mean([len(x & y) for x, y in sets]))
        assert p.jaccard == pytest.approx(np.mean([len(x & y) / len(x | y) for x, y in sets]))
    assert [p.queries for p in summary.pairs] == [9, 1, 1]  # efficientnet: the image query


def test_a_mark_counts_for_every_variant_showing_the_image(reviewed) -> None:
    review, _ = reviewed
    q = review.queries[0]
    shared = ({r.hash for r in review.shown(q.key, "conse")}
              & {r.hash for r in review.shown(q.key, "captions")})
    digest = sorted(shared)[0]
    summary = summarise(review, {(q.key, digest): True}, resamples=10)
    for v in ("conse", "captions"):
        assert summary.scores[v][q.key]["success@5"] == 1.0
        assert summary.scores[v][q.key]["unmarked"] == K - 1


def test_query_scores_by_hand() -> None:
    rels = [False, True, None, True, None]
    got = query_scores(rels, 5, n_relevant=3)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert got["success@1"] == 0 and got["success@5"] == 1
    assert got["P@k"] == pytest.approx(2 / 5)
    assert got["nDCG@k"] == pytest.approx((1 / math.log2(3) + 1 / math.log2(5)) / ideal)
    assert got["unmarked"] == 2
    assert query_scores([None] * 3, 3, 0) == {"success@1": 0.0, "P@k": 0.0, "nDCG@k": 0.0,
                                              "unmarked": 3.0}
