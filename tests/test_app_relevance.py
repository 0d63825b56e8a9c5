"""Calibrated relevance in the app: the cut-off line, the "no strong match" state, the Compare
page without raw cosines, and the file name kept in the detail view (AppTest, real indexes).

The test `captions` index is built with `captions:minilm`, a spec with a committed curve; the
`conse` one with `conse:lite0`, which has none (ranks only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app import captions, names, ok, texts

from core.encoders.registry import load_encoder
from core.index.store import load_index
from core.query.calibration import THRESHOLD, load_curves, strong_count
from core.query.search import Query, search

pytestmark = pytest.mark.usefixtures("warm_server")



def test_curves_are_committed_for_the_test_spec() -> None:
    curves = load_curves()
    assert "captions:minilm" in curves and "conse:lite0" not in curves
    assert curves["captions:minilm"].slope > 0  # higher cosine, more likely relevant


def test_cut_off_line_at_the_calibrated_threshold(start, captions_index_path: Path) -> None:
    at = start("pages/text_search.py", q="a ginger cat", k="8", index="captions")
    index = load_index(captions_index_path)
    hits = search(load_encoder(index.spec), index, Query.text("a ginger cat"), k=8)
    probs = load_curves()["captions:minilm"]([h.score for h in hits])
    shown = captions(at)
    assert [c.split(" · ")[1] for c in shown] == [f"{p:.0%}" for p in probs]
    assert shown[0] == f"#1 · {probs[0]:.0%} · a ginger cat" and names(at)[0] == "chelsea.jpg"
    strong = strong_count(probs.tolist())
    assert 1 <= strong < 8 and probs[0] >= THRESHOLD
    assert len(at.divider) == 1 and "Below the line" in texts(at.caption)
    assert "No strong match" not in texts(at.warning)
    # the line sits after the strong results: their tiles come before the divider's caption
    blocks = [e for e in at.main if e.type in ("image", "caption")]
    line = next(n for n, e in enumerate(blocks) if "Below the line" in str(e.value))
    assert sum(1 for e in blocks[:line] if e.type == "image") == strong


@pytest.mark.parametrize("query", ["!!!???", "a red apple"])
def test_no_strong_match(start, query: str) -> None:
    at = start("pages/text_search.py", q=query, k="8", index="captions")
    assert "No strong match" in texts(at.warning)
    assert len(captions(at)) == 8  # the closest images are still there, below the line
    assert all(int(c.split(" · ")[1].rstrip("%")) < THRESHOLD * 100 for c in captions(at))


def test_mixed_query_is_not_calibrated(start) -> None:
    at = start("pages/text_search.py", q="a ginger cat", neg="a flower", k="4", index="captions")
    assert "ranks only" in texts(at.caption) and not at.divider
    assert all(len(c.split(" · ")) == 2 for c in captions(at))  # "#rank · description"


def test_compare_shows_relevance_or_ranks_never_raw_cosines(start) -> None:
    at = start("pages/compare.py", q="a cup of coffee", k="4", **{"with": "conse,captions"})
    shown = captions(at)
    assert len(shown) == 8
    conse, capt = shown[:4], shown[4:]
    assert all(len(c.split(" · ")) == 2 for c in conse)  # no curve: rank and description
    assert all(c.split(" · ")[1].endswith("%") for c in capt)
    assert not any("0." in part for c in shown for part in c.split(" · ")[:2])
    assert "No relevance curve for this model" in texts(at.caption)


def test_detail_view_keeps_the_file_name(start) -> None:
    at = start("pages/text_search.py", q="a rocket", k="3", index="captions")
    first = names(at)[0]
    assert first == "rocket.jpg" and "rocket.jpg" not in captions(at)[0]
    view = next(b for b in at.button if b.key and b.key.startswith("text.results.0."))
    at = ok(view.click().run())
    assert any(f"`{first}`" in m.value for m in at.markdown)
    assert "cosine" in texts(at.caption) and "likely relevant" in texts(at.caption)
