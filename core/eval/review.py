"""Reviewing model variants: one query set run on up to six indexes, and metrics from marks.

Images are matched across indexes by content hash (as on the Compare page), so a mark
(query, hash) -> relevant counts for every variant that returns the image. Unmarked results
count as not relevant, and every table says how many there are, so a half-marked table is
never mistaken for a finished one.

Per query and variant, over its top-k list (binary relevance from the marks):
- success@n: 1 if a relevant image is in the first n results (n in 1, 5, 10, up to k);
- precision@k: relevant results / results shown (k, fewer only in a smaller collection);
- nDCG@k: DCG = sum of 1/log2(rank + 1) over relevant results; the ideal ranks the query's
  known relevant images first (every image marked relevant for the query, from any variant:
  pooled judgments, as TREC does); 0 when the query has no known relevant image.
A variant's figure is the mean over the queries it answered (an image-only index takes no text
queries). Pairs of variants are compared per query on nDCG@k (wins, losses, ties) with a paired
bootstrap 95% interval on the mean difference, and by the overlap of their top-k lists.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Protocol

import numpy as np

from core.eval.evaluate import BOOTSTRAP, bootstrap_ci
from core.eval.query_set import ReviewQuery
from core.eval.review_marks import MarkKey
from core.index.catalogue import IndexEntry
from core.index.store import Index
from core.query.compare import Hits, image_hash, own_id, run_each
from core.query.overlap import overlap
from core.query.upload import Upload

MAX_VARIANTS = 6
SUCCESS_AT = (1, 5, 10)
PAIR_METRIC = "nDCG@k"


class Searcher(Protocol):
    """How a review runs its queries on one index: the app passes its cached loaders, the CLI
    searches directly; both return the same (id, cosine, duplicate ids) rows. Texts come in
    one batch per index, since one encoder call for 30 texts costs a fifth of 30 calls."""

    def texts(self, entry: IndexEntry, texts: list[str], k: int) -> list[Hits]: ...

    def image(self, entry: IndexEntry, image_id: int, k: int) -> Hits: ...

    def upload(self, entry: IndexEntry, up: Upload, k: int) -> Hits: ...

    def hash_to_id(self, entry: IndexEntry) -> Mapping[str, int]: ...


@dataclass(frozen=True)
class Shown:
    """One result as the review shows it: rank order is list order."""

    id: int
    score: float
    hash: str


@dataclass
class Review:
    """Every query's top-k per variant (or the reason a variant could not answer it)."""

    queries: list[ReviewQuery]
    variants: list[str]
    k: int
    results: dict[str, dict[str, list[Shown]]] = field(default_factory=dict)
    problems: dict[str, dict[str, str]] = field(default_factory=dict)

    def shown(self, query: str, variant: str) -> list[Shown] | None:
        return self.results.get(query, {}).get(variant)


def run_review(pairs: Sequence[tuple[IndexEntry, Index]], queries: Sequence[ReviewQuery],
               k: int, searcher: Searcher) -> Review:
    """Run every query on every index; an index that cannot take a query gets its reason."""
    review = Review(list(queries), [e.name for e, _ in pairs], k)
    by_name = {e.name: ix for e, ix in pairs}
    entries = [e for e, _ in pairs]
    texts = [q for q in queries if q.is_text]
    batches, failed = run_each(entries, lambda e: searcher.texts(e, [str(q.text) for q in texts],
                                                                 k), text_query=True)
    for q in queries:
        if q.is_text:
            n = texts.index(q)
            hits = {name: batch[n] for name, batch in batches.items()}
            problems = dict(failed)
        else:
            def run(entry: IndexEntry, q: ReviewQuery = q) -> Hits:
                if q.upload is not None:  # an image file: the model embeds it
                    return searcher.upload(entry, q.upload, k)
                return searcher.image(entry, own_id(searcher.hash_to_id(entry), q.image_hash), k)
            hits, problems = run_each(entries, run, text_query=False)
        review.results[q.key] = {
            name: [Shown(int(i), float(s), image_hash(by_name[name], i)) for i, s, _ in rows]
            for name, rows in hits.items()}
        review.problems[q.key] = problems
    return review


def judgments(shown: Sequence[Shown], query: str, marks: Mapping[MarkKey, bool]
              ) -> list[bool | None]:
    """Each result's mark: True relevant, False not relevant, None unmarked."""
    return [marks.get((query, r.hash)) for r in shown]


def known_relevant(query: str, marks: Mapping[MarkKey, bool]) -> int:
    """Images marked relevant for the query, whichever variant showed them (nDCG's ideal)."""
    return sum(1 for (q, _), v in marks.items() if q == query and v)


