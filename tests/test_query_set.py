"""Query sets: text lines, JSON lines with image ids, the shipped demo set, and clear errors."""

from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.eval import query_set
from core.eval.query_set import QuerySpec
from core.index.store import load_index


def test_lines_skip_blanks_comments_and_repeats() -> None:
    specs = query_set.parse_lines("# a comment\n a  ginger   cat \n\na flower\na ginger cat\n")
    assert specs == [QuerySpec(text="a ginger cat"), QuerySpec(text="a flower")]


def test_jsonl_holds_texts_and_gallery_ids() -> None:
    text = '{"text": "a rocket"}\n\n{"image_id": 3}\n'
    assert query_set.parse_file("q.jsonl", text.encode()) == [QuerySpec(text="a rocket"),
                                                              QuerySpec(image_id=3)]


@pytest.mark.parametrize(("name", "data", "message"), [
    ("q.jsonl", b'{"text": "a", "image_id": 1}', "line 1: expected"),
    ("q.jsonl", b'{"text": "a"}\n{"image_id": -1}', "line 2: 'image_id'"),
    ("q.jsonl", b'{"image_id": true}', "'image_id' must be"),
    ("q.jsonl", b'{"text": "  "}', "non-empty"),
    ("q.jsonl", b"not json", "line 1: not JSON"),
    ("q.txt", b"\n# only a comment\n", "empty"),
    ("q.txt", b"x" * 501, "at most 500 characters"),
    ("q.txt", b"\xff\xfe", "not UTF-8"),
    ("q.csv", b"a cat", ".txt"),
    ("q.txt", "\n".join(f"query {i}" for i in range(201)).encode(), "at most 200"),
])
def test_each_problem_is_one_clear_error(name: str, data: bytes, message: str) -> None:
    with pytest.raises(UserError, match=message):
        query_set.parse_file(name, data)


def test_the_shipped_demo_set_has_thirty_queries() -> None:
    sets = query_set.shipped_sets()
    assert "demo-gallery" in sets
    specs = query_set.read_file(sets["demo-gallery"])
    assert len(specs) == 30 and all(s.text for s in specs)


def test_image_queries_are_keyed_by_content_hash(conse_index_path, tmp_path) -> None:
    index = load_index(conse_index_path)
    path = tmp_path / "q.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in
                              [{"image_id": 2}, {"text": "a cat"}, {"image_id": 2}]))
    queries = query_set.resolve(query_set.read_file(path), index)
    assert [q.key for q in queries] == [f"image:{index.items.at[2, 'hash']}", "text:a cat"]
    assert not queries[0].is_text and queries[1].is_text
    with pytest.raises(UserError, match="image id 99 is not in"):
        query_set.resolve([QuerySpec(image_id=99)], index)
