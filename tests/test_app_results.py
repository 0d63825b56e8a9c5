"""Text search's filters, similarity cut-off, downloads and near-duplicate badges, and Home's
near-duplicate groups (AppTest over the small real gallery of filter_gallery.py: folders, EXIF
dates, a portrait crop, a photo without text and two look-alikes of the cat)."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import streamlit.testing.v1.app_test as app_test_module
from filter_gallery import build_gallery_index, make_gallery
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from test_app import APP, TIMEOUT, captions, names, ok, texts

from core.encoders.registry import load_encoder
from core.index.catalogue import ENV_INDEXES
from core.index.store import load_index
from core.query.calibration import load_curves, strong_count
from core.query.search import Query, search

pytestmark = pytest.mark.usefixtures("warm_server")


@pytest.fixture(scope="module")
def gallery_root(tmp_path_factory, photos) -> Path:
    base = tmp_path_factory.mktemp("app-results")
    build_gallery_index(make_gallery(base / "gallery", photos), base / "indexes" / "gallery")
    return base / "indexes"


@pytest.fixture
def start(monkeypatch):
    """Opens a page with URL parameters in a fresh session over the given index folder."""
    def run(root: Path, page: str, **params: str) -> AppTest:
        monkeypatch.setenv(ENV_INDEXES, str(root))
        app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        app.query_params.update(params)
        return ok(app.switch_page(page).run())
    return run


def shown(at: AppTest) -> set[str]:
    return set(names(at))


def test_filters_narrow_the_results_and_still_fill_the_page(start, gallery_root: Path) -> None:
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="8")
    assert len(names(at)) == 8 and "filtered" not in texts(at.caption)
    at = ok(at.multiselect(key="text.f.orient").set_value(["portrait"]).run())
    assert names(at) == ["cat_tall.jpg"] and "filtered: portrait" in texts(at.caption)
    at = ok(at.multiselect(key="text.f.orient").set_value([]).run())
    at = ok(at.multiselect(key="text.f.folders").set_value(["space"]).run())
    assert shown(at) == {"astronaut.jpg", "rocket.jpg", "hubble.jpg"}
    at = ok(at.number_input(key="text.k").set_value(2).run())  # two of three, best first
    index = load_index(gallery_root / "gallery")
    space = [index.items.at[h.id, "rel_path"].rsplit("/", 1)[-1]
             for h in search(load_encoder(index.spec), index, Query.text("a ginger cat"), k=8)
             if index.items.at[h.id, "rel_path"].startswith("space/")]
    assert names(at) == space[:2]
    at = ok(at.number_input(key="text.k").set_value(8).run())
    at = ok(at.multiselect(key="text.f.folders").set_value([]).run())
    at = ok(at.date_input(key="text.f.dates").set_value((date(2020, 1, 1),
                                                         date(2021, 12, 31))).run())
    assert shown(at) == {"chelsea.jpg", "motorcycle.jpg"}
    at = ok(at.date_input(key="text.f.dates").set_value(()).run())
    at = ok(at.segmented_control(key="text.f.text").set_value("Without text").run())
    assert names(at) == ["rocket.jpg"]
    at = ok(at.segmented_control(key="text.f.text").set_value("Any").run())
    at = ok(at.number_input(key="text.f.min_w").set_value(900).run())
    assert names(at) == ["hubble.jpg"]
    at = ok(at.number_input(key="text.f.min_w").set_value(5000).run())
    assert names(at) == [] and "No image passes the filters" in texts(at.info)
    at = ok(at.number_input(key="text.f.min_w").set_value(0).run())
    assert at.multiselect(key="text.f.sources").options == ["cats", "kitchen", "nasa", "street"]
    at = ok(at.multiselect(key="text.f.sources").set_value(["kitchen", "street"]).run())
    assert shown(at) == {"coffee.jpg", "motorcycle.jpg"}


def test_cosine_cut_off_without_a_curve(start, gallery_root: Path) -> None:
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="8")
    index = load_index(gallery_root / "gallery")
    hits = search(load_encoder(index.spec), index, Query.text("a ginger cat"), k=8)
    between = round((hits[2].score + hits[3].score) / 2, 2)
    assert hits[3].score < between <= hits[2].score
    at = ok(at.slider(key="text.f.cut_cos").set_value(between).run())
    assert len(names(at)) == 3 and "5 below the cut-off hidden" in texts(at.caption)


def test_relevance_cut_off_with_a_curve(start, index_root: Path,
                                        captions_index_path: Path) -> None:
    at = start(index_root, "pages/text_search.py", q="a ginger cat", k="8", index="captions")
    assert at.slider(key="text.f.cut").label.startswith("Hide results below this relevance")
    index = load_index(captions_index_path)
    hits = search(load_encoder(index.spec), index, Query.text("a ginger cat"), k=8)
    probs = load_curves()["captions:minilm"]([h.score for h in hits]).tolist()
    at = ok(at.slider(key="text.f.cut").set_value(30).run())
    assert len(captions(at)) == strong_count(probs, 0.30) < 8
    assert all(int(c.split(" · ")[1].rstrip("%")) >= 30 for c in captions(at))


@pytest.fixture
def media(monkeypatch) -> list[MediaFileManager]:
    """The media managers AppTest makes for its runs, kept so a test can read a download."""
    made: list[MediaFileManager] = []

    class Kept(MediaFileManager):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Kept)
    return made


def download(media: list[MediaFileManager], button) -> bytes:
    mgr = media[-1]
    url = mgr.execute_deferred(button.proto.deferred_file_id) if button.proto.deferred_file_id \
        else button.proto.url
    return mgr._storage.get_file(url.rsplit("/", 1)[-1].split(".")[0]).content


def test_downloads_hold_the_shown_results(start, gallery_root: Path, media) -> None:
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="3")
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"CSV", "JSON", "Images (zip)"}
    rows = list(csv.DictReader(io.StringIO(download(media, buttons["CSV"]).decode("utf-8"))))
    assert [r["rel_path"].rsplit("/", 1)[-1] for r in rows] == names(at)
    assert rows[0]["texts"] and float(rows[0]["score"]) >= float(rows[1]["score"])
    with zipfile.ZipFile(io.BytesIO(download(media, buttons["Images (zip)"]))) as zf:
        assert zf.namelist() == [*names(at), "results.csv"]


def test_near_duplicates_on_home_and_as_a_badge(start, gallery_root: Path) -> None:
    at = start(gallery_root, "pages/home.py")
    label = next(e.label for e in at.expander if e.label.startswith("Near-duplicates"))
    assert label == "Near-duplicates: groups of look-alike images"
    assert not at.slider  # computed and drawn only once the expander is opened
    at.session_state["home.near.open"] = True
    at = ok(at.run())
    assert ("**1 group**: 1 image looks like another (their pixels at cosine ≥ 0.90)."
            in texts(at.markdown))
    assert texts(at.caption).count("Group ") == 1  # the cat and its resized copy, not the crop
    at = ok(at.switch_page("pages/text_search.py").run())
    at.number_input(key="text.k").set_value(3)
    at = ok(at.text_input(key="text.q").set_value("a ginger cat").run())
    badges = {n: c for n, c in zip(names(at), captions(at), strict=True)}
    assert badges["chelsea.jpg"].endswith("+1 near-duplicate")
    assert badges["cat_small.jpg"].endswith("+1 near-duplicate")
    assert "near-duplicate" not in badges["cat_tall.jpg"]
    at = ok(at.switch_page("pages/home.py").run())
    at.session_state["home.near.open"] = True
    at = ok(at.run())
    at = ok(at.segmented_control(key="near.source").set_value("embeddings").run())
    assert "**1 group**: 2 images look like another (their embeddings" in texts(at.markdown)
    assert at.slider(key="near.threshold").value == 0.97  # the embeddings' default
    at = ok(at.switch_page("pages/text_search.py").run())
    assert all(c.endswith("+2 near-duplicates") for c in captions(at)), captions(at)
    view = next(b for b in at.button if b.key and b.key.startswith("text.results.0."))
    at = ok(view.click().run())  # the detail dialog names the two others
    listed = next(m.value for m in at.markdown if str(m.value).startswith("**Near-duplicates"))
    assert listed.count("animals/") == 2


def test_filters_travel_in_the_link(start, gallery_root: Path) -> None:
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="8",
               orient="portrait|square", folder="animals|nowhere", mincos="0.1")
    assert names(at) == ["cat_tall.jpg"]  # an unknown folder in a link is dropped
    assert at.query_params["orient"] == "portrait|square"
    assert at.query_params["folder"] == "animals" and at.query_params["mincos"] == "0.1"
    assert not at.warning  # no "default value and Session State" clash
    at = ok(at.number_input(key="text.f.min_w").set_value(300).run())
    assert at.query_params["minw"] == "300"
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="8", text="no",
               **{"from": "2019-01-01", "to": "2019-12-31"})
    assert names(at) == [] and at.date_input(key="text.f.dates").value == (
        date(2019, 7, 20), date(2019, 12, 31))  # held within the dated images' range
    assert "No image passes the filters" in texts(at.info)  # the astronaut has a text


def test_remembered_choices_another_index_lacks_are_dropped(start, gallery_root: Path) -> None:
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="8")
    at.session_state["text.f.folders"] = ["animals", "only/in/another/index"]
    at = ok(at.run())  # (dates out of this index's range are clamped: see the link test)
    assert at.multiselect(key="text.f.folders").value == ["animals"]
    assert shown(at) == {"chelsea.jpg", "cat_small.jpg", "cat_tall.jpg"}


def test_an_index_built_before_dates_reads_them_only_when_asked(start, tmp_path: Path,
                                                                 gallery_root: Path) -> None:
    older = tmp_path / "indexes" / "older"
    shutil.copytree((gallery_root / "gallery").resolve(), older)
    items = pd.read_parquet(older / "items.parquet").drop(columns="taken")
    items.to_parquet(older / "items.parquet", index=False)  # as built before the column
    at = start(older.parent, "pages/text_search.py", q="a ginger cat", k="8")
    assert not at.date_input and len(names(at)) == 8
    at = ok(at.button(key="text.f.ask").click().run())
    at = ok(at.date_input(key="text.f.dates").set_value((date(2020, 1, 1),
                                                         date(2021, 12, 31))).run())
    assert shown(at) == {"chelsea.jpg", "motorcycle.jpg"}


def test_words_filter_only_where_the_build_read_them(start, tmp_path: Path,
                                                     gallery_root: Path) -> None:
    at = start(gallery_root, "pages/text_search.py", q="a ginger cat", k="8")
    assert not [c for c in at.segmented_control if c.key == "text.f.ocr"]
    read = tmp_path / "indexes" / "read"
    shutil.copytree((gallery_root / "gallery").resolve(), read)
    items = pd.read_parquet(read / "items.parquet")
    items["ocr_text"] = ["STOP" if p.endswith("rocket.jpg") else "" for p in items["rel_path"]]
    items.to_parquet(read / "items.parquet", index=False)  # as `build --ocr` leaves it
    manifest = json.loads((read / "manifest.json").read_text())
    (read / "manifest.json").write_text(json.dumps({**manifest, "ocr": {"images_with_text": 1}}))
    at = start(read.parent, "pages/text_search.py", q="a ginger cat", k="8", words="yes")
    assert names(at) == ["rocket.jpg"] and at.segmented_control(key="text.f.ocr").value == (
        "Shows words")


def test_neighbours_take_the_same_filters_and_keep_them_in_the_link(start,
                                                                    gallery_root: Path) -> None:
    index = load_index(gallery_root / "gallery")
    cat = list(index.items["rel_path"]).index("animals/chelsea.jpg")
    order = [index.items.at[h.id, "rel_path"].rsplit("/", 1)[-1]
             for h in search(None, index, Query.image_id(cat), k=7)]
    at = start(gallery_root, "pages/neighbours.py", id=str(cat), k="7")
    assert names(at) == order and "filtered" not in texts(at.markdown)
    at = ok(at.multiselect(key="neighbours.f.folders").set_value(["space"]).run())
    assert names(at) == [n for n in order if n in {"astronaut.jpg", "rocket.jpg", "hubble.jpg"}]
    assert "filtered: folder space" in texts(at.markdown)
    assert at.query_params["folder"] == "space" and at.query_params["id"] == str(cat)
    at = ok(at.multiselect(key="neighbours.f.folders").set_value([]).run())
    at = ok(at.multiselect(key="neighbours.f.orient").set_value(["portrait"]).run())
    assert names(at) == ["cat_tall.jpg"]
    at = ok(at.number_input(key="neighbours.f.min_w").set_value(5000).run())
    assert names(at) == [] and "No image passes the filters" in texts(at.info)
    at = start(gallery_root, "pages/neighbours.py", id=str(cat), k="7", source="nasa",
               text="no")  # a shared link restores them
    assert names(at) == ["rocket.jpg"]
    assert at.multiselect(key="neighbours.f.sources").value == ["nasa"]
