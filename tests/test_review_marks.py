"""The review's marks file: a round trip, and one clear error for each way it can be wrong."""

from __future__ import annotations

import json

import pytest

from core.errors import UserError
from core.eval.review_marks import MAX_MARKS, marks_json, read_marks

H1, H2 = "a" * 40, "0123456789abcdef0123456789abcdef01234567"


def doc(marks: list, **extra) -> str:
    return json.dumps({"format": "imgsearch-review-marks", "version": 1, "marks": marks,
                       **extra})


def test_round_trip() -> None:
    marks = {("text:a cat", H1): True, (f"image:{H2}", H1): False}
    assert read_marks(marks_json(marks)) == marks
    assert read_marks(marks_json({})) == {}


@pytest.mark.parametrize(("text", "message"), [
    ("{", "invalid JSON"),
    (json.dumps({"format": "other", "version": 1, "marks": []}), "missing the"),
    (json.dumps({"format": "imgsearch-review-marks", "version": 2, "marks": []}), "version 2"),
    (doc([], index="demo"), "Unknown field 'index'"),
    (json.dumps({"format": "imgsearch-review-marks", "version": 1, "marks": {}}), "a list"),
    (doc([{"query": "text:a", "hash": H1}]), "Bad mark 1: expected exactly"),
    (doc([{"query": "a cat", "hash": H1, "relevant": True}]), "Bad query in mark 1"),
    (doc([{"query": "image:xyz", "hash": H1, "relevant": True}]), "Bad query in mark 1"),
    (doc([{"query": "text:a", "hash": "ABC", "relevant": True}]), "Bad hash in mark 1"),
    (doc([{"query": "text:a", "hash": H1, "relevant": 1}]), "Bad 'relevant' in mark 1"),
    (doc([{"query": "text:a", "hash": H1, "relevant": True},
          {"query": "text:a", "hash": H1, "relevant": False}]), "Mark 2 repeats"),
    (doc([{"query": "text:a", "hash": H1, "relevant": True}] * (MAX_MARKS + 1)),
     "at most 20000"),
])
def test_each_problem_is_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        read_marks(text)
