"""Tests for core.analysis.explore on real small data (scikit-learn digits, scikit-image photos)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.metrics import silhouette_score

from core.analysis.explore import (
    ClusterResult,
    cluster_members_near_centre,
    k_sweep,
    kmeans,
    neighbourhood,
    pca_2d,
    selected_ids,
    tsne_2d,
)
from core.analysis.labels import cluster_label, cluster_labels, summarise_clusters
from core.analysis.maps import display_sample, thumb_data_url, thumbnail_map
from core.errors import UserError


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """300 real 8x8 digit images (0, 1, 2 only), as 64-d vectors, with their true classes."""
    d = load_digits(n_class=3)
    return d.data[:300].astype(np.float32), d.target[:300]


def test_kmeans_is_stable_for_a_seed(digits: tuple[np.ndarray, np.ndarray]) -> None:
    emb, _ = digits
    a = kmeans(emb, 3, seed=7)
    b = kmeans(emb, 3, seed=7)
    assert isinstance(a, ClusterResult)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.labels.shape == (300,) and a.centres.shape == (3, 64)
    assert a.k == 3 and a.inertia > 0
    # 300 rows < the 2000-row sample: the silhouette is sklearn's on every row, and three digit
    # classes separate well.
    assert a.silhouette == pytest.approx(silhouette_score(emb, a.labels), abs=1e-6)
    assert a.silhouette > 0.1


def test_kmeans_finds_the_digit_classes(digits: tuple[np.ndarray, np.ndarray]) -> None:
    emb, target = digits
    res = kmeans(emb, 3, seed=0)
    # Each cluster should be dominated by one digit class.
    purity = sum(np.bincount(target[res.labels == c]).max() for c in range(3)) / len(target)
    assert purity > 0.8
    assert res.silhouette > 0.1


@pytest.mark.parametrize("k", [-1, 0, 1, 10])
def test_kmeans_rejects_k_out_of_range(k: int) -> None:
    emb = load_digits().data[:10].astype(np.float32)
    with pytest.raises(UserError, match="2..9"):
        kmeans(emb, k)


def test_kmeans_accepts_the_range_limits() -> None:
    emb = load_digits().data[:10].astype(np.float32)
    assert kmeans(emb, 2).k == 2
    assert kmeans(emb, 9).k == 9


def test_kmeans_rejects_bad_arrays() -> None:
    with pytest.raises(UserError):
        kmeans(np.zeros(5), 2)
    bad = load_digits().data[:10].copy()
    bad[0, 0] = np.nan
    with pytest.raises(UserError, match="NaN"):
        kmeans(bad, 2)


def test_k_sweep_drops_unusable_k_and_prefers_the_true_k(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    emb, _ = digits
    rows = k_sweep(emb, range(1, 7), seed=0, sample=200)
    assert [k for k, _, _ in rows] == [2, 3, 4, 5, 6]
    inertias = [i for _, i, _ in rows]
    assert all(a > b for a, b in zip(inertias, inertias[1:], strict=False))
    silhouettes = {k: s for k, _, s in rows}
    assert max(silhouettes, key=silhouettes.get) == 3, silhouettes  # three digit classes
    with pytest.raises(UserError):
        k_sweep(emb[:4], range(5, 8))


def test_pca_shape_and_spectrum(digits: tuple[np.ndarray, np.ndarray]) -> None:
    emb, _ = digits
    proj = pca_2d(emb)
    assert proj.coords.shape == (300, 2)
    evr = proj.explained_variance_ratio
    assert len(evr) == 10
    np.testing.assert_allclose(evr, PCA(n_components=10).fit(emb).explained_variance_ratio_,
                               rtol=1e-4, atol=1e-6)
    assert np.all(np.diff(evr) <= 1e-9)  # sorted, largest first
    # Tiny collections still work: spectrum is limited by n.
    small = pca_2d(emb[:3])
    assert small.coords.shape == (3, 2) and len(small.explained_variance_ratio) == 3


def test_tsne_clamps_perplexity_for_small_n(digits: tuple[np.ndarray, np.ndarray]) -> None:
    emb, _ = digits
    proj = tsne_2d(emb[:12], seed=0, perplexity=30.0)
    assert proj.coords.shape == (12, 2)
    assert np.isfinite(proj.coords).all()
    assert proj.explained_variance_ratio.size == 0


def test_neighbourhood_is_cosine_nearest_with_centre_first() -> None:
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0], [1, 0]], dtype=np.float32)
    ids = neighbourhood(emb, 0, 3)
    assert ids[0] == 0
    assert set(ids.tolist()) == {0, 1, 4}
    assert len(neighbourhood(emb, 2, 100)) == 5
    with pytest.raises(UserError):
        neighbourhood(emb, 5, 3)
    with pytest.raises(UserError):
        neighbourhood(emb, 0, 0)


def test_cluster_members_near_centre(digits: tuple[np.ndarray, np.ndarray]) -> None:
    emb, _ = digits
    res = kmeans(emb, 3, seed=0)
    ids = cluster_members_near_centre(emb, res, 1, 5)
    assert len(ids) == 5
    assert np.all(res.labels[ids] == 1)
    d = np.linalg.norm(emb[ids] - res.centres[1], axis=1)
    assert np.all(np.diff(d) >= 0)
    members = np.flatnonzero(res.labels == 1)
    assert d[0] <= np.linalg.norm(emb[members] - res.centres[1], axis=1).min() + 1e-4
    with pytest.raises(UserError):
        cluster_members_near_centre(emb, res, 3, 5)


def test_cluster_label_picks_the_shared_word() -> None:
    texts = [
        ["A koala sleeping in a tree."],
        ["The koala eats leaves.", "A photo of a koala."],
        ["Grey koala on a branch."],
        ["A tree at dusk."],
    ]
    assert cluster_label(texts, top=1) == "koala"
    assert cluster_label(texts, top=2) == "koala, tree"
    assert cluster_label([]) == ""
    assert cluster_label([[], ["the of a"]]) == ""


def test_cluster_labels_prefer_distinctive_words() -> None:
    koalas = [["koala in a tree"], ["koala on a tree"], ["sleepy koala tree"]]
    birds = [["bird in a tree"], ["bird on a tree"], ["bird tree nest"]]
    assert cluster_labels([koalas, birds], top=1) == ["koala", "bird"]


def _solid(colour: tuple[int, int, int], size: tuple[int, int] = (40, 40)) -> Image.Image:
    return Image.new("RGB", size, colour)


def _canvas_colour_bbox(img: Image.Image, colour: tuple[int, int, int]) -> tuple[int, ...] | None:
    a = np.asarray(img)
    mask = np.all(a == colour, axis=2)
    if not mask.any():
        return None
    ys, xs = np.nonzero(mask)
    return (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)


def test_thumbnail_map_keeps_every_thumbnail_inside_and_y_up() -> None:
    colours = [(255, 0, 0), (0, 200, 0), (0, 0, 255), (255, 200, 0), (128, 0, 128)]
    coords = np.array([[-5.0, -3.0], [5.0, 3.0], [-5.0, 3.0], [5.0, -3.0], [0.0, 0.0]])
    thumbs = [_solid(c, size=(80, 50)) for c in colours]  # wide: resized to 64 x 40
    canvas, thumb = 300, 64
    img, boxes = thumbnail_map(coords, thumbs, canvas=canvas, thumb=thumb)
    assert img.size == (canvas, canvas) and img.mode == "RGB"
    for box, colour in zip(boxes, colours, strict=True):
        left, top, right, bottom = box
        assert 0 <= left < right <= canvas and 0 <= top < bottom <= canvas
        assert (right - left, bottom - top) == (64, 40)
        assert _canvas_colour_bbox(img, colour) == box  # the pixels are exactly where it says
    # The extreme x points touch the left/right edges.
    assert boxes[0][0] == 0 and boxes[1][2] == canvas
    # y up: the point with larger y is drawn higher (smaller row).
    assert boxes[1][1] < boxes[3][1] and boxes[2][1] < boxes[0][1]
    # Larger x is further right.
    assert boxes[3][0] > boxes[0][0]


def test_thumbnail_map_y_up_on_a_tall_layout() -> None:
    coords = np.array([[0.0, 0.0], [0.0, 10.0], [0.1, 5.0]])
    thumbs = [_solid((255, 0, 0)), _solid((0, 0, 255)), _solid((0, 255, 0))]
    _, boxes = thumbnail_map(coords, thumbs, canvas=200, thumb=32)
    assert boxes[1][1] == 0 and boxes[0][3] == 200
    assert boxes[1][1] < boxes[2][1] < boxes[0][1]


def test_thumbnail_map_single_point_and_identical_points() -> None:
    img, boxes = thumbnail_map(
        np.zeros((2, 2)), [_solid((255, 0, 0))] * 2, canvas=100, thumb=20
    )
    assert boxes[0] == boxes[1] == (40, 40, 60, 60)
    empty, no_boxes = thumbnail_map(np.zeros((0, 2)), [], canvas=50, thumb=10)
    assert isinstance(empty, Image.Image) and empty.size == (50, 50) and no_boxes == []


def test_thumbnail_map_handles_odd_modes_and_transparency() -> None:
    rgba = Image.new("RGBA", (40, 40), (255, 0, 0, 0))  # fully transparent red
    rgba.paste((0, 0, 255, 255), (10, 10, 30, 30))  # opaque blue square in the middle
    la = Image.new("LA", (40, 40), (0, 0))  # transparent black
    pal = Image.new("P", (40, 40), 0)
    pal.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    pal.info["transparency"] = 0  # index 0 (black) transparent
    pal.paste(1, (0, 0, 20, 40))  # left half green
    cmyk = Image.new("CMYK", (40, 40), (0, 255, 255, 0))  # red
    i16 = Image.fromarray(np.arange(1600, dtype=np.uint16).reshape(40, 40) * 40)
    photo = Image.fromarray(skdata.astronaut())
    thumbs = [rgba, la, pal, cmyk, i16, photo]
    coords = np.array([[0, 0], [1, 0], [2, 0], [0, 1], [1, 1], [2, 1]], dtype=float)
    img, boxes = thumbnail_map(coords, thumbs, canvas=400, thumb=40)
    a = np.asarray(img)

    def px(box: tuple[int, int, int, int], dx: int, dy: int) -> tuple[int, ...]:
        return tuple(int(v) for v in a[box[1] + dy, box[0] + dx])

    assert px(boxes[0], 2, 2) == (255, 255, 255)  # transparent -> white, not black
    assert px(boxes[0], 20, 20) == (0, 0, 255)
    assert px(boxes[1], 20, 20) == (255, 255, 255)
    assert px(boxes[2], 5, 20) == (0, 255, 0) and px(boxes[2], 35, 20) == (255, 255, 255)
    assert px(boxes[3], 20, 20)[0] > 200 and px(boxes[3], 20, 20)[1] < 50
    assert boxes[5][2] - boxes[5][0] == 40  # big photo shrunk to the thumbnail size


def test_thumbnail_map_transparency_uses_the_background() -> None:
    clear = Image.new("RGBA", (20, 20), (255, 0, 0, 0))
    img, boxes = thumbnail_map(
        np.zeros((1, 2)), [clear], canvas=60, thumb=20, background="black"
    )
    left, top, _, _ = boxes[0]
    assert img.getpixel((left + 5, top + 5)) == (0, 0, 0)


def test_thumbnail_map_rejects_bad_input() -> None:
    with pytest.raises(UserError):
        thumbnail_map(np.zeros((2, 2)), [_solid((0, 0, 0))])
    with pytest.raises(UserError):
        thumbnail_map(np.zeros((1, 3)), [_solid((0, 0, 0))])
    with pytest.raises(UserError):
        thumbnail_map(np.zeros((1, 2)), [_solid((0, 0, 0))], canvas=10, thumb=64)
    with pytest.raises(UserError):
        thumbnail_map(np.full((1, 2), np.nan), [_solid((0, 0, 0))])


DIGIT_NAMES = ["circle", "stroke", "swan"]  # not "zero", "one": stop words


def test_summarise_clusters_names_sizes_and_typical_images(
    digits: tuple[np.ndarray, np.ndarray],
) -> None:
    emb, target = digits
    res = kmeans(emb, 3, seed=0)
    texts = [[f"a handwritten digit {DIGIT_NAMES[t]}"] for t in target]
    ids = np.arange(1000, 1300)  # rows of a neighbourhood keep the collection's own ids
    out = summarise_clusters(emb, res, texts, ids, m=4)
    assert [s.size for s in out] == sorted(np.bincount(res.labels), reverse=True)
    assert sorted(s.cluster for s in out) == [0, 1, 2]
    for s in out:
        rows = cluster_members_near_centre(emb, res, s.cluster, 4)
        assert s.nearest == (rows + 1000).tolist()
        majority = DIGIT_NAMES[np.bincount(target[res.labels == s.cluster]).argmax()]
        assert majority in s.label.split(", ")
    untexted = summarise_clusters(emb, res, [[] for _ in target])
    assert all(s.label == "" for s in untexted)
    assert max(max(s.nearest) for s in untexted) < 300
    with pytest.raises(UserError):
        summarise_clusters(emb, res, texts[:5])


def test_display_sample_is_stable_sorted_and_capped() -> None:
    assert display_sample(5, 10).tolist() == [0, 1, 2, 3, 4]
    a, b = display_sample(1000, 50, seed=3), display_sample(1000, 50, seed=3)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 50
    assert np.all(np.diff(a) > 0) and a.max() < 1000
    with pytest.raises(UserError):
        display_sample(10, 0)


def test_selected_ids_from_clicks_and_a_box() -> None:
    ids = [10, 11, 12, 13]
    coords = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0], [3.0, -1.0]])
    assert selected_ids(ids, coords) == []
    assert selected_ids(ids, coords, picked=[13, 99]) == [13]  # 99: not on this chart
    assert selected_ids(ids, coords, box=([0.5, 2.5], [0.5, 2.5])) == [11, 12]
    assert selected_ids(ids, coords, [10], box=([2.5, 0.5], [2.5, 0.5])) == [10, 11, 12]
    with pytest.raises(UserError):
        selected_ids(ids, coords[:3])


def test_thumb_data_url_is_a_small_jpeg(tmp_path: Path) -> None:
    path = tmp_path / "thumb.jpg"
    Image.fromarray(skdata.chelsea()).save(path)
    url = thumb_data_url(path, size=96)
    assert url.startswith("data:image/jpeg;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.format == "JPEG" and max(img.size) == 96 and img.mode == "RGB"
    assert len(url) < 12_000
    assert thumb_data_url(tmp_path / "missing.jpg") == ""
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    assert thumb_data_url(tmp_path / "broken.jpg") == ""
