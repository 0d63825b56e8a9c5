"""Like/dislike recommendation loop: a prototype blended with an RBF SVM, retrained per vote.

With a dozen votes an RBF SVM learns a narrow concept: six varied animals liked, six other things
disliked, and the dense cluster of fish around the one liked fish filled 17 of the top 20 on
the demo gallery. So the score starts as a prototype (Rocchio: cosine to the mean liked image
minus cosine to the mean disliked one, which the classes' sizes do not tilt) and hands over to
the SVM as votes accumulate: weight n / (n + BLEND_VOTES) on the SVM, each part divided by its
spread over the collection so neither dominates by scale; 0 stays the boundary of both.

A page keeps one `Recommender` in `st.session_state`; it is a plain picklable object with no
Streamlit in it, and it exports/imports its votes as JSON so a session can be resumed.
"""

from __future__ import annotations

import json

import numpy as np

from core.analysis.selection import diverse_top, wilson
from core.analysis.votes_file import FORMAT, VERSION, check_params, read_votes
from core.encoders.base import l2_normalise
from core.errors import UserError
from core.query.topk import top_k

BLEND_VOTES = 30  # votes at which the SVM and the prototype weigh the same
SHORTLIST = 20  # least certain unseen images, of which the one least like any voted is shown
DIVERSITY = 2.0  # score (in spreads over the collection) traded per unit of cosine to a pick
MMR_POOL = 5  # the diverse top k is chosen among the k * MMR_POOL best-scored images
MIN_SCORED = 10  # held-out guesses before an accuracy means anything (see wilson)


