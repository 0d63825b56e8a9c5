"""Navigation in the app (AppTest, the real test indexes): the neighbours picker closes after
"Use", a Compare link naming an unknown index says so and keeps its query, "this index cannot"
messages name the indexes that exist (the default first), and the index is picked only in the
sidebar. The browser side (Back, phone layout) is tests/test_browser_layout.py."""

from __future__ import annotations

import pytest
from test_app import captions, ok, texts

pytestmark = pytest.mark.usefixtures("warm_server")  # see conftest.warm_server



def test_use_in_the_picker_closes_it_and_shows_the_query(start) -> None:
    at = start("pages/neighbours.py", id="0", k="3")
    picker = at.expander[0]
    assert picker.label == "Pick an image from the collection"
    at.session_state["nb.picker"] = True  # the visitor opens the picker
    at = ok(at.run())
    use = [b for b in at.button if (b.key or "").startswith("nb.browse.")]
    assert len(use) == 8  # the 8 test photos on the first page of the picker
    chosen = int(use[5].key.rsplit(".", 1)[1])
    at = ok(use[5].click().run())
    assert at.session_state["nb.picker"] is False  # closed: its thumbnails are gone
    assert not [b for b in at.button if (b.key or "").startswith("nb.browse.")]
    assert at.number_input(key="nb.id").value == chosen
    assert f"Image {chosen} · " in " ".join(c.value for c in at.caption)  # the query, shown
    assert len([b for b in at.button if (b.key or "").startswith("nb.results.")]) == 3


def test_compare_link_with_an_unknown_index_warns_and_keeps_the_query(start) -> None:
    at = start("pages/compare.py", q="a cup of coffee", k="3", **{"with": "conse,nope"})
    assert "'nope', which is not an index here" in texts(at.warning)
    chosen = at.multiselect(key="cmp.with").value
    assert chosen[0] == "conse" and len(chosen) >= 2  # the good one, with the next ones
    assert at.text_input(key="cmp.q").value == "a cup of coffee"
    assert len(captions(at)) == 6  # it ran: conse and captions answer (efficientnet: images)
    assert at.query_params["q"] in ("a cup of coffee", ["a cup of coffee"])  # kept in the link


def test_cannot_messages_name_the_indexes_here(start) -> None:
    at = start("pages/text_search.py", index="efficientnet")
    message = texts(at.info)
    assert "images only" in message and "OpenCLIP" not in message
    assert "**conse** (the default)" in message and "**captions**" in message
    assert "**efficientnet**" not in message.split("sidebar:", 1)[1]
    at = start("pages/neighbours.py", index="captions")
    at = ok(at.radio(key="nb.source").set_value("Upload an image").run())
    message = texts(at.info)
    assert "cannot take an uploaded image" in message and "OpenCLIP" not in message
    assert "**conse** (the default) or **efficientnet**" in message


def test_index_is_picked_only_in_the_sidebar(start) -> None:
    at = start("pages/home.py", index="captions")
    assert [s.key for s in at.selectbox] == ["app.index"]
    assert not at.radio
    assert "Searching **captions**" in texts(at.markdown)
