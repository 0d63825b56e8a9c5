"""Like/dislike recommendation loop: an RBF SVM retrained after every vote.

A page keeps one `Recommender` in `st.session_state`; it is a plain picklable object with no
Streamlit in it, and it exports/imports its votes as JSON so a session can be resumed.
"""

from __future__ import annotations

import json

import numpy as np
from sklearn.svm import SVC

from core.analysis.votes_file import FORMAT, VERSION, check_params, read_votes
from core.encoders.base import l2_normalise
from core.errors import UserError
from core.query.topk import top_k

NEIGHBOURS_PER_VOTE = 50  # how many cosine neighbours of each voted image are candidates


class Recommender:
    """Proposes images to vote on and learns what the user likes.

    Until both classes have `min_votes_per_class` votes, candidates are random. After that an
    `SVC(kernel="rbf", class_weight="balanced")` is retrained on every vote and candidates alternate
    between "predicted like" and "predicted dislike": the least confident such image among the
    cosine neighbours of the images already voted on (so the user refines the boundary where it
    matters), falling back to any unvoted image with that prediction, then to a random unvoted
    image. Rows are L2-normalised first, so the SVM and the neighbours both use cosine geometry.
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
        self._model: SVC | None = None
        self._all_scores: np.ndarray | None = None
        self._neighbours: dict[int, np.ndarray] = {}
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
        self._model = SVC(kernel="rbf", C=self.C, gamma=self.gamma, class_weight="balanced")
        self._model.fit(self._emb[ids], y)

    def _scores(self, ids: np.ndarray) -> np.ndarray:
        """Decision scores (> 0 = like) for some ids; uses the full cache when it exists."""
        assert self._model is not None
        if self._all_scores is not None:
            return self._all_scores[ids]
        return self._model.decision_function(self._emb[ids]).astype(np.float64)

    def scores(self) -> np.ndarray | None:
        """Decision score of every image (> 0 = predicted like), or None before training."""
        if self._model is None:
            return None
        if self._all_scores is None:
            self._all_scores = self._model.decision_function(self._emb).astype(np.float64)
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

    def _neighbours_of(self, image_id: int) -> np.ndarray:
        """Cached cosine neighbours of a voted image: one mat-vec per vote, not per proposal."""
        if image_id not in self._neighbours:
            sims = self._emb @ self._emb[image_id]
            self._neighbours[image_id] = top_k(sims, NEIGHBOURS_PER_VOTE, exclude=(image_id,))[0]
        return self._neighbours[image_id]

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
        want_like = self._want_like
        self._want_like = not want_like
        near = np.zeros(self.n, dtype=bool)
        for voted in self.votes:
            near[self._neighbours_of(voted)] = True
        pool = np.flatnonzero(near & unseen)
        for ids in (pool, pool_all):
            if len(ids) == 0:
                continue
            scores = self._scores(ids)
            matching = (scores > 0) == want_like
            if matching.any():
                # The least confident of that side: it teaches the model most (uncertainty
                # sampling), measured better than a random pick on real embeddings.
                self._current = int(ids[matching][np.argmin(np.abs(scores[matching]))])
                return self._current
        self._current = self._pick(pool_all)
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
        self._neighbours_of(i)
        self._retrain()

    def accuracy(self) -> tuple[int, int]:
        """(correct, total) over votes that the model predicted before they were cast."""
        scored = [(p, a) for _, p, a in self.history if p is not None]
        return sum(p == a for p, a in scored), len(scored)

    def ranking(self, k: int | None = None, include_voted: bool = False) -> list[tuple[int, float]]:
        """(id, decision score), most liked first; unvoted and unskipped images only by default.

        Empty before the model is trained (not enough likes and dislikes yet).
        """
        scores = self.scores()
        if scores is None:
            return []
        ids = np.arange(self.n) if include_voted else np.flatnonzero(self._unseen_mask())
        best, values = top_k(scores[ids], len(ids) if k is None else k)
        return [(int(i), float(v)) for i, v in zip(ids[best], values, strict=True)]

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
        for i in rec.votes:
            rec._neighbours_of(i)
        # Continue the random stream deterministically, not from the start of the seed.
        rec._rng = np.random.default_rng([rec.seed, len(rec.votes) + len(rec.skipped)])
        rec._retrain()
        return rec
