"""The Image to text, Cluster explorer and Review pages read what the demo step stored in the
index's cache: with it they open without the model and without k-means/PCA/t-SNE, and show
exactly what the computing path shows on a copy of the same index without a cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, TIMEOUT, ok
from test_precompute import COMPUTED, cached_setup, refuse

from core.analysis import explore, labels, maps
from core.index import cache

pytestmark = pytest.mark.usefixtures("warm_server")  # see conftest.warm_server


@pytest.fixture
def roots(tmp_path: Path, conse_index_path: Path, monkeypatch) -> tuple[Path, Path]:
    """(indexes folder with `conse` cached and `plain`, the same index without a cache)."""
    out, sets = cached_setup(tmp_path, conse_index_path)
    shutil.copytree(conse_index_path.resolve(), out.parent / "plain")
    monkeypatch.setenv("IMAGE_SEARCH_INDEXES", str(out.parent))
    monkeypatch.setenv("IMAGE_SEARCH_SETS", str(sets))
    assert (out / cache.FOLDER / "captionbank-animals-all.npz").is_file()
    assert not (out.parent / "plain" / cache.FOLDER).exists()
    return out.parent, sets


def page(name: str, index: str, **params: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"index": index, **params})
    return ok(at.switch_page(name).run())


def caption_table(index: str, image_id: int):
    at = page("pages/image_to_text.py", index)
    at = ok(at.number_input(key="i2t.id").set_value(image_id).run())
    return at.dataframe[0].value


def test_image_to_text_reads_the_stored_caption_bank(roots, monkeypatch) -> None:
    computed = caption_table("plain", 1)  # embeds the captions with the model
    from app_support import loaders

    monkeypatch.setattr(loaders, "encoder_for", refuse("the model"))
    monkeypatch.setattr(loaders, "get_encoder", refuse("the model"))
    stored = caption_table("conse", 1)
    assert len(stored) >= 3 and stored.equals(computed)  # every distinct caption of the set


def explorer_view(index: str, **params: str) -> tuple[list, list[str]]:
    """(the scatter's points: id, x, y, cluster, tooltip thumbnail..., the cluster lines)."""
    at = page("pages/explorer.py", index, **params)
    (dataset,) = at.get("vega_lite_chart")[0].proto.datasets
    points = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
    assert len(points) > 0 and points["image"].str.startswith("data:image/jpeg").all()
    at.session_state["ex.tab"] = "Clusters"  # only the open tab is drawn
    lines = [m.value for m in ok(at.run()).markdown if m.value.startswith("**Cluster ")]
    at.session_state["ex.tab"] = "Thumbnail map"
    assert any("coordinates" in c for im in ok(at.run()).image for c in im.captions)
    return points.to_dict("records"), lines


def test_explorer_reads_the_stored_clusters_and_maps(roots, monkeypatch) -> None:
    computed = explorer_view("plain"), explorer_view("plain", proj="tsne")
    for name in COMPUTED:
        monkeypatch.setattr(explore, name, refuse(name))
    monkeypatch.setattr(maps, "tooltip_urls", refuse("tooltip_urls"))
    monkeypatch.setattr(maps, "map_jpeg", refuse("map_jpeg"))
    monkeypatch.setattr(labels, "summarise_clusters", refuse("summarise_clusters"))
    stored = explorer_view("conse"), explorer_view("conse", proj="tsne")
    assert stored == computed and len(stored[0][1]) == 6


def review_tiles(index: str) -> list[str]:
    """The captions of the shipped set's first query's results (rank, cosine, file) and the
    compact view's strips (one per query: nDCG and unmarked count)."""
    at = page("pages/review.py", index, **{"with": index, "k": "5"})
    full = [c for im in at.image for c in im.captions]
    at = page("pages/review.py", index, **{"with": index, "k": "5", "view": "compact"})
    return full + [c for im in at.image for c in im.captions]


def test_review_runs_the_shipped_set_from_the_stored_text_vectors(roots, monkeypatch) -> None:
    computed = review_tiles("plain")  # loads the model and encodes the 30 queries
    from app_support import loaders

    monkeypatch.setattr(loaders, "encoder_for", refuse("the model"))
    monkeypatch.setattr(loaders, "get_encoder", refuse("the model"))
    stored = review_tiles("conse")
    assert len(stored) == 5 + 30 and stored == computed
