"""Tests for core.query.search: rankings on bundled photos, combined queries, Annoy recall."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageOps

from core.encoders.base import l2_normalise
from core.encoders.registry import load_encoder
from core.errors import UserError
from core.index.build import DEFAULT_TREES
from core.index.store import (
    SCHEMA_VERSION,
    Index,
    commit,
    load_index,
    write_annoy,
    write_tables,
)
from core.index.versions import staged
from core.query.search import (
    DEFAULT_SEARCH_K_PER_RESULT,
    Query,
    exact_top_k,
    query_vector,
    recall_at_k,
    search,
    search_vector,
)

K = 10
MIN_RECALL = 0.95
TEXT_QUERIES = [
    "a photo of a cat", "a dog on a beach", "a cup of coffee", "a red sports car", "a bird",
    "a plate of food", "a mountain landscape", "a person riding a bicycle", "a space rocket",
    "a flower in a garden", "an old temple", "a computer keyboard", "a glass of beer",
    "a fishing boat", "a snake in the grass", "a piano", "a pizza", "a castle", "a bridge",
    "a child playing football", "a wristwatch", "a spider web", "a traffic light", "an umbrella",
    "a lion", "a jellyfish", "a tractor in a field", "a violin", "a volcano", "a toaster",
]


def vector_index(path: Path, embeddings: np.ndarray, spec: str = "vectors:test") -> Index:
    """An index folder over given vectors, written with the store's own functions."""
    emb = l2_normalise(embeddings)
    n = len(emb)
    items = pd.DataFrame({"path": [f"/v/{i}.jpg" for i in range(n)],
                          "rel_path": [f"{i}.jpg" for i in range(n)],
                          "hash": [f"{i:040x}" for i in range(n)], "texts": [[]] * n})
    with staged(path) as stage:
        write_tables(stage, items, emb, [], {})
        write_annoy(stage, emb, DEFAULT_TREES)
        commit(stage, path, {"schema_version": SCHEMA_VERSION, "dim": int(emb.shape[1]),
                             "encoder": {"spec": spec, "random_weights": False},
                             "settings": {"trees": DEFAULT_TREES}})
    return load_index(path)


def clustered(rng: np.random.Generator, n: int, centres: np.ndarray, common: np.ndarray,
              spread: float) -> np.ndarray:
    """Unit vectors around Gaussian cluster centres that share a common direction (a cone)."""
    labels = rng.integers(0, len(centres), n)
    noise = rng.normal(size=(n, centres.shape[1])) * spread
    return l2_normalise(common + centres[labels] + noise)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """3000 x 384 vectors in 30 clusters (within-cluster cos ~0.5, across ~0.25, like image
    embeddings) and 100 'text' queries from another cone that are far from every item."""
    rng = np.random.default_rng(0)
    d = 384
    common = l2_normalise(rng.normal(size=d))
    centres = l2_normalise(rng.normal(size=(30, d)))
    emb = clustered(rng, 3000, centres, common, 0.07)
    other = l2_normalise(rng.normal(size=d))
    texts = clustered(rng, 100, 0.5 * centres, 0.5 * common + 2.0 * other, 0.07)
    index = vector_index(tmp_path_factory.mktemp("synthetic") / "vectors", emb)
    return index, texts


def annoy_recall(index: Index, queries: list[tuple[Query | np.ndarray]]) -> float:
    """recall@K of search(..., method="annoy") against exact search, over several queries."""
    found = 0
    for q in queries:
        if isinstance(q, Query):
            approx = search(None, index, q, k=K, method="annoy")
            truth = search(None, index, q, k=K, method="exact")
        else:
            approx = search_vector(index, q, K, method="annoy")
            truth = search_vector(index, q, K, method="exact")
        assert [h.rank for h in approx] == list(range(1, K + 1))
        found += len({h.id for h in approx} & {h.id for h in truth})
    return found / (K * len(queries))


