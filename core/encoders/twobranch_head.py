"""The trained two-branch head in numpy, so querying it imports no torch.

Training (core.learn.train) saves `weights.npz` beside `weights.pt`; a model folder from before that
gets its npz written on first load (that one load imports torch).
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


def load_head(path: str | Path) -> tuple[Head, dict]:
    """The branches' arrays and the model's config; a clear error when the folder is wrong."""
    path = Path(path)
    if not (path / CONFIG).is_file() or not (path / WEIGHTS).is_file():
        raise UserError(f"no trained two-branch model at {path} (needs {CONFIG} and {WEIGHTS}); "
                        "train one with: python -m core train --sets DIR... --out " + str(path))
    npz = path / WEIGHTS_NPZ
    if not npz.is_file() or npz.stat().st_mtime < (path / WEIGHTS).stat().st_mtime:
        from core.learn.train import load_model, save_numpy_weights

        net, config = load_model(path)
        return save_numpy_weights(net, path), config
    try:
        config = json.loads((path / CONFIG).read_text(encoding="utf-8"))
        with np.load(npz) as z:
            return {k: z[k] for k in z.files}, config
    except (OSError, ValueError, json.JSONDecodeError) as e:
        raise UserError(f"two-branch model at {path} is unreadable ({type(e).__name__}: {e}); "
                        "train it again") from e


def project(head: Head, branch: str, x: np.ndarray) -> np.ndarray:
    """Eval-mode Branch.forward: standardise, FC, ReLU, FC, BatchNorm, unit length."""
    p = f"{branch}."
    x = (np.asarray(x, np.float32) - head[p + "mean"]) / head[p + "std"]
    hidden = np.maximum(x @ head[p + "net.0.weight"].T + head[p + "net.0.bias"], 0.0)
    y = hidden @ head[p + "net.3.weight"].T + head[p + "net.3.bias"]
    y = (y - head[p + "net.4.running_mean"]) / np.sqrt(head[p + "net.4.running_var"] + BN_EPS)
    return l2_normalise(y * head[p + "net.4.weight"] + head[p + "net.4.bias"])
