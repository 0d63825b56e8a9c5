"""core.index.lance_store: a Lance index is read through the same `Index` interface, answers as
the folder index does, and its ANN path re-scores candidates exactly."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
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
    first = search_vector(index, queries[0], 10, method="annoy")
    assert index.items.cached_rows == 10  # the hits' rows came back with them
    from benchmarks.vectors import items_table

    assert [index.item(h.id)["hash"] for h in first] == list(
        items_table(3000)["hash"].iloc[[h.id for h in first]])
    for vec in queries[:5]:
        hits = search_vector(index, vec, 10, method="annoy")
        assert np.allclose([h.score for h in hits], vecs[[h.id for h in hits]] @ vec, atol=1e-5)
        assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
        exact = exact_top_k(vecs, vec, 10)
        assert hits[0].id == exact[0].id
    assert recall_at_k(index, queries, 10) >= 0.9
    assert recall_at_k(index, queries, 10, search_k=1) < recall_at_k(index, queries, 10) or \
        recall_at_k(index, queries, 10, search_k=1) == 1.0


def test_neighbours_clusters_and_the_recommender_read_a_lance_index(conse_index_path,
                                                                     lance_index_path):
    """They take `Index.embeddings` as the folder store's array: same answers on both."""
    from core.analysis import explore
    from core.analysis.clusters_view import fit_clusters
    from core.analysis.recommend import Recommender

    folder, lance = load_index(conse_index_path), load_index(lance_index_path)
    for i in range(folder.n):
        got = search(None, lance, Query.image_id(i), k=5)
        want = search(None, folder, Query.image_id(i), k=5)
        assert [h.id for h in got] == [h.id for h in want]
    assert list(explore.neighbourhood(lance.embeddings, 0, 4)) == list(
        explore.neighbourhood(folder.embeddings, 0, 4))
    (res_l, sum_l), (res_f, sum_f) = fit_clusters(lance, None, 2), fit_clusters(folder, None, 2)
    assert list(res_l.labels) == list(res_f.labels)
    assert [s.label for s in sum_l] == [s.label for s in sum_f]
    recs = [Recommender(ix.embeddings, min_votes_per_class=1) for ix in (lance, folder)]
    for rec in recs:
        rec.vote(0, True)
        rec.vote(1, False)
    np.testing.assert_allclose(recs[0].scores(), recs[1].scores(), atol=1e-5)


def test_the_cli_and_the_app_search_a_lance_index(lance_index_path, tmp_path, monkeypatch,
                                                   capsys):
    from streamlit.testing.v1 import AppTest

    from core.cli import main
    from core.encoders.registry import load_encoder
    from core.index.catalogue import ENV_INDEXES
    from core.paths import REPO_ROOT

    index = load_index(lance_index_path)
    hits = search(load_encoder(index.spec), index, Query.text("a ginger cat"), k=3)
    paths = [index.items.at[h.id, "path"] for h in hits]
    assert main(["search", "--index", str(lance_index_path), "-k", "3", "a ginger cat"]) == 0
    printed = [line.split()[-1] for line in capsys.readouterr().out.splitlines()[-3:]]
    assert printed == paths
    root = tmp_path / "root"
    root.mkdir()
    (root / "lance").symlink_to(lance_index_path, target_is_directory=True)
    monkeypatch.setenv(ENV_INDEXES, str(root))
    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=300).run()
    at = at.switch_page("pages/text_search.py").run()
    at.number_input(key="text.k").set_value(3)
    at = at.text_input(key="text.q").set_value("a ginger cat").run()
    assert not at.exception and not at.error
    shown = [img.alt.rsplit(" · ", 1)[-1] for image in at.image for img in image.proto.imgs
             if img.caption.startswith(("#", "★", "◆"))]
    assert shown == [index.items.at[h.id, "rel_path"] for h in hits]


def test_without_lancedb_a_lance_index_is_one_clear_line(lance_index_path):
    import subprocess
    import sys

    from core.paths import REPO_ROOT

    code = ("import sys; sys.modules['lancedb'] = None\n"
            "from core.errors import UserError\nfrom core.index.store import load_index\n"
            f"try:\n    load_index({str(lance_index_path)!r})\n"
            "except UserError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines() == [
        "this is a Lance index (--store lance): install lancedb to read it "
        "(pip install -r requirements-scale.txt; docs/DEPLOY.md)"]


