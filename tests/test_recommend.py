"""Tests for core.analysis.recommend on EfficientNet-Lite0 embeddings of augmented real photos."""

from __future__ import annotations

import hashlib
import json
import pickle

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps
from skimage import data as skdata
from sklearn.datasets import load_sample_images

from core.analysis.recommend import MIN_SCORED, SHORTLIST, Recommender
from core.analysis.selection import diverse_top, wilson
from core.errors import UserError

N_PER_PHOTO = 20


def _source_photos() -> list[Image.Image]:
    """Colour photos that ship inside scikit-image and scikit-learn (no download)."""
    arrays = [
        skdata.astronaut(),
        skdata.chelsea(),
        skdata.coffee(),
        skdata.rocket(),
        skdata.hubble_deep_field(),
        skdata.immunohistochemistry(),
        skdata.colorwheel(),
        skdata.stereo_motorcycle()[0],
        *load_sample_images().images,
    ]
    return [Image.fromarray(a).convert("RGB") for a in arrays]


def _augment(photo: Image.Image, rng: np.random.Generator) -> Image.Image:
    """Random crop, flip, rotation and colour jitter, resized to the 224 px model input."""
    w, h = photo.size
    frac = rng.uniform(0.5, 1.0)
    cw, ch = int(w * frac), int(h * frac)
    x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    img = photo.crop((x0, y0, x0 + cw, y0 + ch))
    if rng.random() < 0.5:
        img = ImageOps.mirror(img)
    img = img.rotate(float(rng.uniform(-25, 25)), resample=Image.Resampling.BILINEAR)
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.7, 1.3))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.7, 1.3))
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.6, 1.4))
    return img.resize((224, 224), Image.Resampling.BILINEAR)


def _test_images() -> list[Image.Image]:
    rng = np.random.default_rng(0)
    return [_augment(p, rng) for p in _source_photos() for _ in range(N_PER_PHOTO)]


@pytest.fixture(scope="session")
def real_emb(request, tmp_path_factory) -> np.ndarray:
    """Embeddings of ~200 augmented photos, cached in pytest's cache folder.

    The key is the images' content plus the encoder's own vector for the first image, so any
    change to the weights, preprocessing or runtime makes a new entry (no hand-bumped version).
    """
    from core.encoders.registry import load_encoder

    images = _test_images()
    encoder = load_encoder("efficientnet:lite0")
    probe = encoder.encode_images(images[:1])
    digest = hashlib.sha256(np.round(probe, 4).astype(np.float32).tobytes())
    for im in images:
        digest.update(im.tobytes())
    cache = getattr(request.config, "cache", None)  # absent under `-p no:cacheprovider`
    folder = cache.mkdir("embeddings") if cache else tmp_path_factory.mktemp("embeddings")
    path = folder / f"emb-{digest.hexdigest()[:16]}.npy"
    if path.exists():
        return np.load(path)
    emb = encoder.encode_images(images)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, emb)
    tmp.replace(path)
    return emb


def _hidden_rule(emb: np.ndarray, seed: int = 1, components: int = 5) -> np.ndarray:
    """The user's taste: one side of a random hyperplane through the mean of the data.

    The direction is random within the top principal components: a taste is about what the
    images show. (A random direction in all 1280 dimensions is mostly noise that no learner gets
    from 20 votes: an SVM on 20 random votes scores about 0.73 on it.)
    """
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    centred = unit - unit.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    direction = np.random.default_rng(seed).normal(size=components) @ vt[:components]
    proj = centred @ direction
    return proj > np.median(proj)  # median so likes and dislikes are balanced


def test_embeddings_look_real(real_emb: np.ndarray) -> None:
    assert real_emb.shape == (N_PER_PHOTO * 10, 1280)
    assert np.isfinite(real_emb).all()
    unit = real_emb / np.linalg.norm(real_emb, axis=1, keepdims=True)
    sims = unit @ unit.T
    same = np.kron(np.eye(10), np.ones((N_PER_PHOTO, N_PER_PHOTO))).astype(bool)
    # Augmented copies of one photo are closer to each other than to other photos.
    assert sims[same].mean() > sims[~same].mean() + 0.1


