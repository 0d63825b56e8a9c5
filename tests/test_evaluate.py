"""Evaluation on a tiny real set: a model trained for 2 epochs, ConSE, random, fused; reports;
Karpathy-format files; the command line."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from captioned_sets import feature_cache, tiny_report, tiny_set_dir, trained_model_dir

from core.cli import main
from core.cli.evaluate import run_evaluation, set_eval_sets
from core.encoders.registry import load_encoder
from core.errors import UserError
from core.eval.evaluate import CAPTIONS_NA, NOTE, bootstrap_ci, fused_scores, model_row
from core.eval.report import load_report, to_csv, to_markdown, to_text


@pytest.fixture(scope="module")
def report() -> dict:
    return tiny_report()


def rows(report: dict) -> dict[str, dict]:
    return {r["family"]: r for r in report["sets"][0]["rows"]}


def test_rows_and_acceptance_on_the_tiny_set(report) -> None:
    s = report["sets"][0]
    assert (s["name"], s["split"], s["n_images"], s["n_text_queries"]) == ("tiny", "test", 16, 16)
    r = rows(report)
    assert list(r) == ["random", "captions", "conse", "twobranch", "fused"]
    assert r["captions"]["status"] == "n/a" and r["captions"]["reason"] == CAPTIONS_NA
    for fam in ("conse", "twobranch", "fused"):
        for d in ("t2i", "i2t"):
            m = r[fam][d]
            assert 0 <= m["R@1"] <= m["R@5"] <= m["R@10"] <= 1 and m["median_rank"] >= 1
            lo, hi = m["ci"]["R@10"]
            assert lo <= m["R@10"] <= hi
    # the acceptance criterion, in miniature: trained head beats random on text->image R@10
    assert r["twobranch"]["t2i"]["R@5"] > r["random"]["t2i"]["R@5"]
    assert r["twobranch"]["t2i"]["R@1"] > r["conse"]["t2i"]["R@1"] - 0.3
    # 16 items and the default search_k visit every node: Annoy must return the exact top 10
    assert r["conse"]["annoy_recall@10"] == 1.0 and r["fused"]["annoy_recall@10"] is None
    assert report["training"][f"twobranch:{trained_model_dir()}"]["best_epoch"] in (1, 2)
    [cmp] = s["comparisons"]
    assert cmp["a"] == r["twobranch"]["spec"] and cmp["b"] == r["conse"]["spec"]
    diff = r["twobranch"]["t2i"]["R@10"] - r["conse"]["t2i"]["R@10"]
    assert cmp["difference"] == pytest.approx(diff)
    assert cmp["ci"][0] <= cmp["difference"] <= cmp["ci"][1]


def test_fused_scores_are_summed_per_query_z_scores() -> None:
    rng = np.random.default_rng(0)
    q1, g1 = rng.normal(size=(4, 5)), rng.normal(size=(7, 5))
    q2, g2 = rng.normal(size=(4, 3)), rng.normal(size=(7, 3))

    def z(s: np.ndarray) -> np.ndarray:
        return (s - s.mean(1, keepdims=True)) / s.std(1, keepdims=True)

    fq, fg = fused_scores([(q1, g1), (q2, g2)])
    assert np.allclose(fq @ fg.T, z(q1 @ g1.T) + z(q2 @ g2.T), atol=1e-4)


def test_bootstrap_interval() -> None:
    assert bootstrap_ci(np.ones(50)) == (1.0, 1.0)
    lo, hi = bootstrap_ci(np.arange(100) < 30, resamples=500)
    assert lo < 0.3 < hi and hi - lo < 0.25


def test_random_weights_are_labelled() -> None:
    es = set_eval_sets([str(tiny_set_dir())], limit=4, cache_dir=str(feature_cache()),
                       log=lambda _m: None)[0]
    row, _ = model_row(load_encoder("openclip:ViT-B-32@random"), es, resamples=50)
    assert row["random_weights"] and "random weights — not meaningful" in row["model"]
    row, _ = model_row(load_encoder("efficientnet:lite0"), es)
    assert row["status"] == "n/a" and "image-only" in row["reason"]


def test_reports(report, tmp_path) -> None:
    text, md = to_text(report), to_markdown(report)
    for out in (text, md):
        assert NOTE in out and "n/a" in out and "ConSE (lite0)" in out
    assert "| random |" in md and "[95% CI]" in md and "paired bootstrap" in md
    table = list(csv.DictReader(io.StringIO(to_csv(report))))
    assert [t["model"].split(" ")[0] for t in table] == ["random", "captions", "ConSE",
                                                         "two-branch", "fused"]
    assert float(table[3]["t2i_R@10_lo"]) <= float(table[3]["t2i_R@10"])
    path = tmp_path / "r.json"
    path.write_text(json.dumps(report))
    assert load_report(path)["sets"][0]["name"] == "tiny"
    with pytest.raises(UserError, match="no evaluation report"):
        load_report(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("[]")
    with pytest.raises(UserError, match="not an evaluation report"):
        load_report(tmp_path / "bad.json")


def _karpathy(tmp_path, n: int) -> tuple:
    """A Karpathy-format JSON whose test images are copies of the tiny set's images."""
    from core.ingest.sidecar import load_set

    cset = load_set(tiny_set_dir())
    images = []
    for i, (f, texts) in enumerate(zip(cset.files[:n], cset.texts[:n], strict=True)):
        images.append({"filename": f, "imgid": i, "split": "test" if i % 4 else "train",
                       "sentences": [{"raw": t, "tokens": t.split()} for t in texts]})
    path = tmp_path / "dataset_flickr30k.json"
    path.write_text(json.dumps({"images": images, "dataset": "flickr30k"}))
    return path, cset.root