class Recommender:
    """Proposes images to vote on and learns what the user likes.

    Until both classes have `min_votes_per_class` votes, candidates are random. After that the
    blended score (module docstring) is refit on every vote, and the next candidate is chosen
    for what it teaches: among the SHORTLIST unseen images the model is least sure of, on the
    side of the class with fewer votes (so likes and dislikes stay balanced), the one least
    similar to every image already voted on (so the votes spread over the collection instead of
    circling one dense cluster). Rows are L2-normalised first, so every part uses cosine
    geometry. The SVM is `SVC(kernel="rbf", class_weight="balanced")`.
    """

    def __init__(
        self,
        emb: np.ndarray,
        seed: int = 0,
        C: float = 1.0,  # sklearn's name for it
        gamma: str | float = "scale",
        min_votes_per_class: int = 3,
    ) -> None:
        arr = np.asarray(emb, dtype=np.float32)
        if arr.ndim != 2 or arr.shape[0] < 2:
            raise UserError(f"Need an (n, d) embedding array with n >= 2, got shape {arr.shape}.")
        if not np.isfinite(arr).all():
            raise UserError("The embeddings contain NaN or infinite values; rebuild the index.")
        if min_votes_per_class < 1:
            raise UserError("min_votes_per_class must be at least 1.")
        norms = np.linalg.norm(arr, axis=1, keepdims=True)
        # index embeddings are already unit rows: share them (one copy per process, not per
        # visitor session) instead of normalising into a private copy
        unit = np.allclose(norms, 1.0, atol=1e-3)
        self._emb = arr if unit else l2_normalise(arr)
        self.seed = int(seed)
        self.C, self.gamma = check_params(C, gamma)
        self.min_votes_per_class = int(min_votes_per_class)
        self.reset()

    def set_params(self, C: float, gamma: str | float) -> bool:
        """Change the SVM's C and gamma, keeping the votes; refits at once. True if changed."""
        C, gamma = check_params(C, gamma)
        if (C, gamma) == (self.C, self.gamma):
            return False
        self.C, self.gamma = C, gamma
        self._retrain()
        return True

    # ----------------------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget all votes, skips and the model; the same seed gives the same session again."""
        self.votes: dict[int, bool] = {}  # insertion order = vote order
        self.skipped: set[int] = set()
        # (id, prediction before the vote or None, actual vote) for the honest running accuracy.
        self.history: list[tuple[int, bool | None, bool]] = []
        self._rng = np.random.default_rng(self.seed)
        self._model = None  # an sklearn SVC once both classes have votes
        self._all_scores: np.ndarray | None = None
        self._want_like = True
        self._current: int | None = None

    @property
    def n(self) -> int:
        return int(self._emb.shape[0])

    @property
    def is_trained(self) -> bool:
        return self._model is not None

    def counts(self) -> tuple[int, int]:
        """(likes, dislikes) so far."""
        likes = sum(self.votes.values())
        return likes, len(self.votes) - likes

    def _check_id(self, image_id: int) -> int:
        if isinstance(image_id, bool) or not isinstance(image_id, int | np.integer):
            raise UserError(f"Image id must be an integer, got {image_id!r}.")
        if not 0 <= int(image_id) < self.n:
            raise UserError(f"Image id {image_id} is not in this collection (0..{self.n - 1}).")
        return int(image_id)

    # ----------------------------------------------------------------------------- model

    def _retrain(self) -> None:
        """Refit on all votes, or drop the model while a class has too few votes to trust it."""
        self._all_scores = None
        likes, dislikes = self.counts()
        if min(likes, dislikes) < self.min_votes_per_class:
            self._model = None
            return
        ids = np.fromiter(self.votes.keys(), dtype=np.int64)
        y = np.fromiter(self.votes.values(), dtype=np.int64)
        from sklearn.svm import SVC  # lazily: importing scikit-learn costs the page's first
        # render ~1.2 s, and a visitor needs it only after six votes

        self._model = SVC(kernel="rbf", C=self.C, gamma=self.gamma, class_weight="balanced")
        self._model.fit(self._emb[ids], y)

    def _scores(self, ids: np.ndarray) -> np.ndarray:
        scores = self.scores()
        assert scores is not None
        return scores[ids]

    def scores(self) -> np.ndarray | None:
        """Blended score of every image (> 0 = predicted like), or None before training."""
        if self._model is None:
            return None
        if self._all_scores is None:
            svm = self._model.decision_function(self._emb).astype(np.float64)
            ids = np.fromiter(self.votes.keys(), dtype=np.int64)
            liked = np.fromiter(self.votes.values(), dtype=bool)
            direction = self._emb[ids[liked]].mean(axis=0) - self._emb[ids[~liked]].mean(axis=0)
            proto = (self._emb @ direction).astype(np.float64)
            # the boundary of the means: cos(x, liked mean) = cos(x, disliked mean) + offset,
            # offset so that it halves the voted images' prototype scores
            proto -= (proto[ids[liked]].mean() + proto[ids[~liked]].mean()) / 2
            w = len(ids) / (len(ids) + BLEND_VOTES)
            self._all_scores = ((1 - w) * proto / (proto.std() + 1e-12)
                                + w * svm / (svm.std() + 1e-12))
        return self._all_scores

    def prediction_for(self, image_id: int) -> tuple[bool | None, float | None]:
        """(predicted like?, decision score) for one image, or (None, None) before training."""
        i = self._check_id(image_id)
        if self._model is None:
            return None, None
        score = float(self._scores(np.array([i]))[0])
        return score > 0, score

    # ----------------------------------------------------------------------------- loop

    def _unseen_mask(self) -> np.ndarray:
        mask = np.ones(self.n, dtype=bool)
        if self.votes:
            mask[np.fromiter(self.votes.keys(), dtype=np.int64)] = False
        if self.skipped:
            mask[np.fromiter(self.skipped, dtype=np.int64)] = False
        return mask

    def _pick(self, ids: np.ndarray) -> int:
        return int(ids[self._rng.integers(len(ids))])

    def next_candidate(self) -> int | None:
        """The image to show next, or None when every image was voted on or skipped.

        Idempotent until that image is voted on or skipped, so a page may call it on every rerun.
        Never returns a voted or skipped id.
        """
        unseen = self._unseen_mask()
        if self._current is not None and unseen[self._current]:
            return self._current
        pool_all = np.flatnonzero(unseen)
        if len(pool_all) == 0:
            self._current = None
            return None
        if self._model is None:
            self._current = self._pick(pool_all)
            return self._current
        likes, dislikes = self.counts()
        want_like = likes < dislikes if likes != dislikes else self._want_like
        self._want_like = not want_like
        scores = self._scores(pool_all)
        side = (scores > 0) == want_like
        ids, certainty = (pool_all[side], np.abs(scores[side])) if side.any() else (
            pool_all, np.abs(scores))
        shortlist = ids[np.argsort(certainty, kind="stable")[:SHORTLIST]]
        voted = np.fromiter(self.votes.keys(), dtype=np.int64)
        closeness = (self._emb[shortlist] @ self._emb[voted].T).max(axis=1)
        self._current = int(shortlist[np.argmin(closeness)])
        return self._current

    def vote(self, image_id: int, liked: bool | None) -> None:
        """Record a like (True), dislike (False) or skip (None), then retrain.

        The prediction made before the vote is kept, so accuracy() measures the model on images it
        had not seen. Voting again on an image changes its vote but is not scored twice.
        """
        i = self._check_id(image_id)
        if liked is not None and not isinstance(liked, bool | np.bool_):
            raise UserError(f"A vote must be like, dislike or skip, got {liked!r}.")
        if self._current == i:
            self._current = None
        if liked is None:
            if i in self.votes:
                del self.votes[i]
                self._retrain()
            self.skipped.add(i)
            return
        liked = bool(liked)
        if i not in self.votes:
            predicted, _ = self.prediction_for(i)
            self.history.append((i, predicted, liked))
        self.skipped.discard(i)
        self.votes[i] = liked
        self._retrain()

    def accuracy(self) -> tuple[int, int]:
        """(correct, total) over votes that the model predicted before they were cast."""
        scored = [(p, a) for _, p, a in self.history if p is not None]
        return sum(p == a for p, a in scored), len(scored)

    def accuracy_interval(self) -> tuple[float, float] | None:
        """95 % Wilson interval of the running accuracy, or None while fewer than MIN_SCORED
        guesses were scored: 1 of 3 right says nothing (its interval is 6 % to 79 %)."""
        correct, total = self.accuracy()
        return wilson(correct, total) if total >= MIN_SCORED else None

    def ranking(self, k: int | None = None, include_voted: bool = False) -> list[tuple[int, float]]:
        """(id, score), most liked first; unvoted and unskipped images only by default.

        The first k are picked by maximal marginal relevance (Carbonell & Goldstein 1998): each
        next image maximises its score minus DIVERSITY times its highest cosine to those already
        picked, among the predicted likes; so a dense cluster near one liked image (28 fish)
        cannot fill the list while other liked kinds wait below. k=None: plain score order.
        Empty before the model is trained (not enough likes and dislikes yet).
        """
        scores = self.scores()
        if scores is None:
            return []
        ids = np.arange(self.n) if include_voted else np.flatnonzero(self._unseen_mask())
        if k is None:
            best, values = top_k(scores[ids], len(ids))
            return [(int(i), float(v)) for i, v in zip(ids[best], values, strict=True)]
        pool = ids[top_k(scores[ids], min(len(ids), MMR_POOL * k))[0]]
        liked = pool[scores[pool] > 0]
        picked = diverse_top(self._emb, liked, scores[liked], k, DIVERSITY)
        rest = [int(i) for i in pool if int(i) not in set(picked)][: k - len(picked)]
        return [(i, float(scores[i])) for i in [*picked, *rest]]

    # ----------------------------------------------------------------------------- export

    def to_json(self) -> str:
        """Votes, skips and the pre-vote predictions; the model is refit on import."""
        return json.dumps(
            {
                "format": FORMAT,
                "version": VERSION,
                "n": self.n,
                "seed": self.seed,
                "C": self.C,
                "gamma": self.gamma,
                "min_votes_per_class": self.min_votes_per_class,
                "votes": [[i, liked] for i, liked in self.votes.items()],
                "skipped": sorted(self.skipped),
                "history": [[i, p, a] for i, p, a in self.history],
            }
        )

    @classmethod
    def from_json(cls, s: str | bytes, emb: np.ndarray) -> Recommender:
        """Rebuild a session from to_json() output; a malformed file raises one clear UserError."""
        saved = read_votes(s, len(np.asarray(emb)))
        rec = cls(emb, seed=saved.seed, C=saved.C, gamma=saved.gamma,
                  min_votes_per_class=saved.min_votes_per_class)
        rec.votes.update(saved.votes)
        rec.skipped.update(saved.skipped)
        rec.history.extend(saved.history)
        # Continue the random stream deterministically, not from the start of the seed.
        rec._rng = np.random.default_rng([rec.seed, len(rec.votes) + len(rec.skipped)])
        rec._retrain()
        return rec
