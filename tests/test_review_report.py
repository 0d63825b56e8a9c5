"""`python -m core review` writes one self-contained report holding every query and variant,
with figures equal to a brute-force computation from the marks file it was given."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import PHOTO_TEXTS
from test_review import brute, true_marks

from core.cli import main
from core.cli.review import DirectSearcher, index_entry
from core.eval import query_set
from core.eval.review import run_review
from core.eval.review_marks import marks_json
from core.index.store import load_index

K = 10


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, conse_index_path, captions_index_path, efficientnet_index_path):
    """A .jsonl query set (texts and one gallery id), the marks a reviewer would have made,
    and the review the CLI should reproduce."""
    folder = tmp_path_factory.mktemp("review")
    paths = [str(p) for p in (conse_index_path, captions_index_path, efficientnet_index_path)]
    rows = [{"text": t} for t in PHOTO_TEXTS.values()] + [{"image_id": 0}]
    (folder / "q.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    entries = [index_entry(p) for p in paths]
    indexes = {e.name: load_index(e.path) for e in entries}
    queries = query_set.resolve(query_set.read_file(folder / "q.jsonl"), indexes["conse"])
    review = run_review([(e, indexes[e.name]) for e in entries], queries, K,
                        DirectSearcher(indexes))
    marks = true_marks(review, indexes)
    (folder / "marks.json").write_text(marks_json(marks))
    return folder, paths, review, marks


def test_cli_report_holds_every_query_and_variant_with_brute_force_metrics(inputs) -> None:
    folder, paths, review, marks = inputs
    out, md = folder / "report.html", folder / "report.md"
    assert main(["review", "--queries", str(folder / "q.jsonl"), "--indexes", *paths,
                 "--marks", str(folder / "marks.json"), "--k", str(K), "--out", str(out),
                 "--markdown", str(md), "--bootstrap", "200"]) == 0
    page = out.read_text(encoding="utf-8")
    assert len(page.encode()) < 300_000  # 8 images, inlined once each
    assert "<link" not in page and 'src="http' not in page and "url(http" not in page
    assert page.count("data:image/jpeg;base64,") == 8  # each photo once, whatever shows it
    sections = re.findall(r'<section id="q\d+" data-query="([^"]*)">(.*?)</section>', page, re.S)
    assert [html.unescape(key) for key, _ in sections] == [q.key for q in review.queries]
    for (_, body), q in zip(sections, review.queries, strict=True):
        for v in review.variants:
            row = re.search(rf'<div class="row" data-variant="{v}">(.*?)</div>\n|'
                            rf'<div class="row" data-variant="{v}">(.*?)$', body, re.S)
            assert row, (q.key, v)
            shown = review.shown(q.key, v)
            assert body.count(f'data-variant="{v}"') == 1
            if shown is not None:
                tiles = re.findall(r'class="t (rel|irr|unm) ', row.group(0))
                expected = [{True: "rel", False: "irr", None: "unm"}[marks.get((q.key, r.hash))]
                            for r in shown]
                assert tiles == expected
    data = json.loads(re.search(r'<script type="application/json" id="review-data">(.*?)'
                                r"</script>", page, re.S).group(1))
    assert data["variants"] == review.variants and data["k"] == K
    assert len(data["marks"]["marks"]) == len(marks)
    for v in review.variants:
        answered = [q.key for q in review.queries if review.shown(q.key, v) is not None]
        figures = [brute(review, marks, v, q) for q in answered]
        assert data["metrics"][v]["queries"] == len(answered)
        assert data["metrics"][v]["unmarked"] == sum(f["unmarked"] for f in figures)
        table_row = re.search(rf'<tr data-variant="{v}">(.*?)</tr>', page, re.S).group(1)
        for name in ("success@1", "success@5", "success@10", "P@k", "nDCG@k"):
            mean = float(np.mean([f[name] for f in figures]))
            assert data["metrics"][v][name] == pytest.approx(mean)
            cell = re.search(rf'data-metric="{re.escape(name)}">([^<]*)<', table_row).group(1)
            assert cell == f"{mean:.3f}"
        for q, f in zip(answered, figures, strict=True):
            assert data["per_query"][v][q] == pytest.approx(f)
    assert len(data["pairs"]) == 3
    summary = md.read_text(encoding="utf-8")
    assert all(q.label in summary for q in review.queries)
    assert all(f"| {v} | " in summary for v in review.variants)


def test_cli_refuses_bad_input_with_one_line(inputs, tmp_path, capsys) -> None:
    folder, paths, _, _ = inputs
    bad = tmp_path / "marks.json"
    bad.write_text('{"format": "imgsearch-review-marks", "version": 1, "marks": [1]}')
    args = ["review", "--queries", str(folder / "q.jsonl"), "--out", str(tmp_path / "r.html")]
    assert main([*args, "--indexes", *paths, "--marks", str(bad)]) == 2
    assert "Bad mark 1" in capsys.readouterr().err
    assert main([*args, "--indexes", str(tmp_path)]) == 2
    assert "not an index folder" in capsys.readouterr().err
    assert main([*args, "--indexes", *(paths * 3)]) == 2
    assert "1 to 6" in capsys.readouterr().err
    assert not (tmp_path / "r.html").exists()


def test_report_without_marks_says_everything_is_unmarked(inputs, tmp_path: Path) -> None:
    folder, paths, review, _ = inputs
    out = tmp_path / "r.html"
    assert main(["review", "--queries", str(folder / "q.jsonl"), "--indexes", paths[0],
                 "--out", str(out), "-k", "3"]) == 0
    page = out.read_text(encoding="utf-8")
    assert f"{len(review.queries) * 3} of {len(review.queries) * 3} results are still unmarked" \
        in page


def test_image_files_are_queries_too(tmp_path: Path, photos, conse_index_path,
                                     captions_index_path) -> None:
    """An image file in the query set is embedded by each index's model; a byte copy of a
    gallery photo is the same query as its gallery id (one key, its marks shared); an index
    that cannot take images says why; the report shows the new photo's own tile."""
    photos["chelsea"].convert("RGB").resize((160, 120)).rotate(8).save(tmp_path / "my cat.jpg")
    conse = load_index(conse_index_path)
    copy_of = str(conse.items.at[3, "path"])
    (tmp_path / "copy.jpg").write_bytes(Path(copy_of).read_bytes())
    rows = [{"image_file": "my cat.jpg"}, {"image_file": str(tmp_path / "copy.jpg")},
            {"image_id": 3}]
    (tmp_path / "q.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    queries = query_set.resolve(query_set.read_file(tmp_path / "q.jsonl"), conse,
                                base=tmp_path)
    assert [q.label for q in queries] == ["image my cat.jpg", "image copy.jpg"]
    assert queries[1].key == f"image:{conse.items.at[3, 'hash']}"  # the id query folded in
    entries = [index_entry(str(p)) for p in (conse_index_path, captions_index_path)]
    indexes = {e.name: load_index(e.path) for e in entries}
    review = run_review([(e, indexes[e.name]) for e in entries], queries, 3,
                        DirectSearcher(indexes))
    top = review.shown(queries[0].key, "conse")
    assert top is not None and "chelsea" in str(conse.items.at[top[0].id, "path"])
    assert review.shown(queries[0].key, "captions") is None
    assert "image" in review.problems[queries[0].key]["captions"]
    out = tmp_path / "r.html"
    assert main(["review", "--queries", str(tmp_path / "q.jsonl"), "--indexes",
                 str(conse_index_path), "--out", str(out), "-k", "3"]) == 0
    page = out.read_text(encoding="utf-8")
    assert page.count("<section ") == 2 and "image my cat.jpg" in page


def test_a_bad_image_file_query_is_one_clear_line(tmp_path: Path, conse_index_path) -> None:
    (tmp_path / "q.jsonl").write_text('{"image_file": "missing.jpg"}\n{"image_file": "t.txt"}\n')
    (tmp_path / "t.txt").write_text("not an image")
    conse = load_index(conse_index_path)
    specs = query_set.read_file(tmp_path / "q.jsonl")
    with pytest.raises(query_set.UserError, match="image query missing.jpg"):
        query_set.resolve(specs[:1], conse, base=tmp_path)
    with pytest.raises(query_set.UserError, match="image query t.txt: not an image"):
        query_set.resolve(specs[1:], conse, base=tmp_path)
