"""Shared fixtures: real bundled photos (scikit-image, scikit-learn) and small real indexes.

Indexes are built once per test session with the real offline models, so page and search tests
check real behaviour without mocked results.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PHOTO_TEXTS = {
    "astronaut": "an astronaut in a spacesuit",
    "chelsea": "a ginger cat",
    "coffee": "a cup of coffee on a saucer",
    "rocket": "a rocket on the launch pad",
    "motorcycle": "a red motorcycle",
    "china": "a chinese temple",
    "flower": "a flower",
    "hubble": "a deep field of galaxies",
}


def bundled_photos() -> dict[str, Image.Image]:
    """The colour photos that ship inside scikit-image and scikit-learn (no download)."""
    from skimage import data
    from sklearn.datasets import load_sample_images

    photos = {n: Image.fromarray(getattr(data, n)()) for n in ("astronaut", "chelsea", "coffee",
                                                               "rocket")}
    photos["motorcycle"] = Image.fromarray(data.stereo_motorcycle()[0])
    sample = load_sample_images()
    for name, arr in zip(("china", "flower"), sample.images, strict=True):
        photos[name] = Image.fromarray(arr)
    photos["hubble"] = Image.fromarray(data.hubble_deep_field())
    return photos


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    return bundled_photos()


def write_photo_folder(folder: Path, photos: dict[str, Image.Image]) -> Path:
    """JPEGs plus a captions.jsonl sidecar with one text, source and licence per photo."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "captions.jsonl").open("w", encoding="utf-8") as fh:
        for name, img in photos.items():
            img.convert("RGB").save(folder / f"{name}.jpg", quality=90)
            fh.write(json.dumps({"file": f"{name}.jpg", "texts": [PHOTO_TEXTS[name]],
                                 "source": "scikit-image/scikit-learn", "licence": "BSD-3-Clause"})
                     + "\n")
    return folder


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory, photos) -> Path:
    return write_photo_folder(tmp_path_factory.mktemp("photos") / "gallery", photos)


def _build(tmp_path_factory, photo_dir: Path, spec: str, name: str) -> Path:
    from core.index.build import build_index

    out = tmp_path_factory.mktemp("indexes") / name
    build_index([photo_dir], spec, out)
    return out


@pytest.fixture(scope="session")
def conse_index_path(tmp_path_factory, photo_dir) -> Path:
    """A ConSE (text-capable) index over the bundled photos."""
    return _build(tmp_path_factory, photo_dir, "conse:lite0", "conse")


@pytest.fixture(scope="session")
def efficientnet_index_path(tmp_path_factory, photo_dir) -> Path:
    return _build(tmp_path_factory, photo_dir, "efficientnet:lite0", "efficientnet")


@pytest.fixture(scope="session")
def captions_index_path(tmp_path_factory, photo_dir) -> Path:
    return _build(tmp_path_factory, photo_dir, "captions:minilm", "captions")


@pytest.fixture(scope="session")
def index_root(conse_index_path, efficientnet_index_path, captions_index_path) -> Path:
    """A folder holding all three test indexes side by side (what the app scans)."""
    root = conse_index_path.parent.parent / "all_indexes"
    root.mkdir(exist_ok=True)
    for p in (conse_index_path, efficientnet_index_path, captions_index_path):
        link = root / p.name
        if not link.exists():
            link.symlink_to(p, target_is_directory=True)
    return root


def unit_rows(x: np.ndarray) -> bool:
    return bool(np.allclose(np.linalg.norm(x, axis=1), 1.0, atol=1e-4))


@pytest.fixture
def warm_server(monkeypatch):
    """Run AppTest like a warm server: in st.navigation mode from the first line.

    AppTest resets Streamlit's legacy `pages/` detection before every run, which a real server
    does once per process (app_support.bootstrap then leaves it with one rerun, before any
    widget exists). Under AppTest that rerun would come after every click and swallow it, so the
    page-interaction tests use this fixture; tests/test_bootstrap.py runs the real first-run
    path without it, and the browser tests run it on a real server.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


@pytest.fixture
def start(monkeypatch, index_root: Path):
    """Opens a page of a fresh AppTest session with URL parameters, over the three test indexes
    (conse: text + image, efficientnet: image only, captions: text only)."""
    from streamlit.testing.v1 import AppTest
    from test_app import APP, TIMEOUT, ok

    from core.index.catalogue import ENV_INDEXES

    monkeypatch.setenv(ENV_INDEXES, str(index_root))

    def run(page: str, **params: str):
        app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        app.query_params.update(params)
        return ok(app.switch_page(page).run())
    return run