def test_annoy_recall_on_clustered_vectors(synthetic, capsys) -> None:
    index, texts = synthetic
    stats = {"mean cos": float(np.mean(index.embeddings[:500] @ index.embeddings[:500].T)),
             "text max cos": float(np.mean(np.max(texts @ index.embeddings.T, axis=1)))}
    assert 0.2 < stats["mean cos"] < 0.6 and stats["text max cos"] < 0.5  # text is far away
    image_recall = annoy_recall(index, [Query.image_id(i) for i in range(0, 3000, 30)])
    text_recall = annoy_recall(index, list(texts))
    with capsys.disabled():
        print(f"\n[recall@{K}] clustered 3000x384, trees={DEFAULT_TREES}, "
              f"search_k={K * DEFAULT_SEARCH_K_PER_RESULT}: image queries {image_recall:.3f}, "
              f"text queries {text_recall:.3f}")
    assert image_recall >= MIN_RECALL and text_recall >= MIN_RECALL
    assert recall_at_k(index, texts[:20]) >= MIN_RECALL  # the engine's own measure agrees


def test_annoy_recall_on_real_embeddings(conse_index_path: Path, tmp_path: Path,
                                         capsys) -> None:
    """Real ConSE space: the 8 photos' vectors plus the 1000 prompted ImageNet class vectors
    they are mixed from; real MiniLM text queries and the photos as image queries."""
    photos = load_index(conse_index_path)
    enc = load_encoder(photos.spec)
    index = vector_index(tmp_path / "real", np.concatenate([photos.embeddings, enc.class_vecs]),
                         spec=photos.spec)
    image_recall = annoy_recall(index, [Query.image_id(i) for i in range(photos.n)]
                                + [Query.image_id(i) for i in range(photos.n, 1008, 20)])
    text_recall = annoy_recall(index, list(enc.encode_texts(TEXT_QUERIES)))
    with capsys.disabled():
        print(f"\n[recall@{K}] real ConSE 1008x384: image queries {image_recall:.3f}, "
              f"text queries {text_recall:.3f}")
    assert image_recall >= MIN_RECALL and text_recall >= MIN_RECALL
    for text in ("a photo of a cat", "a cup of coffee", "a rocket"):  # the built index itself
        q = Query.text(text)
        approx = search(enc, photos, q, k=5, method="annoy")
        exact = search(enc, photos, q, k=5, method="exact")
        assert [(h.id, round(h.score, 5)) for h in approx] == \
            [(h.id, round(h.score, 5)) for h in exact]


def test_exact_search_returns_the_true_neighbours(synthetic) -> None:
    index, texts = synthetic
    for vec in list(texts[:10]) + list(index.embeddings[:10]):
        scores = index.embeddings @ vec
        truth = np.argsort(-scores, kind="stable")[:K]
        hits = search_vector(index, vec, K, method="exact")
        assert [h.id for h in hits] == list(truth)
        np.testing.assert_allclose([h.score for h in hits], scores[truth], rtol=1e-6)
        kept = exact_top_k(index.embeddings, vec, K, exclude={int(truth[0]), int(truth[3])})
        assert [h.id for h in kept] == [i for i in np.argsort(-scores, kind="stable")[:K + 2]
                                        if i not in (truth[0], truth[3])]
    assert len(exact_top_k(index.embeddings[:3], texts[0], 10)) == 3


def test_conse_ranks_the_right_photo_first(conse_index_path: Path) -> None:
    index = load_index(conse_index_path)
    enc = load_encoder(index.spec)
    for text, name in (("a photo of a cat", "chelsea"), ("a cup of coffee", "coffee"),
                       ("a motorbike", "motorcycle")):
        hits = search(enc, index, Query.text(text), k=3)
        assert Path(index.items.at[hits[0].id, "path"]).stem == name, text
        assert hits[0].score > hits[1].score


