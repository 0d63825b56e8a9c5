"""The Streamlit app run headless with AppTest against the small real indexes of conftest.py."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.encoders.base import RANDOM_WEIGHTS_WARNING
from core.encoders.registry import load_encoder
from core.index.catalogue import ENV_INDEXES
from core.index.store import load_index
from core.query.search import Query, search

pytestmark = pytest.mark.usefixtures("warm_server")  # see conftest.warm_server

APP = Path(__file__).resolve().parents[1] / "streamlit_app.py"
PAGES = {"pages/home.py": "Image search", "pages/text_search.py": "Text search",
         "pages/neighbours.py": "Image neighbours", "pages/compare.py": "Compare variants"}
TIMEOUT = 300  # the first text query loads the model


@pytest.fixture
def app(monkeypatch, index_root: Path):
    """A fresh simulated session of the app scanning the three test indexes."""
    monkeypatch.setenv(ENV_INDEXES, str(index_root))
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def results(at: AppTest) -> list[tuple[str, str]]:
    """(caption, alt text) of every result tile, in page order."""
    return [(img.caption, img.alt) for image in at.image for img in image.proto.imgs
            if img.caption.startswith(("#", "★", "◆"))]


def captions(at: AppTest) -> list[str]:
    return [c for c, _ in results(at)]


def names(at: AppTest) -> list[str]:
    """The file names of the results: the last part of each tile's alt text (the caption shows
    the image's description instead)."""
    return [alt.rsplit(" · ", 1)[-1] for _, alt in results(at)]


def texts(elements) -> str:
    return " ".join(str(e.value) for e in elements)


def test_every_page_renders(app: AppTest) -> None:
    at = ok(app.run())
    assert at.title[0].value == "Image search"
    assert at.selectbox(key="app.index").value == "conse"  # best text-capable one by default
    assert len(at.image) >= 8  # the sample grid
    for path, title in PAGES.items():
        ok(at.switch_page(path).run())
        assert at.title[0].value == title


def test_text_query_matches_core_search(app: AppTest, conse_index_path: Path) -> None:
    at = ok(app.run())
    at = ok(at.switch_page("pages/text_search.py").run())
    at.number_input(key="text.k").set_value(5)
    at = ok(at.text_input(key="text.q").set_value("a ginger cat").run())
    index = load_index(conse_index_path)
    hits = search(load_encoder(index.spec), index, Query.text("a ginger cat"), k=5)
    shown = captions(at)
    assert len(shown) == 5
    assert names(at) == [index.items.at[h.id, "rel_path"] for h in hits]
    # captions read the image's description, not its file name; conse:lite0 has no fitted
    # relevance curve, so ranks only: no raw cosine, no made-up probability
    assert shown == [f"#{r} · {index.items.at[h.id, 'texts'][0]}" for r, h in enumerate(hits, 1)]
    assert "ranks only" in texts(at.caption)
    assert at.query_params["q"] == "a ginger cat"
    assert at.query_params["k"] == "5" and at.query_params["index"] == "conse"


def test_shared_link_restores_the_search(app: AppTest) -> None:
    app.query_params.update({"q": "a flower", "k": "3", "index": "captions"})
    at = ok(app.switch_page("pages/text_search.py").run())
    assert at.selectbox(key="app.index").value == "captions"
    assert at.text_input(key="text.q").value == "a flower"
    shown = captions(at)
    assert len(shown) == 3 and names(at)[0] == "flower.jpg"


def test_bad_url_values_do_not_crash(app: AppTest) -> None:
    app.query_params.update({"index": "../../etc", "k": "99999", "like": "-4", "q": "x" * 2000})
    at = ok(app.switch_page("pages/text_search.py").run())
    assert at.selectbox(key="app.index").value == "conse"
    assert "not available" in texts(at.warning)
    assert at.number_input(key="text.k").value == 100
    assert at.number_input(key="text.like").value is None
    nb = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    nb.query_params.update({"id": "123456", "k": "abc"})
    nb = ok(nb.switch_page("pages/neighbours.py").run())
    assert nb.number_input(key="nb.id").value == 0