def query_scores(rels: Sequence[bool | None], k: int, n_relevant: int) -> dict[str, float]:
    """One query's figures for one variant's list (unmarked counts as not relevant)."""
    top = [r is True for r in rels[:k]]
    out = {f"success@{n}": float(any(top[:n])) for n in SUCCESS_AT if n <= k}
    out["P@k"] = sum(top) / len(top) if top else 0.0
    dcg = sum(1 / math.log2(rank + 1) for rank, rel in enumerate(top, 1) if rel)
    ideal = sum(1 / math.log2(rank + 1) for rank in range(1, min(k, n_relevant) + 1))
    out["nDCG@k"] = dcg / ideal if ideal else 0.0
    out["unmarked"] = float(sum(r is None for r in rels[:k]))
    return out


def per_query(review: Review, marks: Mapping[MarkKey, bool]
              ) -> dict[str, dict[str, dict[str, float]]]:
    """variant -> query key -> figures, for the queries each variant answered."""
    out: dict[str, dict[str, dict[str, float]]] = {v: {} for v in review.variants}
    for q in review.queries:
        n_rel = known_relevant(q.key, marks)
        for v in review.variants:
            shown = review.shown(q.key, v)
            if shown is not None:
                out[v][q.key] = query_scores(judgments(shown, q.key, marks), review.k, n_rel)
    return out


@dataclass
class VariantRow:
    variant: str
    queries: int  # answered
    metrics: dict[str, float]  # means over answered queries
    unmarked: int  # results in the top-k still without a mark
    shown: int  # results in the top-k
    fully_marked: int  # answered queries whose every result is marked


def variant_rows(review: Review, marks: Mapping[MarkKey, bool],
                 scores: dict | None = None) -> list[VariantRow]:
    scores = per_query(review, marks) if scores is None else scores
    rows = []
    for v in review.variants:
        figures = list(scores[v].values())
        names = [n for n in (figures[0] if figures else {}) if n != "unmarked"]
        means = {n: float(np.mean([f[n] for f in figures])) for n in names}
        shown = sum(min(len(review.shown(q, v) or []), review.k) for q in scores[v])
        rows.append(VariantRow(v, len(figures), means,
                               int(sum(f["unmarked"] for f in figures)), shown,
                               sum(1 for f in figures if f["unmarked"] == 0)))
    return rows


@dataclass
class PairRow:
    """Variant a against b on the queries both answered."""

    a: str
    b: str
    queries: int
    wins: int  # queries where a's nDCG@k is higher
    losses: int
    ties: int
    difference: float  # mean nDCG@k of a minus b (nan without shared queries)
    ci: tuple[float, float]  # paired bootstrap 95% over queries
    shared: float  # mean results both top-k lists hold
    jaccard: float  # mean Jaccard of the two top-k lists


def pair_rows(review: Review, marks: Mapping[MarkKey, bool], scores: dict | None = None,
              resamples: int = BOOTSTRAP, seed: int = 0) -> list[PairRow]:
    scores = per_query(review, marks) if scores is None else scores
    rows = []
    for a, b in combinations(review.variants, 2):
        both = [q.key for q in review.queries if q.key in scores[a] and q.key in scores[b]]
        diff = np.array([scores[a][q][PAIR_METRIC] - scores[b][q][PAIR_METRIC] for q in both])
        shared, jaccard = [], []
        for q in both:
            ov = overlap({v: [r.hash for r in review.shown(q, v) or []] for v in (a, b)})
            n, j = ov.pairs[(a, b)]
            shared.append(n)
            jaccard.append(j)
        nan = float("nan")
        ci = bootstrap_ci(diff, resamples, seed) if diff.size else (nan, nan)
        rows.append(PairRow(a, b, len(both), int((diff > 0).sum()), int((diff < 0).sum()),
                            int((diff == 0).sum()), float(diff.mean()) if diff.size else nan,
                            ci, float(np.mean(shared)) if shared else nan,
                            float(np.mean(jaccard)) if jaccard else nan))
    return rows


@dataclass
class Summary:
    """What the page and the report show: the tables and every query's figures."""

    rows: list[VariantRow]
    pairs: list[PairRow]
    scores: dict[str, dict[str, dict[str, float]]]
    marks_used: int  # marks that belong to this review's queries


def summarise(review: Review, marks: Mapping[MarkKey, bool],
              resamples: int = BOOTSTRAP) -> Summary:
    scores = per_query(review, marks)
    keys = {q.key for q in review.queries}
    return Summary(variant_rows(review, marks, scores),
                   pair_rows(review, marks, scores, resamples), scores,
                   sum(1 for q, _ in marks if q in keys))
