"""AppTest smoke tests of the Evaluation and Image-to-text pages on real small data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from captioned_sets import tiny_report, tiny_set_dir
from conftest import bundled_photos
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("warm_server")  # see conftest.warm_server

APP = str(Path(__file__).resolve().parents[1] / "streamlit_app.py")


@pytest.fixture
def app_env(monkeypatch, index_root, tmp_path):
    report = tmp_path / "evaluation.json"
    report.write_text(json.dumps(tiny_report()))
    monkeypatch.setenv("IMAGE_SEARCH_INDEXES", str(index_root))
    monkeypatch.setenv("IMAGE_SEARCH_SETS", str(tiny_set_dir().parent))
    monkeypatch.setenv("IMAGE_SEARCH_REPORT", str(report))
    return report


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.switch_page(page)
    at.run()
    assert not at.exception, at.exception
    return at


def test_evaluation_page(app_env) -> None:
    at = open_page("pages/evaluation.py")
    assert at.title[0].value == "Evaluation"
    assert "not comparable" in at.warning[0].value
    assert [t.label for t in at.tabs] == ["tiny"]
    table = at.dataframe[0].value
    assert list(table["model"])[:2] == ["random", "captions (minilm)"]
    assert (table.loc[table["model"] == "captions (minilm)", "t2i R@1"] == "n/a").all()
    assert "Two-branch training" in [s.value for s in at.subheader]
    at.segmented_control[0].set_value("i2t").run()
    assert not at.exception


def test_evaluation_draws_only_the_open_set(app_env) -> None:
    report = json.loads(app_env.read_text())
    second = {**report["sets"][0], "name": "tiny-again", "n_images": 999}
    app_env.write_text(json.dumps({**report, "sets": [report["sets"][0], second]}))
    at = open_page("pages/evaluation.py")
    assert [t.label for t in at.tabs] == ["tiny", "tiny-again"]
    assert len(at.dataframe) == 1 and "999 images" not in " ".join(m.value for m in at.markdown)
    at.session_state["ev.set"] = "tiny-again"  # a click on its tab: a rerun
    at.run()
    assert not at.exception and len(at.dataframe) == 1
    assert "999 images" in " ".join(m.value for m in at.markdown)


def test_evaluation_page_without_report(app_env) -> None:
    app_env.unlink()
    at = open_page("pages/evaluation.py")
    assert "no evaluation report" in at.info[0].value
    assert "python -m core evaluate" in at.code[0].value


def test_image_to_text_page(app_env) -> None:
    at = open_page("pages/image_to_text.py")
    assert at.title[0].value == "Image to text"
    assert at.selectbox(key="i2t.set").value == "tiny"
    at.number_input(key="i2t.id").set_value(1).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 10 and list(table["#"]) == list(range(1, 11))
    assert table["score"].is_monotonic_decreasing
    seen = set()
    for _ in range(6):  # the random pick moves between the 8 images and the table follows it
        at.button(key="i2t.random").click().run()
        assert not at.exception and len(at.dataframe[0].value) == 10
        seen.add(at.number_input(key="i2t.id").value)
    assert len(seen) >= 2 and seen <= set(range(8)), seen
    at.radio(key="i2t.split").set_value("test split only").run()
    assert not at.exception and len(at.dataframe[0].value) == 10
    at.radio(key="i2t.source").set_value("Upload an image").run()
    assert not at.exception and not at.dataframe
    assert "Upload a photo or drawing." in [i.value for i in at.info]
    at.file_uploader(key="i2t.upload").set_value(("notes.jpg", b"not an image", "image/jpeg"))
    at.run()
    assert not at.exception and not at.dataframe
    assert any("notes.jpg" in e.value and "cannot be used" in e.value for e in at.error)
    buf = io.BytesIO()
    bundled_photos()["coffee"].save(buf, "PNG")
    at.file_uploader(key="i2t.upload").set_value(("coffee.png", buf.getvalue(), "image/png"))
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert len(table) == 10 and table["score"].is_monotonic_decreasing


def test_image_to_text_opens_on_all_sets(monkeypatch, index_root, tmp_path, conse_index_path
                                         ) -> None:
    """Two real sets, the food one first by name: a cat photo must not be described from it.
    The page opens on all sets together and the cat's caption comes from the animal set."""
    from captioned_sets import make_captioned_set

    from core.index.store import load_index
    from core.query.describe import ALL_SETS

    make_captioned_set(tmp_path / "sets" / "a_food", variants=2, names=["coffee"])
    make_captioned_set(tmp_path / "sets" / "animals", variants=2, names=["chelsea", "rocket"])
    monkeypatch.setenv("IMAGE_SEARCH_INDEXES", str(index_root))
    monkeypatch.setenv("IMAGE_SEARCH_SETS", str(tmp_path / "sets"))
    cat = list(load_index(conse_index_path).items["rel_path"]).index("chelsea.jpg")
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"index": "conse"})
    at.switch_page("pages/image_to_text.py").run()
    assert at.selectbox(key="i2t.set").value == ALL_SETS
    assert at.selectbox(key="i2t.set").options == [ALL_SETS, "a_food", "animals"]
    at.number_input(key="i2t.id").set_value(cat).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert set(table["set"]) == {"a_food", "animals"}  # both sets ranked together
    assert table.iloc[0]["caption"] == "a ginger cat" and table.iloc[0]["set"] == "animals"
    at.selectbox(key="i2t.set").set_value("a_food").run()  # one set can still be picked
    assert "set" not in at.dataframe[0].value.columns