def test_efficientnet_neighbours_of_a_cropped_flipped_copy(efficientnet_index_path: Path,
                                                           photos) -> None:
    index = load_index(efficientnet_index_path)
    enc = load_encoder(index.spec)
    by_name = {Path(p).stem: i for i, p in enumerate(index.items["path"])}
    names = list(photos)
    copies = []
    for name in names:  # a 70% off-centre crop, mirrored
        w, h = photos[name].size
        crop = photos[name].crop((w // 10, h // 20, w * 8 // 10, h * 15 // 20)).convert("RGB")
        copies.append(ImageOps.mirror(crop))
    vecs = enc.encode_images(copies)
    for name, vec in zip(names, vecs, strict=True):
        hits = search_vector(index, vec, k=3)
        assert hits[0].id == by_name[name], name
        assert hits[0].score > 0.7 and hits[0].score - hits[1].score > 0.05
    hits = search(enc, index, Query(images=[(copies[0], 1.0)]), k=1)  # the upload path too
    assert hits[0].id == by_name[names[0]]


def _names(index: Index, hits) -> list[str]:
    return [Path(index.items.at[h.id, "path"]).stem for h in hits]


def test_combined_query_changes_the_ranking_sensibly(conse_index_path: Path) -> None:
    index = load_index(conse_index_path)
    enc = load_encoder(index.spec)
    ids = {Path(p).stem: i for i, p in enumerate(index.items["path"])}
    animal = _names(index, search(enc, index, Query.text("an animal"), k=8))
    not_cat = search(enc, index, Query(texts=[("an animal", 1.0)],
                                       negative_texts=[("a cat", 1.0)]), k=8)
    assert animal[0] == "chelsea" and _names(index, not_cat)[-1] == "chelsea"
    assert not_cat[-1].score < 0  # pushed away from "a cat"

    base = Query(texts=[("a cat", 1.0)], image_ids=[(ids["coffee"], 1.0)])
    minus = Query(texts=[("a cat", 1.0)], image_ids=[(ids["coffee"], 1.0)],
                  negative_texts=[("grass", 1.0)])
    with_image, without_grass = (search(enc, index, q, k=8) for q in (base, minus))
    assert len(with_image) == len(without_grass) == 7  # the query image itself is excluded
    for hits in (with_image, without_grass):
        assert "coffee" not in _names(index, hits) and _names(index, hits)[0] == "chelsea"
    grass = enc.encode_texts(["grass"])[0]
    grassiest = max(ids, key=lambda n: 0 if n == "coffee" else index.embeddings[ids[n]] @ grass)
    assert _names(index, without_grass).index(grassiest) > \
        _names(index, with_image).index(grassiest)
    vec = l2_normalise(enc.encode_texts(["a cat"])[0] + index.embeddings[ids["coffee"]] - grass)
    np.testing.assert_allclose(query_vector(enc, index, minus), vec, atol=1e-5)
    for h in without_grass:  # scores are true cosines with the combined query
        assert h.score == pytest.approx(float(index.embeddings[h.id] @ vec), abs=1e-5)

    upload = Image.open(index.items.at[ids["chelsea"], "path"])
    hits = search(enc, index, Query(images=[(upload, 1.0)], texts=[("a cat", 0.5)]), k=2)
    assert hits[0].id == ids["chelsea"]  # an uploaded image is not excluded


def test_query_errors_are_user_errors(conse_index_path: Path, efficientnet_index_path: Path,
                                      captions_index_path: Path, photos) -> None:
    conse = load_index(conse_index_path)
    enc = load_encoder(conse.spec)
    with pytest.raises(UserError, match="cancel out"):
        search(None, conse, Query(image_ids=[(0, 1.0), (0, -1.0)]))
    with pytest.raises(UserError, match="cancel out"):
        search(enc, conse, Query(texts=[("a cat", 1.0)], negative_texts=[("a cat", 1.0)]))
    with pytest.raises(UserError, match="empty query"):
        search(enc, conse, Query(negative_texts=[("a cat", 1.0)]))
    with pytest.raises(UserError, match="empty query"):
        search(enc, conse, Query.text("   "))
    with pytest.raises(UserError, match="not in this index"):
        search(None, conse, Query.image_id(conse.n))
    with pytest.raises(UserError, match="k must be at least 1"):
        search(None, conse, Query.image_id(0), k=0)
    with pytest.raises(UserError, match="needs the model"):
        search(None, conse, Query.text("a cat"))

    eff = load_index(efficientnet_index_path)
    with pytest.raises(UserError, match="cannot answer text queries"):
        search(load_encoder(eff.spec), eff, Query.text("a cat"))
    captions = load_index(captions_index_path)
    with pytest.raises(UserError, match="cannot answer image uploads"):
        search(load_encoder(captions.spec), captions, Query(images=[(photos["coffee"], 1.0)]))
    hits = search(load_encoder(captions.spec), captions, Query.text("a ginger cat"), k=1)
    assert Path(captions.items.at[hits[0].id, "path"]).stem == "chelsea"
