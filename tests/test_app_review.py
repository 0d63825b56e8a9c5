"""The Review variants page under AppTest on the small real indexes: load a query set, mark
results, and watch the live metrics move as the marks say they should."""

from __future__ import annotations

import math

import pytest
from test_app import APP, TIMEOUT, ok, texts

from core.eval.review_marks import marks_json
from core.index.catalogue import ENV_INDEXES
from core.index.store import load_index

pytestmark = pytest.mark.usefixtures("warm_server")  # see conftest.warm_server

PAGE = "pages/review.py"
K = 5


@pytest.fixture
def at(monkeypatch, index_root):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(ENV_INDEXES, str(index_root))
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params.update({"with": "conse,captions", "k": str(K)})
    app = ok(app.switch_page(PAGE).run())
    app.segmented_control(key="rev.source").set_value("typed")
    app = ok(app.run())
    return ok(app.text_area(key="rev.typed").set_value("a ginger cat\na cup of coffee").run())


def metrics(at) -> dict[str, dict]:
    frame = at.dataframe[0].value  # the metrics table comes first
    return {row["variant"]: row for row in frame.to_dict("records")}


def tiles(at) -> list[str]:
    """Result captions in render order: rank by rank, variants left to right."""
    return [c for image in at.image for c in image.captions if c.startswith("#")]


def test_marks_move_the_metrics(at, conse_index_path) -> None:
    start = metrics(at)
    assert set(start) == {"conse", "captions"}
    assert all(r["unmarked"] == 2 * K and r[f"nDCG@{K}"] == 0 for r in start.values())
    assert f"{4 * K} of {4 * K} results are unmarked" in texts(at.warning)
    shown = tiles(at)
    assert len(shown) == 2 * K  # query 1 of 2, two variants
    names = [c.split(" · ")[2] for c in shown]
    rank = {v: [n for n, _ in zip(names[c::2], range(K), strict=False)].index("chelsea.jpg")
            for c, v in enumerate(("conse", "captions"))}
    at = ok(at.button(key=f"rev.m.0.{rank['conse']}.1").click().run())  # chelsea relevant
    after = metrics(at)
    for v in ("conse", "captions"):  # one mark counts for both lists that show the image
        assert after[v]["unmarked"] == 2 * K - 1
        assert after[v][f"nDCG@{K}"] == pytest.approx(1 / math.log2(rank[v] + 2) / 2)
        assert after[v]["success@1"] == (0.5 if rank[v] == 0 else 0.0)
        assert after[v]["success@5"] == 0.5
    assert "chelsea.jpg · relevant" in " ".join(tiles(at))
    at = ok(at.button(key="rev.next").click().run())  # the coffee query
    assert "Query 2 of 2" in " ".join(m.value for m in at.markdown)
    at = ok(at.button(key="rev.key_n").click().run())  # key N: the framed result, not relevant
    moved = metrics(at)
    assert moved["conse"]["unmarked"] == 2 * K - 2
    assert moved["conse"][f"nDCG@{K}"] == after["conse"][f"nDCG@{K}"]
    at = ok(at.button(key="rev.prev").click().run())
    at = ok(at.button(key=f"rev.m.0.{rank['conse']}.1").click().run())  # a second click clears
    assert metrics(at)["conse"][f"nDCG@{K}"] == 0


def test_marks_file_round_trip_and_bad_file(at, conse_index_path) -> None:
    index = load_index(conse_index_path)
    chelsea = next(h for h, p in zip(index.items["hash"], index.items["rel_path"], strict=True)
                   if p == "chelsea.jpg")
    uploader = next(u for u in at.file_uploader if u.key.startswith("rev.marks_in"))
    uploader.set_value(("m.json", marks_json({("text:a ginger cat", chelsea): True}).encode(),
                        "application/json"))
    at = ok(at.run())
    assert "Loaded 1 marks" in texts(at.success)
    assert metrics(at)["conse"]["success@5"] == 0.5
    uploader = next(u for u in at.file_uploader if u.key.startswith("rev.marks_in"))
    uploader.set_value(("bad.json", b'{"format": "x"}', "application/json"))
    at = at.run()
    assert not at.exception and "Not a marks file" in texts(at.error)
    assert metrics(at)["conse"]["success@5"] == 0.5  # the session's marks are kept


def test_compact_view_and_shipped_set(monkeypatch, index_root) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(ENV_INDEXES, str(index_root))
    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app.query_params.update({"with": "conse,efficientnet,captions", "set": "demo-gallery",
                             "view": "compact", "k": "3"})
    at = ok(app.switch_page(PAGE).run())
    strips = [i for i in at.image if any(c.startswith("nDCG@3") for c in i.captions)]
    assert len(strips) == 30 * 2  # efficientnet takes no text queries: it says so instead
    assert "images only" in " ".join(c.value for c in at.caption)
    assert metrics(at)["efficientnet"]["queries"] == 0
    at = ok(at.button(key="rev.open.4").click().run())  # "Mark" opens that query
    assert at.segmented_control(key="rev.view").value == "full"
    assert "Query 5 of 30" in " ".join(m.value for m in at.markdown)