def test_the_table_can_live_elsewhere_as_in_a_bucket(lance_index_path, tmp_path):
    """A folder of the small files whose manifest names the table's location (`lance.uri`, an
    s3:// URI in a deployment; a path here) loads and answers as the whole index does."""
    import json

    src = load_index(lance_index_path)
    bucket = tmp_path / "bucket" / "photos"
    shutil.copytree(src.files / "items.lance", bucket / "items.lance")
    app = tmp_path / "app-index"
    shutil.copytree(src.files, app, ignore=shutil.ignore_patterns("items.lance"))
    manifest = json.loads((app / "manifest.json").read_text(encoding="utf-8"))
    manifest["lance"]["uri"] = str(bucket)
    (app / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert owned_index(app)
    got = load_index(app)
    assert list(got.items["path"]) == list(src.items["path"])
    np.testing.assert_array_equal(np.asarray(got.embeddings), np.asarray(src.embeddings))
    shutil.rmtree(bucket)
    with pytest.raises(UserError):
        load_index(app)


def test_the_writer_streams_a_memmap_and_items_built_slice_by_slice(tmp_path, monkeypatch):
    """write_lance reads vectors and items SCAN_ROWS rows at a time (a 10M-row benchmark table
    never sits in RAM whole), and the table reads back row for row."""
    from benchmarks.vectors import image_vectors, items_table, write_index
    from core.index import lance_store

    monkeypatch.setattr(lance_store, "SCAN_ROWS", 700)
    vecs = np.lib.format.open_memmap(tmp_path / "v.npy", mode="w+", dtype=np.float32,
                                     shape=(2500, 384))
    image_vectors(2500, seed=3, out=vecs)
    asked: list[tuple[int, int]] = []
    real_items_table = items_table

    def rows(n: int, seed: int = 0, start: int = 0):
        asked.append((start, start + n))
        return real_items_table(n, seed, start)

    monkeypatch.setattr("benchmarks.vectors.items_table", rows)
    write_index(tmp_path / "idx", np.load(tmp_path / "v.npy", mmap_mode="r"), None,
                store="lance", ann_min_rows=10**9)
    assert max(b - a for a, b in asked) == 700
    assert sorted(set(asked)) == [(0, 700), (700, 1400), (1400, 2100), (2100, 2500)]
    index = load_index(tmp_path / "idx")
    np.testing.assert_array_equal(np.asarray(index.embeddings), vecs)
    assert list(index.items["hash"]) == list(real_items_table(2500)["hash"])
    assert index.item(2499)["rel_path"] == "photos/0002/IMG_0002499.jpg"


def test_a_frames_column_types_come_from_all_its_rows(tmp_path, monkeypatch):
    """Texts empty in the first slices and present later still read back as strings."""
    from core.index import lance_store

    monkeypatch.setattr(lance_store, "SCAN_ROWS", 4)
    items = pd.DataFrame({"hash": [f"{i:040x}" for i in range(10)],
                          "texts": [[] for _ in range(8)] + [["a red kite"], ["two", "texts"]]})
    vecs = np.eye(10, 16, dtype=np.float32)
    lance_store.write_lance(tmp_path, items, vecs, ann_min_rows=10**9)
    got, emb = lance_store.read_lance(tmp_path, {"dim": 16, "counts": {"items": 10}})
    assert [list(t) for t in got["texts"]] == [list(t) for t in items["texts"]]
    np.testing.assert_array_equal(emb.take(range(10)), vecs)


def test_opening_a_lance_index_reads_no_item_rows_until_asked(tmp_path, monkeypatch):
    """`Index.items` of a Lance index takes only the rows a result needs: opening scans just
    the `id` and `hash` columns (order and hash checks, in batches), items and searches then
    read their rows by take, and the values are the table's."""
    import lancedb.query

    from benchmarks.vectors import image_vectors, items_table, write_index
    n = 3000
    vecs = image_vectors(n, seed=4)
    write_index(tmp_path / "idx", vecs, None, store="lance", ann_min_rows=10**9)
    scans: list[list[str]] = []
    real_select = lancedb.query.LanceQueryBuilder.select

    def select(self, columns):
        if isinstance(self, lancedb.query.LanceEmptyQueryBuilder):
            scans.append(list(columns))
        return real_select(self, columns)

    monkeypatch.setattr(lancedb.query.LanceQueryBuilder, "select", select)
    index = load_index(tmp_path / "idx")
    assert sorted(map(tuple, scans)) == [("hash",), ("id",)]
    from core.index import lance_items

    assert isinstance(index.items, lance_items.LanceItems) and index.items.cached_rows == 0
    assert len(index.items) == n and "rel_path" in index.items and "nope" not in index.items
    want = items_table(n)
    constant = index.manifest["lance"]["constant"]  # filled in from here, never taken
    assert constant["root"] == "/home/user" and constant["width"] == 1920
    assert "path" not in constant and "hash" not in constant and "size" not in constant
    for i in (0, 1234, n - 1):
        got = index.item(i)
        assert got["id"] == i and got["texts"] == []
        assert {c: got[c] for c in ("path", "rel_path", "hash", "size", "width", "root")} == {
            c: want.at[i, c] for c in ("path", "rel_path", "hash", "size", "width", "root")}
    hits = search_vector(index, vecs[42], 10)
    assert hits[0].id == 42
    assert [index.items.at[h.id, "hash"] for h in hits] == [want.at[h.id, "hash"] for h in hits]
    assert list(index.items.loc[[9, 3, 9], "rel_path"]) == list(want["rel_path"].iloc[[9, 3, 9]])
    assert index.items.iloc[-1]["hash"] == want["hash"].iloc[-1]
    assert [s for s in scans if s != ["vector"]] == [["id"], ["hash"]]  # exact search: vectors
    assert index.items.cached_rows <= 20
    assert list(index.items["hash"]) == list(want["hash"])  # a whole column, by projection
    assert index.items.cached_rows <= 20
    monkeypatch.setattr(lance_items, "ROW_CACHE", 100)
    assert list(index.items.take(range(150, 260))["hash"]) == list(want["hash"].iloc[150:260])
    assert index.items.cached_rows == 100  # the oldest rows are let go
    with pytest.raises(KeyError):
        index.items.at[n, "hash"]


def test_a_malformed_hash_in_a_lance_table_is_refused(tmp_path):
    """The hash check at open runs on the Lance table too (a hash names a thumbnail file)."""
    from core.index.lance_store import read_lance, write_lance
    from core.index.store import _check_items

    items = pd.DataFrame({"path": ["/a.jpg", "/b.jpg"], "hash": ["0" * 40, "../../etc/passwd"]})
    write_lance(tmp_path, items, np.eye(2, 8, dtype=np.float32), ann_min_rows=10**9)
    got, _ = read_lance(tmp_path, {"dim": 8, "counts": {"items": 2}})
    with pytest.raises(UserError, match="1 malformed hash"):
        _check_items(tmp_path, got)


def test_the_ann_defaults_grow_the_shortlist_with_the_rows_probed():
    """10M items (3,162 partitions): at most 200 probes, and a shortlist of ~1 % of the rows
    they scan (the 10M sweeps: recall@10 0.958-0.98 where refine 100 gave 0.89); 1M keeps
    100 / 100."""
    from core.index.lance_store import default_nprobes, default_refine

    assert (default_nprobes(1000), default_refine(1_000_000, 1000, 100, 10)) == (100, 100)
    assert (default_nprobes(3162), default_refine(10_000_000, 3162, 200, 10)) == (200, 633)
    assert abs(default_refine(10_000_000, 3162, 200, 11) * 11 - 6330) < 11  # same shortlist
    assert default_refine(60_000, 244, default_nprobes(244), 10) == 100


def test_large_tables_get_finer_pq_codes_and_their_own_shortlist():
    """From FINE_PQ_ROWS on, 4 dims per PQ sub-vector (96 at 384-d), and the manifest's
    sub-vector count picks the finer codes' shortlist share; 1M keeps 48 and refine 100."""
    from core.index.lance_store import FINE_RERANK_SHARE, default_refine, is_fine, pq_sub_vectors

    assert (pq_sub_vectors(1_000_000, 384), pq_sub_vectors(10_000_000, 384)) == (48, 96)
    assert pq_sub_vectors(10_000_000, 10) == 10  # no divisor: one per dimension
    assert not is_fine({"sub_vectors": 48}, 384) and is_fine({"sub_vectors": 96}, 384)
    assert not is_fine(None, 384)
    shortlist = default_refine(10_000_000, 3162, 200, 10, fine=True) * 10
    assert abs(shortlist - max(1000, FINE_RERANK_SHARE * 200 * 10_000_000 / 3162)) < 10