def test_random_until_both_classes_have_enough_votes(real_emb: np.ndarray) -> None:
    rec = Recommender(real_emb, seed=3)
    truth = _hidden_rule(real_emb)
    while min(rec.counts()) < 3:
        assert not rec.is_trained
        i = rec.next_candidate()
        assert i is not None
        assert rec.prediction_for(i) == (None, None)
        assert rec.ranking() == []
        rec.vote(i, bool(truth[i]))
    assert rec.is_trained
    label, score = rec.prediction_for(0)
    assert isinstance(label, bool) and isinstance(score, float) and label == (score > 0)


def test_predictions_beat_chance_after_20_votes(real_emb: np.ndarray) -> None:
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=0)
    for _ in range(20):
        i = rec.next_candidate()
        assert i is not None
        rec.vote(i, bool(truth[i]))
    ranked = rec.ranking()
    assert len(ranked) == len(real_emb) - 20
    assert all(a[1] >= b[1] for a, b in zip(ranked, ranked[1:], strict=False))
    ids = np.array([i for i, _ in ranked])
    predicted = np.array([s > 0 for _, s in ranked])
    accuracy = float((predicted == truth[ids]).mean())
    assert accuracy >= 0.7, accuracy
    # The top of the ranking is mostly liked images.
    assert truth[ids[:20]].mean() >= 0.8
    correct, total = rec.accuracy()
    assert total == 20 - sum(p is None for _, p, _ in rec.history)
    # each recorded prediction was made before its vote: recount them against the hidden rule
    assert correct == sum(p == bool(truth[i]) for i, p, _ in rec.history if p is not None)
    assert total > 0 and correct / total >= 0.5, (correct, total)


def _vote_until_trained(rec: Recommender, truth: np.ndarray) -> None:
    """Vote on the recommender's own candidates by the hidden rule until the SVM is fitted."""
    while not rec.is_trained:
        i = rec.next_candidate()
        assert i is not None
        rec.vote(i, bool(truth[i]))


