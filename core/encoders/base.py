"""One interface for every model variant, so pages and the crawler never branch on the model."""

from __future__ import annotations

import socket
from typing import Literal

import numpy as np
from PIL import Image

from core.errors import UserError

Modality = Literal["image", "text"]
ItemInput = Literal["pixels", "texts", "pixels+texts"]
RANDOM_WEIGHTS_WARNING = "random weights — not meaningful"
HUB_HOST = "huggingface.co"


def hub_reachable(host: str = HUB_HOST, timeout: float = 3.0) -> bool:
    """A fast check, because the hub client retries for ~45 s or more before giving up offline."""
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise unit length in float32; zero rows stay zero instead of becoming NaN."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32)


class Encoder:
    """Embeds images and/or texts into one L2-normalised space.

    `item_input` says what the indexed side consumes: "pixels" (the image), "texts" (its
    descriptions, for caption embeddings) or "pixels+texts" (both, the hybrid). Builds and
    evaluations hand every encoder both through `encode_items`, so none of them branches on
    the model. `query_modalities` says what a query may be.
    """

    spec: str
    dim: int
    query_modalities: frozenset[str] = frozenset()
    item_input: ItemInput = "pixels"
    random_weights: bool = False
    batch_size: int = 16

    @property
    def can_text(self) -> bool:
        return "text" in self.query_modalities

    @property
    def can_image(self) -> bool:
        return "image" in self.query_modalities

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """(n, dim) float32, unit rows. Images are already RGB (see core.ingest.images.to_rgb)."""
        raise UserError(f"model '{self.spec}' cannot embed images")

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """(n, dim) float32, unit rows."""
        raise UserError(f"model '{self.spec}' cannot embed text queries")

    def encode_item_texts(self, texts_per_item: list[list[str]]) -> np.ndarray:
        """Items embedded from their descriptions (caption variants only)."""
        raise UserError(f"model '{self.spec}' embeds items from pixels, not texts")

    def item_texts(self, texts: list[str], rel_path: str) -> list[str]:
        """The texts this model reads for an item at `rel_path` (relative to its root): its
        descriptions, unless the model also reads file and folder names (the hybrid)."""
        return list(texts)

    def encode_items(self, images: list[Image.Image], texts_per_item: list[list[str]]
                     ) -> np.ndarray:
        """Indexed items from what `item_input` says the model reads: pixels, texts or both
        (`texts_per_item` comes from `item_texts`)."""
        if self.item_input == "texts":
            return self.encode_item_texts(texts_per_item)
        return self.encode_images(images)

    def vectors_from_features(self, image_spec: str, pooled: np.ndarray,
                              logits: np.ndarray) -> np.ndarray | None:
        """Item vectors from cached frozen backbone outputs (pooled features and ImageNet logits
        of `image_spec`), so an evaluation needs no second forward pass; None when this model
        must see the pixels."""
        return None

    def text_vectors_from_features(self, text_model: str,
                                   sentence_vecs: np.ndarray) -> np.ndarray | None:
        """Text vectors from cached sentence embeddings of `text_model`; None when this model
        must embed the texts itself."""
        return None

    def describe(self) -> dict:
        """What the index manifest records about the model (and which runtime embedded it)."""
        out = {
            "spec": self.spec,
            "dim": self.dim,
            "query_modalities": sorted(self.query_modalities),
            "item_input": self.item_input,
            "random_weights": self.random_weights,
            "family": self.spec.split(":", 1)[0],
        }
        backbone = getattr(self, "backbone", None)
        if backbone is not None:
            out["runtime"] = backbone.runtime
        return out


def batched(items: list, size: int):
    """Yield consecutive slices of at most `size` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
