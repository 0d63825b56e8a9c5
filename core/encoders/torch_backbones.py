"""The torch side of the frozen backbones: used to build ONNX files and where onnxruntime is absent.

Importing this module imports torch (~0.5-0.7 GB RSS), so core.encoders.backbones imports it only
when the torch runtime is chosen or an export runs.
"""

from __future__ import annotations

import contextlib
import io
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from core.encoders import runtime
from core.encoders.base import hub_reachable
from core.encoders.weights import MINILM, efficientnet_weights, minilm_path
from core.errors import UserError

torch.set_num_threads(runtime.model_threads())


@lru_cache(maxsize=4)
def load_efficientnet(variant: str = "lite0") -> torch.nn.Module:
    """The ImageNet classifier, eval mode, channels_last (fastest for small CPU batches here)."""
    from efficientnet_lite_pytorch import EfficientNet

    weights = efficientnet_weights(variant)
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
        model = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=weights)
    model.eval()
    return model.to(memory_format=torch.channels_last)


def efficientnet_runner(variant: str):
    """NHWC float array -> (pooled (n,1280), logits (n,1000)) with torch."""
    model = load_efficientnet(variant)

    def run(nhwc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(nhwc).permute(0, 3, 1, 2)  # a channels_last view, no copy
        with torch.inference_mode():
            pooled = model.extract_features(x).mean(dim=(2, 3))
            logits = model._fc(pooled)
        return pooled.float().numpy(), logits.float().numpy()

    return run


@lru_cache(maxsize=4)
def load_sentence_model(name: str = MINILM):
    """A sentence-transformers model by name or local path; 'minilm' is the packaged MiniLM."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    source = minilm_path() if name == MINILM else name
    local_only = False
    if name != MINILM and not Path(name).exists():
        os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "20")
        local_only = not hub_reachable()  # else the hub client retries for over a minute
    try:
        return SentenceTransformer(source, device="cpu", local_files_only=local_only)
    except (OSError, ValueError) as e:
        raise UserError(
            f"cannot load sentence-transformers model '{name}' ({type(e).__name__}); offline, "
            "pass a local folder path or use 'minilm'"
        ) from e


def sentence_runner(name: str):
    """texts -> unit float32 embeddings with sentence-transformers."""
    model = load_sentence_model(name)

    def run(texts: list[str], batch_size: int = 16) -> np.ndarray:
        with torch.inference_mode():
            vecs = model.encode(texts, batch_size=batch_size, normalize_embeddings=True,
                                show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vecs, dtype=np.float32)

    return run
