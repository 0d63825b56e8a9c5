"""The trained two-branch head in numpy, so querying it imports no torch.

Training (core.learn.train) saves `weights.npz` beside `weights.pt`. This module only reads the
npz and never imports core.learn: a folder from before the npz raises `StaleHead`, which
core.encoders.twobranch answers by converting it on the training side (one torch load, once).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.encoders.base import l2_normalise
from core.errors import UserError

WEIGHTS = "weights.pt"
WEIGHTS_NPZ = "weights.npz"
CONFIG = "config.json"
BN_EPS = 1e-5  # torch.nn.BatchNorm1d's default

Head = dict[str, np.ndarray]


class StaleHead(UserError):
    """The folder's weights.npz is missing or older than weights.pt (trained before the npz)."""


def check_folder(path: str | Path) -> Path:
    """The folder as a Path; a clear error when it holds no trained model."""
    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / WEIGHTS).is_file():
        raise UserError(f"no trained two-branch model at {path} (needs {CONFIG} and {WEIGHTS}); "
                        "train one with: python -m core train --sets DIR... --out " + str(path))
    return path


def npz_is_current(path: Path) -> bool:
    npz = path / WEIGHTS_NPZ
    return npz.is_file() and npz.stat().st_mtime >= (path / WEIGHTS).stat().st_mtime


def read_config(path: str | Path) -> dict:
    """config.json (feature specs, dims): enough to describe the model without its weights."""
    path = check_folder(path)
    try:
        return json.loads((path / CONFIG).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise UserError(f"two-branch model at {path} is unreadable ({type(e).__name__}: {e}); "
                        "train it again") from e


def load_head(path: str | Path) -> tuple[Head, dict]:
    """The branches' arrays and the model's config; `StaleHead` when the npz must be made."""
    path = check_folder(path)
    if not npz_is_current(path):
        raise StaleHead(f"two-branch model at {path} has no current {WEIGHTS_NPZ}: load it "
                        "through core.encoders.twobranch (converts it) or train it again")
    config = read_config(path)
    try:
        with np.load(path / WEIGHTS_NPZ) as z:
            return {k: z[k] for k in z.files}, config
    except (OSError, ValueError) as e:
        raise UserError(f"two-branch model at {path} is unreadable ({type(e).__name__}: {e}); "
                        "train it again") from e


def trained_heads(folder: Path) -> list[Path]:
    """Model folders holding a trained two-branch head (config.json says so), by name."""
    if not folder.is_dir():
        return []
    heads = []
    for d in sorted(p for p in folder.iterdir() if (p / CONFIG).is_file()
                    and (p / WEIGHTS).is_file()):
        try:
            if read_config(d).get("model") == "twobranch":
                heads.append(d)
        except UserError:
            continue
    return heads


def project(head: Head, branch: str, x: np.ndarray) -> np.ndarray:
    """Eval-mode Branch.forward: standardise, FC, ReLU, FC, BatchNorm, unit length."""
    p = f"{branch}."
    x = (np.asarray(x, np.float32) - head[p + "mean"]) / head[p + "std"]
    hidden = np.maximum(x @ head[p + "net.0.weight"].T + head[p + "net.0.bias"], 0.0)
    y = hidden @ head[p + "net.3.weight"].T + head[p + "net.3.bias"]
    y = (y - head[p + "net.4.running_mean"]) / np.sqrt(head[p + "net.4.running_var"] + BN_EPS)
    return l2_normalise(y * head[p + "net.4.weight"] + head[p + "net.4.bias"])