def test_karpathy_and_command_line(tmp_path, capsys) -> None:
    path, root = _karpathy(tmp_path, 16)
    out = tmp_path / "reports"
    code = main(["evaluate", "--karpathy", str(path), "--images", str(root), "--models",
                 "conse:lite0", "--bootstrap", "50", "--cache", str(feature_cache()),
                 "--json", str(out / "e.json"), "--csv", str(out / "e.csv"),
                 "--markdown", str(out / "e.md")])
    assert code == 0
    assert "flickr30k-test-12" in capsys.readouterr().out
    saved = json.loads((out / "e.json").read_text())
    assert saved["sets"][0]["n_images"] == 12 and "Karpathy" in saved["sets"][0]["note"]
    assert (out / "e.md").read_text().startswith("## Retrieval evaluation")
    assert main(["evaluate", "--models", "conse:lite0"]) == 2
    assert main(["evaluate", "--karpathy", str(path)]) == 2


def test_coco_1k_folds_are_averaged(tmp_path) -> None:
    path, root = _karpathy(tmp_path, 24)  # 18 test images -> 3 folds of 6
    from core.cli.evaluate import karpathy_eval_sets

    [(name, folds)] = karpathy_eval_sets(str(path), str(root), coco_1k=True,
                                         cache_dir=str(feature_cache()), log=lambda _m: None,
                                         fold_size=6, n_folds=3)
    assert name == "flickr30k-test-1k-folds" and [f.n_images for f in folds] == [6, 6, 6]
    report = run_evaluation([], ["conse:lite0"], karpathy=str(path), images=str(root),
                            coco_1k=True, resamples=20, cache_dir=str(feature_cache()),
                            log=lambda _m: None, fold_size=6, n_folds=3)
    s = report["sets"][0]
    assert s["folds"] == 3 and s["n_images"] == 18
    conse = next(r for r in s["rows"] if r["family"] == "conse")
    lo, hi = conse["t2i"]["ci"]["R@1"]
    assert lo <= conse["t2i"]["R@1"] <= hi and "folds" in conse["t2i"]["ci_kind"]


def test_hybrid_is_n_a_on_a_caption_set_like_captions() -> None:
    """Its text part would embed the very captions queried (as the captions variant would)."""
    from core.eval.evaluate import HYBRID_NA

    es = set_eval_sets([str(tiny_set_dir())], limit=4, cache_dir=str(feature_cache()),
                       log=lambda _m: None)[0]
    row, emb = model_row(load_encoder("hybrid:conse:lite0"), es)
    assert row["status"] == "n/a" and row["reason"] == HYBRID_NA and emb == ()