def test_no_index_screen(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ENV_INDEXES, str(tmp_path))
    at = ok(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    assert "No image index found" in texts(at.warning)
    assert any("python -m core demo" in c.value for c in at.code)
    assert any("python -m core build" in c.value for c in at.code)
    for path in PAGES:
        ok(at.switch_page(path).run())


def test_selection_is_shared_by_pages(app: AppTest) -> None:
    at = ok(app.run())
    at = ok(at.selectbox(key="app.index").set_value("efficientnet").run())
    at = ok(at.switch_page("pages/text_search.py").run())
    assert "images only" in texts(at.info)  # image-only index: clear message, no search box
    assert not at.text_input
    at = ok(at.switch_page("pages/home.py").run())
    assert not at.radio  # one picker, the sidebar's; Home says which index is current
    assert "Searching **efficientnet**" in texts(at.markdown)


def test_neighbours_chain_and_detail(app: AppTest, conse_index_path: Path) -> None:
    ids = {name: i for i, name in enumerate(load_index(conse_index_path).items["rel_path"])}
    app.query_params.update({"id": str(ids["chelsea.jpg"]), "k": "4"})
    at = ok(app.switch_page("pages/neighbours.py").run())
    first = names(at)
    assert len(first) == 4 and "chelsea.jpg" not in first
    target = ids[first[0]]
    at = ok(at.button(key=f"nb.results.0.{target}").click().run())  # chain: "Neighbours"
    assert at.number_input(key="nb.id").value == target
    assert first[0] not in names(at)
    at = ok(at.button(key="nb.query_detail").click().run())  # the detail dialog
    assert any(first[0] in m.value for m in at.markdown)
    at = ok(at.button(key="detail.similar").click().run())
    assert at.title[0].value == "Image neighbours"
    assert at.number_input(key="nb.id").value == target


def test_text_detail_adds_more_like_this(app: AppTest) -> None:
    app.query_params.update({"q": "a rocket", "k": "3"})
    at = ok(app.switch_page("pages/text_search.py").run())
    view = next(b for b in at.button if b.key and b.key.startswith("text.results.0."))
    chosen = int(view.key.rsplit(".", 1)[1])
    at = ok(view.click().run())
    at = ok(at.button(key="detail.more_like").click().run())
    assert at.number_input(key="text.like").value == chosen
    assert at.query_params["like"] == str(chosen)


def test_upload(app: AppTest, photos) -> None:
    at = ok(app.switch_page("pages/neighbours.py").run())
    at = ok(at.radio(key="nb.source").set_value("Upload an image").run())
    at.file_uploader(key="nb.upload").set_value(("notes.jpg", b"not an image", "image/jpeg"))
    at = at.run()
    assert not at.exception and "not an image" in texts(at.error)
    buf = io.BytesIO()
    photos["coffee"].save(buf, "PNG")
    at.file_uploader(key="nb.upload").set_value(("coffee.png", buf.getvalue(), "image/png"))
    at = ok(at.run())
    assert names(at)[0] == "coffee.jpg"


def test_upload_needs_an_image_model(app: AppTest) -> None:
    app.query_params.update({"index": "captions"})
    at = ok(app.switch_page("pages/neighbours.py").run())
    at = ok(at.radio(key="nb.source").set_value("Upload an image").run())
    assert "cannot take an uploaded image" in texts(at.info)
    assert not at.file_uploader


def test_compare_overlap(app: AppTest) -> None:
    app.query_params.update({"q": "a cup of coffee", "k": "4", "with": "conse,captions,nope"})
    at = ok(app.switch_page("pages/compare.py").run())
    assert at.multiselect(key="cmp.with").value == ["conse", "captions"]
    assert at.metric[0].label == "conse ∩ captions"
    assert len(captions(at)) == 8
    at = ok(at.radio(key="cmp.mode").set_value("Gallery image").run())
    assert len(at.metric) == 1 and len(captions(at)) == 8


def test_random_weight_index_is_flagged(monkeypatch, tmp_path: Path,
                                        conse_index_path: Path) -> None:
    """A copy of a real index whose manifest says random weights (as openclip:...@random does)."""
    copy = tmp_path / "root" / "random"
    shutil.copytree(conse_index_path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["encoder"]["random_weights"] = True
    (copy / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv(ENV_INDEXES, str(copy.parent))
    at = ok(AppTest.from_file(str(APP), default_timeout=TIMEOUT).run())
    assert RANDOM_WEIGHTS_WARNING in texts(at.warning)
    at = ok(at.switch_page("pages/text_search.py").run())
    at = ok(at.text_input(key="text.q").set_value("a cat").run())
    assert "Scores and rankings below are for testing" in texts(at.warning)  # above the results
    assert captions(at)


def test_compare_says_when_collections_differ(monkeypatch, tmp_path: Path, photos,
                                              conse_index_path: Path) -> None:
    from conftest import write_photo_folder

    from core.index.build import build_index

    some = write_photo_folder(tmp_path / "some", {n: photos[n] for n in ("chelsea", "coffee")})
    root = tmp_path / "root"
    build_index([some], "efficientnet:lite0", root / "small")
    (root / "conse").symlink_to(conse_index_path, target_is_directory=True)
    monkeypatch.setenv(ENV_INDEXES, str(root))
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update({"with": "conse,small"})
    at = ok(at.switch_page("pages/compare.py").run())
    at = ok(at.radio(key="cmp.mode").set_value("Gallery image").run())
    assert "do not cover the same images (2 in common" in texts(at.warning)
    assert not at.metric  # no overlap figures for different collections


def test_pages_folder_holds_only_registered_pages() -> None:
    """Every page file lives in pages/ and is registered; each calls leave_legacy_multipage()
    first, so Streamlit's old pages/ mode never runs a page without the entrypoint."""
    registered = set(re.findall(r'st\.Page\("(pages/[a-z_]+\.py)"', (APP).read_text()))
    files = {f"pages/{p.name}" for p in (APP.parent / "pages").glob("*.py")}
    assert files == registered
    for f in files:
        assert "leave_legacy_multipage()" in (APP.parent / f).read_text(), f
