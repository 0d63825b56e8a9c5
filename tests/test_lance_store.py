"""core.index.lance_store: a Lance index is read through the same `Index` interface, answers as
the folder index does, and its ANN path re-scores candidates exactly."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from core.errors import UserError
from core.index.build import build_index
from core.index.store import load_index
from core.index.versions import owned_index
from core.query.search import Query, exact_top_k, recall_at_k, search, search_vector

pytest.importorskip("lancedb")
QUERIES = ["a cat", "a rocket", "a cup of coffee", "a flower", "a motorcycle", "galaxies"]


@pytest.fixture(scope="module")
def lance_index_path(tmp_path_factory, photo_dir):
    out = tmp_path_factory.mktemp("lance") / "conse-lance"
    build_index([photo_dir], "conse:lite0", out, store="lance")
    return out


def test_lance_answers_the_same_top_10_as_the_folder_index(conse_index_path, lance_index_path):
    from core.encoders.registry import load_encoder

    folder, lance = load_index(conse_index_path), load_index(lance_index_path)
    assert (folder.store, lance.store) == ("annoy", "lance")
    assert lance.n == folder.n and lance.dim == folder.dim
    assert list(lance.items["hash"]) == list(folder.items["hash"])
    assert lance.item(3)["texts"] == folder.item(3)["texts"]
    assert np.allclose(np.asarray(lance.embeddings), folder.embeddings, atol=1e-6)
    enc = load_encoder(folder.spec)
    for text in QUERIES:
        a, b = search(enc, folder, Query.text(text)), search(enc, lance, Query.text(text))
        assert [h.id for h in a] == [h.id for h in b]
        assert np.allclose([h.score for h in a], [h.score for h in b], atol=1e-6)
    for i in range(folder.n):
        a, b = search(None, folder, Query.image_id(i)), search(None, lance, Query.image_id(i))
        assert [h.id for h in a] == [h.id for h in b]
    assert lance.thumb_path(0) is not None and lance.thumb_path(0).is_file()


def test_a_lance_index_is_owned_and_refreshed_incrementally(tmp_path, photo_dir):
    out = tmp_path / "refresh"
    build_index([photo_dir], "conse:lite0", out, store="lance")
    assert owned_index(out.resolve())
    again = build_index([photo_dir], "conse:lite0", out, store="lance")
    assert (again.reused, again.new) == (8, 0)
    to_folder = build_index([photo_dir], "conse:lite0", out)  # a store switch reuses too
    assert to_folder.reused == 8 and load_index(out).store == "annoy"
    assert owned_index(out.resolve())


def test_a_damaged_table_is_one_clear_error(lance_index_path, tmp_path, photo_dir):
    out = tmp_path / "damaged"
    build_index([photo_dir], "conse:lite0", out, store="lance")
    version = out.resolve()
    for data in (version / "items.lance" / "data").iterdir():
        data.write_bytes(b"not a lance file")
    with pytest.raises(UserError, match="items.lance is damaged"):
        load_index(out)
    shutil.rmtree(version / "items.lance")
    with pytest.raises(UserError, match="missing items.lance"):
        load_index(out)


def test_lance_vectors_take_rows_in_the_order_asked(lance_index_path):
    index = load_index(lance_index_path)
    emb = np.asarray(index.embeddings)
    for ids in ([5, 1, 5, 0], [7], []):
        assert np.array_equal(index.embeddings[ids], emb[ids])
    assert np.array_equal(index.embeddings[2], emb[2])
    assert np.array_equal(index.embeddings[emb[:, 0] > 0], emb[emb[:, 0] > 0])
    assert np.allclose(index.embeddings @ emb[3], emb @ emb[3], atol=1e-6)
    with pytest.raises(IndexError):
        index.embeddings.take([index.n])


def test_ann_recall_and_exact_rescoring(tmp_path):
    """A few thousand clustered vectors with the IVF-PQ index forced on: Lance's candidates come
    back with their exact cosines, and recall@10 against exact search stays high."""
    from benchmarks.vectors import image_vectors, write_index

    vecs = image_vectors(3000, seed=5)
    write_index(tmp_path / "ann", vecs, None, store="lance", ann_min_rows=1000)
    index = load_index(tmp_path / "ann")
    assert index.manifest["lance"]["ann"]["type"] == "IVF_PQ"
    queries = vecs[np.random.default_rng(1).choice(len(vecs), 30, replace=False)] + \
        np.random.default_rng(2).normal(0, 0.02, (30, vecs.shape[1])).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    for vec in queries[:5]:
        hits = search_vector(index, vec, 10, method="annoy")
        assert np.allclose([h.score for h in hits], vecs[[h.id for h in hits]] @ vec, atol=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        exact = exact_top_k(vecs, vec, 10)
        assert hits[0].id == exact[0].id
    assert recall_at_k(index, queries, 10) >= 0.9
    assert recall_at_k(index, queries, 10, search_k=1) < recall_at_k(index, queries, 10) or \
        recall_at_k(index, queries, 10, search_k=1) == 1.0
