"""Frozen backbones shared by several variants, loaded once per process.

ConSE, captions and the two-branch head all use MiniLM; ConSE, EfficientNet features and the
two-branch head all use EfficientNet-Lite. Caching here means an app holding four indexes pays
for each model once. Each backbone runs on onnxruntime when it can (core.encoders.runtime), else
on torch; this module itself imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders import runtime
from core.encoders.weights import (  # noqa: F401  (the rest are re-exported for callers)
    EFFICIENTNET_SIZES,
    MINILM,
    efficientnet_weights,
    imagenet_classes,
    installed,
    minilm_weights,
    onnx_sources,
    sentence_model_dir,
    sentence_weights,
)
from core.errors import UserError
from core.ingest.images import fit_square


def efficientnet_array(images: list[Image.Image], size: int) -> np.ndarray:
    """NHWC float32: padded to square, resized, normalised as (x-127)/128 (the Lite models' way)."""
    batch = np.stack([np.asarray(fit_square(im, size)) for im in images]).astype(np.float32)
    batch -= 127.0
    batch /= 128.0
    return batch


class ImageBackbone:
    """EfficientNet-Lite on one runtime, remembering its last batch.

    Fused variants (two-branch + ConSE) ask for the same batch twice in a row; the memo makes
    that one forward pass.
    """

    def __init__(self, variant: str, runtime_name: str,
                 run: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]) -> None:
        self.variant, self.runtime, self.run = variant, runtime_name, run
        self.size = EFFICIENTNET_SIZES[variant]
        self._last: tuple[list[Image.Image], tuple[np.ndarray, np.ndarray]] | None = None

    def forward(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """Pooled 1280-d features and 1000 ImageNet logits in one pass."""
        last = self._last
        if last is not None and len(last[0]) == len(images) and all(
                a is b for a, b in zip(last[0], images, strict=True)):
            return last[1]
        out = self.run(efficientnet_array(images, self.size))
        self._last = (list(images), out)
        return out


@lru_cache(maxsize=4)
def efficientnet(variant: str = "lite0") -> ImageBackbone:
    """The served app installs no weights packages: there the shipped export is found by its
    catalogue entry instead of the weights' content key. Lite3 exists only as an int8 TFLite
    file (core.encoders.lite3)."""
    if variant == "lite3":
        from core.encoders import lite3

        return ImageBackbone(variant, "tflite", lite3.lite3_runner(runtime.model_threads()))
    try:
        weights: Path | None = Path(efficientnet_weights(variant))
    except UserError:
        weights = None
    path = runtime.ensure_onnx("efficientnet", variant, weights, weights_here=weights is not None)
    if path is not None:
        return ImageBackbone(variant, "onnx", runtime.efficientnet_runner(path))
    from core.encoders import torch_backbones

    return ImageBackbone(variant, "torch", torch_backbones.efficientnet_runner(variant))


@lru_cache(maxsize=4)
def sentence_encoder(name: str = MINILM) -> tuple[str, Callable[..., np.ndarray]]:
    """(runtime, texts -> unit vectors). A local sentence-transformers folder (the packaged
    MiniLM or a path) is exported to ONNX; where its weights are not here (the served app) the
    shipped export is used; a hub name without one stays on torch."""
    folder = sentence_model_dir(name)
    weights = sentence_weights(folder) if folder is not None else None
    path = None
    if weights is not None:
        path = runtime.ensure_onnx("sentence", name, weights)
    elif runtime.catalogued("sentence", name) or not installed("sentence_transformers"):
        path = runtime.ensure_onnx("sentence", name, None, weights_here=False)
    if path is not None:
        return "onnx", runtime.sentence_runner(path, folder)
    from core.encoders import torch_backbones

    return "torch", torch_backbones.sentence_runner(str(folder) if folder else name)


def encode_sentences(name: str, texts: list[str], batch_size: int = 16) -> np.ndarray:
    """Unit-length sentence embeddings, float32."""
    return sentence_encoder(name)[1](list(texts), batch_size)