def test_candidates_are_uncertain_balanced_and_spread(real_emb: np.ndarray) -> None:
    """After training, each candidate is on the side of the class with fewer votes, among the
    images the model is least sure of, and the candidates spread over the photos (20 augmented
    copies each) instead of circling the voted ones."""
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=5)
    _vote_until_trained(rec, truth)
    photos = []
    for _ in range(10):
        i = rec.next_candidate()
        assert i is not None
        likes, dislikes = rec.counts()
        label, score = rec.prediction_for(i)
        if likes != dislikes:
            assert label is (likes < dislikes)
        scores = rec.scores()
        unseen = [j for j in range(rec.n) if j not in rec.votes and bool(scores[j] > 0) == label]
        rank = sorted(unseen, key=lambda j: abs(scores[j])).index(i)
        assert rank < SHORTLIST, rank  # among the least certain of its side
        photos.append(i // N_PER_PHOTO)
        rec.vote(i, bool(truth[i]))
    assert len(set(photos)) >= 6, photos


def test_diverse_top_skips_near_copies(real_emb: np.ndarray) -> None:
    """Scores favouring one photo's 20 augmented copies: the plain top 5 is all that photo,
    the diverse top 5 spreads over photos but still starts with the best one."""
    unit = real_emb / np.linalg.norm(real_emb, axis=1, keepdims=True)
    ids = np.arange(len(unit))
    scores = np.where(ids // N_PER_PHOTO == 3, 2.0, 1.0) + 0.01 * (ids % N_PER_PHOTO)
    plain = ids[np.argsort(-scores)][:5]
    assert {int(i) // N_PER_PHOTO for i in plain} == {3}
    picked = diverse_top(unit, ids, scores, 5, diversity=2.0)
    assert picked[0] == int(plain[0]) and len({i // N_PER_PHOTO for i in picked}) >= 3


def test_wilson_interval() -> None:
    lo, hi = wilson(1, 3)
    assert 0.06 < lo < 0.07 and 0.79 < hi < 0.80  # 1 of 3 says almost nothing
    lo, hi = wilson(18, 20)
    assert 0.68 < lo < 0.70 and 0.97 < hi < 0.98
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0 and wilson(0, 0) == (0.0, 1.0)


def test_accuracy_interval_waits_for_enough_guesses(real_emb: np.ndarray) -> None:
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=1)
    while rec.accuracy()[1] < MIN_SCORED:
        assert rec.accuracy_interval() is None
        i = rec.next_candidate()
        assert i is not None
        rec.vote(i, bool(truth[i]))
    assert rec.accuracy_interval() == wilson(*rec.accuracy())


def test_accuracy_uses_the_prediction_made_before_the_vote(real_emb: np.ndarray) -> None:
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=2)
    before = []
    for _ in range(30):
        i = rec.next_candidate()
        assert i is not None
        before.append(rec.prediction_for(i)[0])
        rec.vote(i, bool(truth[i]))
    assert [p for _, p, _ in rec.history] == before
    scored = [(p, bool(truth[i])) for i, p in zip(rec.votes, before, strict=True) if p is not None]
    assert rec.accuracy() == (sum(p == a for p, a in scored), len(scored))


def test_no_image_is_proposed_twice_until_exhaustion(real_emb: np.ndarray) -> None:
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=4)
    seen: list[int] = []
    while (i := rec.next_candidate()) is not None:
        assert rec.next_candidate() == i  # stable across page reruns until answered
        seen.append(i)
        rec.vote(i, None if len(seen) % 7 == 0 else bool(truth[i]))
        assert len(seen) <= len(real_emb)
    assert sorted(seen) == list(range(len(real_emb)))
    assert rec.next_candidate() is None
    assert rec.ranking() == []
    assert len(rec.ranking(include_voted=True)) == len(real_emb)


def test_export_import_round_trip(real_emb: np.ndarray) -> None:
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=6, C=2.0)
    for step in range(25):
        i = rec.next_candidate()
        assert i is not None
        rec.vote(i, None if step in (4, 11) else bool(truth[i]))
    text = rec.to_json()
    back = Recommender.from_json(text, real_emb)
    assert back.votes == rec.votes and list(back.votes) == list(rec.votes)
    assert back.skipped == rec.skipped and len(rec.skipped) == 2
    assert back.history == rec.history
    assert back.accuracy() == rec.accuracy()
    assert back.C == 2.0 and back.seed == 6
    np.testing.assert_allclose(back.scores(), rec.scores())
    assert back.ranking(10) == rec.ranking(10)
    assert back.prediction_for(0) == rec.prediction_for(0)
    assert back.to_json() == text
    done = set(back.votes) | back.skipped
    for _ in range(20):
        i = back.next_candidate()
        assert i is not None and i not in done
        done.add(i)
        back.vote(i, bool(truth[i]))


def test_pickles_for_session_state(real_emb: np.ndarray) -> None:
    rec = Recommender(real_emb, seed=8)
    truth = _hidden_rule(real_emb)
    for _ in range(12):
        i = rec.next_candidate()
        assert i is not None
        rec.vote(i, bool(truth[i]))
    copy = pickle.loads(pickle.dumps(rec))
    assert copy.votes == rec.votes
    assert copy.next_candidate() == rec.next_candidate()
    np.testing.assert_allclose(copy.scores(), rec.scores())


def test_reset_forgets_everything(real_emb: np.ndarray) -> None:
    rec = Recommender(real_emb, seed=9)
    first = rec.next_candidate()
    assert first is not None
    rec.vote(first, True)
    rec.vote(1 if first != 1 else 2, None)
    rec.reset()
    assert rec.votes == {} and rec.skipped == set() and rec.history == []
    assert not rec.is_trained and rec.accuracy() == (0, 0)
    assert rec.next_candidate() == first  # same seed, same session


def test_revote_and_skip_of_voted_image(real_emb: np.ndarray) -> None:
    rec = Recommender(real_emb[:30], seed=0)
    rec.vote(3, True)
    rec.vote(3, False)
    assert rec.votes == {3: False} and len(rec.history) == 1
    rec.vote(3, None)
    assert rec.votes == {} and rec.skipped == {3}
    rec.vote(3, True)
    assert rec.votes == {3: True} and rec.skipped == set()


def test_bad_input_is_a_user_error(real_emb: np.ndarray) -> None:
    rec = Recommender(real_emb[:30])
    for bad in (-1, 30, 2.5, True):
        with pytest.raises(UserError):
            rec.vote(bad, True)  # type: ignore[arg-type]
    with pytest.raises(UserError):
        rec.vote(0, "yes")  # type: ignore[arg-type]
    with pytest.raises(UserError):
        rec.prediction_for(99)
    with pytest.raises(UserError):
        Recommender(np.zeros(5))
    with pytest.raises(UserError):
        Recommender(np.full((3, 2), np.nan))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: "not json at all {",
        lambda d: json.dumps([1, 2]),
        lambda d: json.dumps({**d, "format": "other"}),
        lambda d: json.dumps({**d, "version": 99}),
        lambda d: json.dumps({**d, "n": 31}),
        lambda d: json.dumps({**d, "votes": [[30, True]]}),
        lambda d: json.dumps({**d, "votes": [[-1, True]]}),
        lambda d: json.dumps({**d, "votes": [[True, True]]}),
        lambda d: json.dumps({**d, "votes": [[1, "yes"]]}),
        lambda d: json.dumps({**d, "votes": [[1]]}),
        lambda d: json.dumps({**d, "votes": {"1": True}}),
        lambda d: json.dumps({**d, "skipped": [1.5]}),
        lambda d: json.dumps({**d, "skipped": 3}),
        lambda d: json.dumps({**d, "history": [[1, 1, True]]}),
        lambda d: json.dumps({**d, "C": "big"}),
        lambda d: json.dumps({**d, "gamma": [1]}),
        lambda d: json.dumps({**d, "seed": 1.5}),
    ],
)
def test_malformed_import_is_a_user_error(real_emb: np.ndarray, mutate) -> None:  # noqa: ANN001
    emb = real_emb[:30]
    rec = Recommender(emb)
    rec.vote(1, True)
    good = json.loads(rec.to_json())
    assert Recommender.from_json(json.dumps(good), emb).votes == {1: True}
    with pytest.raises(UserError):
        Recommender.from_json(mutate(good), emb)


