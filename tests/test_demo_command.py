"""`python -m core demo` on a small offline subset: the gallery's texts reach its indexes, and a
second run finds everything in place."""

from __future__ import annotations

import argparse
from pathlib import Path

from core.cli.demo import cmd_demo
from core.demo.assemble import assemble
from core.encoders.registry import load_encoder
from core.index.store import load_index
from core.query.search import Query, search


def _args(tmp: Path) -> argparse.Namespace:
    return argparse.Namespace(data=str(tmp / "data"), indexes=str(tmp / "indexes"),
                              model_dir=str(tmp / "models" / "twobranch"), limit=None,
                              refresh_assets=False, retrain=False, rebuild=False, no_train=True)


def test_demo_indexes_carry_the_gallery_texts(tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    assemble(data, sources=["skimage", "sklearn"], log=lambda _: None, workers=1)
    assert cmd_demo(_args(tmp_path)) == 0
    names = sorted(p.name for p in (tmp_path / "indexes").iterdir() if not p.name.startswith("."))
    assert names == ["demo-captions", "demo-conse", "demo-efficientnet", "demo-hybrid"]  # no head

    index = load_index(tmp_path / "indexes" / "demo-captions")
    by_file = {Path(p).name: list(t) for p, t in zip(index.items["path"], index.items["texts"],
                                                     strict=True)}
    coffee = next(name for name in by_file if "coffee" in name)
    assert any("coffee" in t.lower() for t in by_file[coffee])
    # the gallery text is what the captions index searches: its own words find it first
    hits = search(load_encoder(index.spec), index, Query.text(by_file[coffee][0]), k=1)
    assert Path(index.items.at[hits[0].id, "path"]).name == coffee

    # what a fresh server's first pages need is stored with each index (core.demo.caches)
    assert (index.files / "cache" / "kmeans-k6.npz").is_file()
    assert (index.files / "cache" / "map-PCA-56.npz").is_file()

    capsys.readouterr()
    assert cmd_demo(_args(tmp_path)) == 0  # second run: assets and indexes found, nothing rebuilt
    err = capsys.readouterr().err
    assert "demo assets: found" in err and err.count(": found") >= 4
    assert err.count(": cache complete") == 4  # and their caches: nothing computed again


def test_a_demo_index_of_an_older_default_model_is_rebuilt(tmp_path: Path, capsys,
                                                           monkeypatch) -> None:
    """When the demo's spec for an index changes (a better default), the next run rebuilds that
    index instead of calling the old one found."""
    import core.cli.demo as demo

    assemble(tmp_path / "data", sources=["sklearn"], log=lambda _: None, workers=1)
    monkeypatch.setattr(demo, "DEMO_VARIANTS", {"demo-conse": "conse:lite0"})
    assert cmd_demo(_args(tmp_path)) == 0
    assert load_index(tmp_path / "indexes" / "demo-conse").spec.startswith("conse:lite0,top=10")
    monkeypatch.setattr(demo, "DEMO_VARIANTS", {"demo-conse": demo.IMAGE_ONLY})
    capsys.readouterr()
    assert cmd_demo(_args(tmp_path)) == 0
    assert "the demo now uses another model" in capsys.readouterr().err
    index = load_index(tmp_path / "indexes" / "demo-conse")
    assert "prompt=definition" in index.spec and "view=multi" in index.spec
    assert "top=20" in index.spec and index.spec.endswith(",power=0.5")
