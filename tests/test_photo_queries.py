"""The photo benchmark's query file and its split by image (no images needed, except the last
test, which checks the keys against the demo gallery when it is there)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from core.errors import UserError
from core.eval.photo_queries import (
    QUERY_FILE,
    SPLITS,
    PhotoQuery,
    check_keys,
    image_splits,
    load_queries,
    split_queries,
)
from core.paths import data_dir


def test_the_committed_file_is_big_enough_and_natural() -> None:
    queries = load_queries()
    images = {k for q in queries for k in q.relevant}
    assert len(queries) >= 120 and len(images) >= 150
    assert not any(k.startswith("ifct/") for k in images)  # food is the ifct set's job
    for q in queries:  # a query is not a file name: no camelCase, underscores or extensions
        assert not re.search(r"[a-z][A-Z]|_|\.jpg", q.text), q.text
        stems = {Path(k).stem.lower() for k in q.relevant}
        assert q.text.lower() not in stems, q.text


def test_the_split_is_deterministic_disjoint_by_image_and_about_half() -> None:
    queries = load_queries()
    splits = image_splits(queries)
    assert splits == image_splits(load_queries())
    parts = {s: split_queries(queries, s) for s in SPLITS}
    images = {s: {k for q in parts[s] for k in q.relevant} for s in SPLITS}
    assert images["dev"].isdisjoint(images["test"])
    assert sum(len(p) for p in parts.values()) == len(queries)
    for q in queries:  # all of a query's images sit in one split
        assert len({splits[k] for k in q.relevant}) == 1
    for s in SPLITS:
        assert 0.35 < len(images[s]) / len(splits) < 0.65
        assert 0.35 < len(parts[s]) / len(queries) < 0.65


def test_images_sharing_a_query_share_a_split() -> None:
    queries = [PhotoQuery(f"q{i}", (f"a{i}.jpg", f"b{i}.jpg")) for i in range(40)]
    queries += [PhotoQuery(f"r{i}", (f"b{i}.jpg", f"c{i}.jpg")) for i in range(40)]
    splits = image_splits(queries)
    for i in range(40):
        assert splits[f"a{i}.jpg"] == splits[f"b{i}.jpg"] == splits[f"c{i}.jpg"]
    assert set(splits.values()) == set(SPLITS)  # 40 groups never all hash one way
    with pytest.raises(UserError, match="photo split"):
        split_queries(queries, "train")


@pytest.mark.parametrize("line, message", [
    ("not json", "not valid JSON"),
    ('{"query": "", "relevant": ["a.jpg"]}', "non-empty string"),
    ('{"query": "a cat", "relevant": []}', "non-empty list"),
    ('{"query": "a cat", "relevant": "a.jpg"}', "non-empty list"),
])
def test_malformed_lines_name_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"query": "a dog", "relevant": ["d.jpg"]}) + "\n" + line + "\n")
    with pytest.raises(UserError, match=rf"q.jsonl:2: .*{message}"):
        load_queries(path)


def test_duplicate_queries_and_unknown_keys_are_errors(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    row = json.dumps({"query": "A dog", "relevant": ["d.jpg"]})
    path.write_text(row + "\n" + row.replace("A dog", "a dog") + "\n")
    with pytest.raises(UserError, match="duplicate query"):
        load_queries(path)
    with pytest.raises(UserError, match="1 photo-query image"):
        check_keys([PhotoQuery("a dog", ("d.jpg",))], ["e.jpg"])


def test_every_key_is_a_gallery_photo_when_the_demo_data_is_here() -> None:
    sidecar = data_dir() / "gallery" / "captions.jsonl"
    if not sidecar.is_file():
        pytest.skip("no demo gallery (data/gallery): run python -m core demo to fetch it")
    files = [json.loads(line)["file"] for line in sidecar.read_text().splitlines() if line]
    check_keys(load_queries(QUERY_FILE), files)
