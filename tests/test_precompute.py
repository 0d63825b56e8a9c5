"""The index's cache of first-page results (core.index.cache, core.analysis.precompute,
core.demo.caches): written by the demo step, reused without computing, and ignored once the
index or the captions change. Real small data: the bundled photos and a captioned set."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from captioned_sets import make_captioned_set

from core.analysis import clusters_view as view
from core.analysis import explore, labels, maps, precompute
from core.demo.caches import warm_index
from core.encoders.registry import load_encoder
from core.eval import query_set
from core.index import cache
from core.index.store import load_index
from core.query import stored_texts
from core.query.captionbank import build_caption_bank, caption_bank_for, caption_bank_stored
from core.query.search import text_vectors

COMPUTED = ("kmeans", "k_sweep", "pca_2d", "tsne_2d")


def copy_index(src: Path, dest: Path) -> Path:
    """A private copy of a session index (its version's files), which this test may write into."""
    shutil.copytree(src.resolve(), dest, symlinks=False)
    return dest


def cached_setup(root: Path, conse_index_path: Path) -> tuple[Path, Path]:
    """(index copy with its cache written by the demo step, sets folder)."""
    sets = root / "sets"
    make_captioned_set(sets / "animals", variants=6, names=["chelsea", "rocket"])
    out = copy_index(conse_index_path, root / "indexes" / "conse")
    warm_index(load_index(out), sets, lambda _: None)
    return out, sets


def refuse(name: str) -> Callable[..., object]:
    def fail(*_a: object, **_k: object) -> object:
        raise AssertionError(f"{name} was computed although its result is stored")
    return fail


@pytest.fixture
def setup(tmp_path: Path, conse_index_path: Path) -> tuple[Path, Path]:
    return cached_setup(tmp_path, conse_index_path)


def test_demo_step_writes_every_first_page_result(setup, conse_index_path: Path) -> None:
    out, sets = setup
    index = load_index(out)
    names = sorted(p.name for p in (index.files / cache.FOLDER).iterdir())
    top = view.sweep_bounds(index.n, None)[0]
    assert names == sorted([
        "captionbank-animals-all.npz", "kmeans-k6.npz",
        "map-PCA-56.npz", "map-t-SNE-56.npz", "pca.npz", "summaries-k6.npz",
        f"sweep-2-{top}.npz", "text-vectors.npz", "tooltips.npz", "tsne.npz"]), names
    assert not list((index.files / cache.FOLDER).glob(".*"))  # no temp files left over
    # The stored results are the computed ones.
    fresh = explore.kmeans(index.embeddings, view.DEFAULT_K)
    stored = precompute.kmeans(index, view.DEFAULT_K)
    assert np.array_equal(stored.labels, fresh.labels) and stored.silhouette == fresh.silhouette
    assert np.allclose(precompute.pca(index).coords, explore.pca_2d(index.embeddings).coords)
    bank = caption_bank_for(index, sets / "animals", None, refuse("the model"))
    computed = build_caption_bank(load_encoder(index.spec), sets / "animals")
    assert bank.texts == computed.texts and bank.files == computed.files
    assert np.allclose(bank.vectors, computed.vectors, atol=1e-6)
    shipped = [q.text for q in query_set.read_file(query_set.SHIPPED / "demo-gallery.txt")]
    assert len(shipped) == 30
    vectors = stored_texts.text_vectors_for(index, shipped, refuse("the model"))
    assert np.array_equal(vectors, text_vectors(load_encoder(index.spec), index, shipped))
    # The session index the copy came from is untouched.
    assert not (conse_index_path.resolve() / cache.FOLDER).exists()


def test_stored_results_are_reused_without_computing(setup, monkeypatch) -> None:
    out, sets = setup
    index = load_index(out)
    for name in COMPUTED:
        monkeypatch.setattr(explore, name, refuse(name))
    monkeypatch.setattr(maps, "tooltip_urls", refuse("tooltip_urls"))
    monkeypatch.setattr(maps, "map_jpeg", refuse("map_jpeg"))
    assert warm_index(index, sets, lambda _: None) == []  # a second demo run: nothing to do
    computed = labels.summarise_clusters(index.embeddings, precompute.kmeans(index, view.DEFAULT_K),
                                         view.label_rows(index, np.arange(index.n)))
    monkeypatch.setattr(labels, "summarise_clusters", refuse("summarise_clusters"))
    result, summaries = view.fit_clusters(index, None, view.DEFAULT_K)
    assert summaries == computed and any(s.label for s in summaries)
    assert result.k == view.DEFAULT_K and sum(s.size for s in summaries) == index.n
    coords, ratio = view.fit_projection(index, None, tsne=True)
    assert coords.shape == (index.n, 2) and 0 < ratio[:2].sum() <= 1
    assert len(view.sweep_table(index, None, 2, view.sweep_bounds(index.n, None)[0])) > 0
    urls = precompute.tooltip_urls(index, [0, 1])
    assert all(u.startswith("data:image/jpeg;base64,") for u in urls)
    assert precompute.map_jpeg(index, np.arange(index.n), coords, precompute.DEFAULT_THUMB,
                               "t-SNE")[:2] == b"\xff\xd8"
    assert caption_bank_for(index, sets / "animals", None, refuse("the model")).texts
    with pytest.raises(AssertionError, match="the model"):  # a text not stored: encoded
        stored_texts.text_vectors_for(index, ["a ginger cat lying down", "a new query"],
                                      refuse("the model"))
    with pytest.raises(AssertionError, match="the model"):  # the test split is not stored
        caption_bank_for(index, sets / "animals", "test", refuse("the model"))
    with pytest.raises(AssertionError, match="kmeans"):  # another k is not stored: computed
        view.fit_clusters(index, None, 3)
    monkeypatch.setattr(precompute, "_labelling_code", lambda: "the labelling was edited")
    with pytest.raises(AssertionError, match="summarise_clusters"):  # labelled anew
        view.fit_clusters(index, None, view.DEFAULT_K)


def test_caches_are_ignored_when_the_index_or_captions_change(setup, photo_dir: Path,
                                                              monkeypatch) -> None:
    out, sets = setup
    old = load_index(out)
    assert caption_bank_stored(old, sets / "animals", None)
    # The captions change: that set's bank no longer matches, and is embedded again.
    sidecar = sets / "animals" / "captions.jsonl"
    rows = [json.loads(line) for line in sidecar.read_text().splitlines()]
    rows[0]["texts"] = ["a cat asleep on a red sofa"]
    sidecar.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert not caption_bank_stored(old, sets / "animals", None)
    bank = caption_bank_for(old, sets / "animals", None, lambda: load_encoder(old.spec))
    assert "a cat asleep on a red sofa" in bank.texts

    # The index is rebuilt with another model: a new version, with no cache of the old one...
    from core.index.build import build_index

    saved = shutil.copytree(old.files / cache.FOLDER, out.parent / "saved-cache")
    build_index([photo_dir], "efficientnet:lite0", out, force=True)
    new = load_index(out)
    assert new.files != old.files and new.spec != old.spec
    assert not (new.files / cache.FOLDER).exists()
    # ...and the old files copied into it are stale: ignored, computed again.
    shutil.copytree(saved, new.files / cache.FOLDER)
    assert cache.read(new, "kmeans-k6", cache.digest(precompute.VERSION, "k=6")) is None
    calls: list[str] = []
    real = explore.kmeans
    monkeypatch.setattr(explore, "kmeans", lambda *a, **k: calls.append("kmeans") or real(*a, **k))
    result = precompute.kmeans(new, view.DEFAULT_K)
    assert calls == ["kmeans"]
    assert np.array_equal(result.labels, real(new.embeddings, view.DEFAULT_K).labels)


def test_a_damaged_cache_file_is_computed_again(setup) -> None:
    out, _ = setup
    index = load_index(out)
    path = cache.path_of(index, "pca")
    path.write_bytes(b"not a zip")
    assert cache.read(index, "pca") is None
    assert np.allclose(precompute.pca(index).coords, explore.pca_2d(index.embeddings).coords)


def test_the_stored_path_never_imports_scikit_learn(setup) -> None:
    """Importing scikit-learn took 1-8 s of a cold explorer: with its results stored, a fresh
    process clusters, projects and labels the whole collection without loading it."""
    import subprocess
    import sys

    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from core.analysis import labels
    from core.paths import REPO_ROOT

    assert ENGLISH_STOP_WORDS <= labels.STOP_WORDS  # the same list, read without the package
    out, _ = setup
    code = ("import sys\nfrom core.analysis import clusters_view as v\n"
            "from core.index.store import load_index\n"
            f"i = load_index({str(out)!r})\n"
            "result, summaries = v.fit_clusters(i, None, 6)\n"
            "v.fit_projection(i, None, tsne=True)\n"
            "v.sweep_table(i, None, 2, v.sweep_bounds(i.n, None)[0])\n"
            "assert sum(s.size for s in summaries) == i.n\n"
            "assert 'sklearn' not in sys.modules, 'scikit-learn was imported'\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
