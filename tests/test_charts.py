"""The app's Vega-Lite specs (app_support.charts): the pages that draw charts do it without
importing Altair (0.35-0.75 s of their first render), and the specs keep what the pages need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from captioned_sets import tiny_report, tiny_set_dir

from app_support import charts
from core.paths import REPO_ROOT

APP = REPO_ROOT / "streamlit_app.py"


def test_chart_pages_render_without_importing_altair(index_root: Path, tmp_path: Path) -> None:
    report = tmp_path / "evaluation.json"
    report.write_text(json.dumps(tiny_report()))
    code = (
        "import sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "for page, tab, least in (('pages/explorer.py', None, 1),\n"
        "                         ('pages/explorer.py', 'Choosing k', 3),\n"
        "                         ('pages/evaluation.py', None, 3)):\n"
        f"    at = AppTest.from_file({str(APP)!r}, default_timeout=120)\n"
        "    if tab:\n"
        "        at.session_state['ex.tab'] = tab  # the explorer draws only its open tab\n"
        "    at.switch_page(page).run()\n"
        "    assert not at.exception, [e.value for e in at.exception]\n"
        "    assert len(at.get('vega_lite_chart')) >= least, (page, tab)\n"
        "assert 'altair' not in sys.modules, 'altair was imported'\n")
    env = {"IMAGE_SEARCH_INDEXES": str(index_root), "IMAGE_SEARCH_REPORT": str(report),
           "IMAGE_SEARCH_SETS": str(tiny_set_dir().parent), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=False, env=env)
    assert done.returncode == 0, done.stderr[-2000:]


def test_recall_bars_keep_the_report_order_and_one_colour_per_model() -> None:
    rows = pd.DataFrame({"model": ["random"] * 3 + ["conse"] * 3,
                         "metric": ["R@1", "R@5", "R@10"] * 2,
                         "value": [1.0, 5.0, 10.0, 20.0, 40.0, 55.0],
                         "lo": [0.5] * 6, "hi": [60.0] * 6})
    rows["label"] = rows["model"]
    spec = charts.recall_bars(rows)
    colour = spec["layer"][0]["encoding"]["color"]
    assert colour["scale"] == {"domain": ["random", "conse"], "range": charts.PALETTE[:2]}
    assert spec["datasets"]["recall"] is rows and spec["data"] == {"name": "recall"}
    assert spec["height"] == charts.BARS_PX + charts.legend_height(["random", "conse"])


def test_training_curves_mark_the_best_epoch_only_when_known() -> None:
    history = [{"epoch": e, "train_loss": 3.0 / e, "val_rsum": 100.0 + e} for e in (1, 2, 3)]
    loss, rsum = charts.training_curves(history, best=2)
    assert loss["title"] == "training loss" and rsum["title"] == "validation R@sum"
    assert rsum["datasets"]["curve"]["value"].tolist() == [101.0, 102.0, 103.0]
    assert loss["layer"][1]["data"] == {"values": [{"epoch": 2}]}
    assert [len(c["layer"]) for c in charts.training_curves(history, best=None)] == [1, 1]


def test_scatter_selections_and_sweep_marker() -> None:
    points = pd.DataFrame({"id": [3, 4], "x": [0.0, 1.0], "y": [1.0, 0.0],
                           "cluster": ["1", "2"], "name": ["a", "b"], "texts": ["", ""],
                           "image": ["data:image/jpeg;base64,", "data:image/jpeg;base64,"]})
    spec = charts.scatter(points, ("PC1", "PC2"), ["1", "2"])
    assert [p["name"] for p in spec["params"]] == ["picked", "region"]
    assert spec["encoding"]["tooltip"][0]["field"] == "image"  # drawn as a picture
    table = pd.DataFrame({"k": [2, 3], "inertia": [2.0, 1.0], "silhouette": [0.1, 0.2]})
    inertia, _ = charts.sweep(table, 3)
    assert inertia["layer"][1]["data"] == {"values": [{"k": 3}]}
    assert list(inertia["datasets"]["sweep"].columns) == ["k", "inertia"]
