"""The photo benchmark's evaluation path on a tiny real gallery (bundled photos, real models)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import UserError
from core.eval.photo_queries import load_queries, split_queries
from core.eval.photos import photo_eval
from core.eval.report import to_markdown

QUERIES = {"a ginger cat": ["chelsea.jpg"], "a cup of coffee": ["coffee.jpg"],
           "a woman in a spacesuit": ["astronaut.jpg"], "a rocket lifting off": ["rocket.jpg"],
           "a parked motorbike": ["motorcycle.jpg"], "a pagoda among trees": ["china.jpg"],
           "an orange blossom": ["flower.jpg"], "galaxies in deep space": ["hubble.jpg"],
           "a pet or a drink": ["chelsea.jpg", "coffee.jpg"]}


@pytest.fixture(scope="module")
def query_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("q") / "queries.jsonl"
    path.write_text("".join(json.dumps({"query": q, "relevant": r}) + "\n"
                            for q, r in QUERIES.items()))
    return path


def test_every_variant_is_scored_over_the_whole_gallery(photo_dir, query_file) -> None:
    split = next(s for s in ("test", "dev") if split_queries(load_queries(query_file), s))
    section = photo_eval(photo_dir, ["captions:minilm", "conse:lite0,prompt=definition"],
                         split, query_file, resamples=50)
    n_q = len(split_queries(load_queries(query_file), split))
    assert section["n_images"] == 8 and section["n_text_queries"] == n_q
    rows = {r["family"]: r for r in section["rows"]}
    assert set(rows) == {"random", "captions", "conse"}
    assert rows["random"]["t2i"]["R@1"] < 0.4  # 8 candidates: at most 2 relevant
    for fam in ("captions", "conse"):
        t2i = rows[fam]["t2i"]
        assert t2i["n_queries"] == n_q and t2i["R@10"] == 1.0  # 8 photos: all in the top 10
        assert t2i["R@1"] > rows["random"]["t2i"]["R@1"]
        lo, hi = t2i["ci"]["R@1"]
        assert lo <= t2i["R@1"] <= hi
    assert rows["conse"]["i2t"] is None
    assert section["comparisons"][0]["b"] == "captions:minilm"
    assert f"photos — {split} split: 8 images, {n_q} queries" in to_markdown({"sets": [section]})


def test_a_key_missing_from_the_gallery_is_one_clear_error(photo_dir, tmp_path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"query": "a dog", "relevant": ["dog.jpg"]}) + "\n")
    with pytest.raises(UserError, match="not in .*gallery"):
        photo_eval(photo_dir, ["captions:minilm"], "dev", path, resamples=10)


def test_the_hybrid_is_scored_from_the_gallery_texts_and_pixels(photo_dir, query_file) -> None:
    split = next(s for s in ("test", "dev") if split_queries(load_queries(query_file), s))
    section = photo_eval(photo_dir, ["conse:lite0", "hybrid:conse:lite0"], split, query_file,
                         resamples=50)
    rows = {r["family"]: r for r in section["rows"]}
    hybrid, conse = rows["hybrid"]["t2i"], rows["conse"]["t2i"]
    assert rows["hybrid"]["model"].startswith("hybrid (conse:lite0") and "text=0.5" in rows[
        "hybrid"]["model"]
    assert hybrid["R@1"] > rows["random"]["t2i"]["R@1"]
    assert hybrid["R@1"] >= conse["R@1"]  # the captions are what the queries paraphrase
    assert section["comparisons"][0]["a"].startswith("hybrid:conse:lite0")