def test_set_params_refits_and_keeps_votes(real_emb: np.ndarray) -> None:
    truth = _hidden_rule(real_emb)
    rec = Recommender(real_emb, seed=10)
    _vote_until_trained(rec, truth)
    before = rec.scores().copy()
    votes = dict(rec.votes)
    assert rec.set_params(1.0, "scale") is False  # unchanged: no refit
    assert rec.set_params(10.0, 2.0) is True
    assert (rec.C, rec.gamma) == (10.0, 2.0) and rec.votes == votes and rec.is_trained
    assert not np.allclose(rec.scores(), before)
    back = Recommender.from_json(rec.to_json(), real_emb)
    np.testing.assert_allclose(back.scores(), rec.scores())
    for C, gamma in ((0.0, "scale"), (-1.0, "scale"), (float("nan"), "scale"), (1.0, "wide"),
                     (1.0, 0.0), (1.0, -2.0), ("1", "scale")):
        with pytest.raises(UserError):
            rec.set_params(C, gamma)  # type: ignore[arg-type]
    assert (rec.C, rec.gamma) == (10.0, 2.0)
    with pytest.raises(UserError):
        Recommender(real_emb, C=0.0)


def test_an_import_is_bounded_and_fits_once(real_emb: np.ndarray, monkeypatch) -> None:
    """A votes file is a visitor's input: its votes cost a neighbour search each and one SVM."""
    from core.analysis.votes_file import MAX_VOTES

    big = np.concatenate([real_emb] * (MAX_VOTES // len(real_emb) + 2))  # the photos, repeated
    rng = np.random.default_rng(0)
    big = big + rng.normal(scale=1e-3, size=big.shape).astype(np.float32)
    truth = _hidden_rule(big)
    base = json.loads(Recommender(big).to_json())

    def file(ids: range) -> str:
        return json.dumps({**base, "votes": [[i, bool(truth[i])] for i in ids]})

    with pytest.raises(UserError, match=f"holds {MAX_VOTES + 1} votes; an import takes at most "
                                        f"{MAX_VOTES}"):
        Recommender.from_json(file(range(MAX_VOTES + 1)), big)
    small = json.dumps({**json.loads(Recommender(real_emb).to_json()),
                        "votes": [[i % len(real_emb), True] for i in range(len(real_emb) + 1)]})
    with pytest.raises(UserError, match=f"at most {len(real_emb)} "):  # one per image
        Recommender.from_json(small, real_emb)

    import sklearn.svm  # the recommender imports it when it first fits

    class CountingSVC(sklearn.svm.SVC):
        fits = 0

        def fit(self, X, y):  # noqa: ANN001, ANN201, N803
            CountingSVC.fits += 1
            return super().fit(X, y)

    monkeypatch.setattr(sklearn.svm, "SVC", CountingSVC)
    rec = Recommender.from_json(file(range(MAX_VOTES)), big)
    assert len(rec.votes) == MAX_VOTES and rec.is_trained and CountingSVC.fits == 1
    scores = rec.scores()
    assert scores is not None and ((scores > 0) == truth).mean() > 0.8
