"""The explorer's data: scope rows, fitted clusters and maps, scatter rows, chart selections and
setting bounds, on a real index of the bundled photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_TEXTS

from core.analysis import clusters_view as view
from core.analysis import explore, maps
from core.analysis.labels import ClusterSummary
from core.errors import UserError
from core.index.store import Index, load_index


@pytest.fixture(scope="module")
def index(efficientnet_index_path: Path) -> Index:
    return load_index(efficientnet_index_path)


def test_scope_rows_are_all_images_or_the_nearest(index: Index) -> None:
    assert view.scope_rows(index, None).tolist() == list(range(index.n))
    near = view.scope_rows(index, (2, 5))
    sims = index.embeddings @ index.embeddings[2]
    assert set(near.tolist()) == set(np.argsort(-sims)[:5].tolist()) and 2 in near


def test_fit_clusters_reports_collection_ids(index: Index) -> None:
    result, summaries = view.fit_clusters(index, None, 3)
    assert result.k == 3 and result.labels.shape == (index.n,)
    assert [s.size for s in summaries] == sorted(np.bincount(result.labels, minlength=3),
                                                 reverse=True)
    for s in summaries:
        members = set(np.flatnonzero(result.labels == s.cluster).tolist())
        assert s.nearest and set(s.nearest) <= members
    ids = view.scope_rows(index, (2, 5))
    local, local_summaries = view.fit_clusters(index, (2, 5), 2, nearest=10)
    assert local.labels.shape == (5,)
    assert sorted(i for s in local_summaries for i in s.nearest) == sorted(ids.tolist())


def test_fit_projection_pca_and_tsne(index: Index) -> None:
    coords, ratio = view.fit_projection(index, None, tsne=False)
    pca = explore.pca_2d(index.embeddings)
    np.testing.assert_allclose(coords, pca.coords)
    np.testing.assert_allclose(ratio, pca.explained_variance_ratio)
    assert np.all(np.diff(ratio) <= 1e-9) and ratio.sum() <= 1 + 1e-6
    t_coords, t_ratio = view.fit_projection(index, (0, 6), tsne=True)
    assert t_coords.shape == (6, 2)
    np.testing.assert_allclose(t_ratio, explore.pca_2d(
        index.embeddings[view.scope_rows(index, (0, 6))]).explained_variance_ratio)


def test_sweep_and_variance_tables(index: Index) -> None:
    sweep = view.sweep_table(index, None, 2, 5)
    assert list(sweep.columns) == ["k", "inertia", "silhouette"]
    assert sweep["k"].tolist() == [2, 3, 4, 5]
    assert sweep["inertia"].iloc[0] > sweep["inertia"].iloc[-1]
    table = view.variance_table(np.array([0.5, 0.3, 0.1]))
    assert table["component"].tolist() == ["PC1", "PC2", "PC3"]
    np.testing.assert_allclose(table["explained"], [50, 30, 10])
    np.testing.assert_allclose(table["cumulative"], [50, 80, 90])


def test_cluster_names_follow_the_summary_order() -> None:
    summaries = [ClusterSummary(2, 5, [1], "cat"), ClusterSummary(0, 3, [4], "")]
    names = view.cluster_names(summaries)
    assert names == {2: "1 · cat", 0: "2"} and list(names) == [2, 0]
    assert view.axis_titles(tsne=True) == ("t-SNE 1", "t-SNE 2")
    assert view.axis_titles(tsne=False) == ("PC1", "PC2")


def test_chart_sample_is_fixed_and_aligned() -> None:
    ids = np.arange(10, 20)
    coords = np.stack([ids * 1.0, -ids * 1.0], axis=1)
    a, b = view.chart_sample(ids, coords, 4), view.chart_sample(ids, coords, 4)
    assert a.ids.tolist() == b.ids.tolist() and len(a.ids) == 4
    assert a.ids.tolist() == sorted(a.ids.tolist())
    np.testing.assert_array_equal(a.ids, ids[a.positions])
    np.testing.assert_array_equal(a.coords[:, 0], a.ids)
    assert view.chart_sample(ids, coords, 50).ids.tolist() == ids.tolist()


def test_scatter_frame_rows(index: Index) -> None:
    ids = view.scope_rows(index, None)
    coords, _ = view.fit_projection(index, None, tsne=False)
    result, summaries = view.fit_clusters(index, None, 3)
    names = view.cluster_names(summaries)
    sample = view.chart_sample(ids, coords, 5)
    df = view.scatter_frame(index, sample, result.labels, names,
                            maps.tooltip_urls(index, sample.ids))
    assert list(df.columns) == ["id", "x", "y", "cluster", "name", "texts", "image"]
    assert df["id"].tolist() == sample.ids.tolist()
    for row in df.itertuples():
        stem = str(index.items.at[row.id, "rel_path"]).removesuffix(".jpg")
        assert row.name == f"{stem}.jpg" and row.texts == PHOTO_TEXTS[stem]
        assert row.cluster == names[int(result.labels[row.id])]
        assert (row.x, row.y) == (coords[row.id, 0], coords[row.id, 1])
        assert row.image.startswith("data:image/jpeg;base64,")
    with pytest.raises(ValueError, match="4 thumbnails for 5 points"):
        view.scatter_frame(index, sample, result.labels, names, ["x"] * 4)


def test_picked_ids_from_a_chart_event() -> None:
    ids = np.array([7, 3, 9, 1])
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, 0.0]])
    sample = view.ChartSample(np.arange(4), ids, coords)
    assert view.picked_ids(sample, None) == [] and view.picked_ids(sample, {}) == []
    assert view.picked_ids(sample, {"picked": [{"id": 9}, {"id": 42}, {"x": 1}]}) == [9]
    box = {"region": {"x": [2.5, 0.5], "y": [0.5, 2.5]}}  # reversed ranges still count
    assert view.picked_ids(sample, box) == [3, 9]
    both = {"picked": [{"id": 1}], "region": {"x": [0.5, 1.5], "y": [0.5, 1.5]}}
    assert view.picked_ids(sample, both) == [3, 1]  # in chart order
    assert view.picked_ids(sample, {"region": {"x": [0, 3]}}) == []  # half a box: none


def test_setting_bounds() -> None:
    assert view.clamp(0, 2, 5) == 2 and view.clamp(9, 2, 5) == 5
    assert view.k_max(5) == 4 and view.k_max(1000) == view.K_MAX
    assert view.can_tsne(view.TSNE_MAX) and not view.can_tsne(view.TSNE_MAX + 1)
    assert view.sweep_bounds(5, None) == (4, 2, 4)
    assert view.sweep_bounds(100, None) == (view.SWEEP_MAX, 2, view.SWEEP_MAX)
    assert view.sweep_bounds(5, (3, 10)) == (4, 3, 4)  # kept inside a smaller scope
    assert view.sweep_bounds(6, (10, 12)) == (5, 4, 5)
    assert view.sweep_bounds(100, (6, 6)) == (15, 6, 7)  # at least one k wide
    assert view.sweep_bounds(3, (5, 9)) == (2, 2, 2)  # nothing to choose


def test_url_numbers_are_bounded_before_any_fit(index: Index, monkeypatch) -> None:
    """around=N&size=3000&proj=tsne: each new N is a fresh fit, so its size is capped."""
    assert view.size_max(50_000) == view.AROUND_MAX and view.size_max(7) == 7
    assert view.scope_for(50_000, 123, 3000) == (123, view.AROUND_MAX)
    assert view.scope_for(index.n, 10**9, -5) == (index.n - 1, view.MIN_IMAGES)
    with pytest.raises(UserError, match="at most 1000 images"):
        view.scope_rows(index, (0, view.AROUND_MAX + 1))
    monkeypatch.setattr(view, "TSNE_MAX", 5)  # the same rule, on this 10-image index
    with pytest.raises(UserError, match="t-SNE maps at most 5 images"):
        view.fit_projection(index, None, tsne=True)
    assert view.fit_projection(index, (0, 5), tsne=True)[0].shape == (5, 2)


def test_distinctness_in_plain_words() -> None:
    assert [view.distinctness(s) for s in (-0.2, 0.04, 0.1, 0.12, 0.25, 0.7)] == [
        "weak", "weak", "moderate", "moderate", "clear", "clear"]
