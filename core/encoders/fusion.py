"""Late fusion of several encoders in one index: `fusion:twobranch:models/twobranch+conse:lite0`.

Each part's unit vector is scaled by sqrt(weight) and the parts are concatenated, so the cosine of
two fused vectors is the weighted sum of the parts' cosines: score fusion that still lives in one
embedding (Annoy, neighbours and clustering work unchanged). Weights: `0.7*SPEC+0.3*SPEC`, equal
when omitted, normalised to sum to 1.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.encoders.base import Encoder, batched, l2_normalise
from core.errors import UserError

PIXELS_ONLY = ("fusion parts must embed images from pixels (not captions:); for an image's "
               "texts and pixels together use hybrid:conse:lite0,prompt=definition,view=multi")


def parse_parts(argument: str) -> list[tuple[str, float]]:
    parts = []
    for raw in argument.split("+"):
        weight, star, spec = raw.strip().partition("*")
        if not star:
            weight, spec = "1", raw.strip()
        try:
            w = float(weight)
        except ValueError as e:
            raise UserError(f"bad fusion weight '{weight}' (expected e.g. 0.5*conse:lite0)") from e
        if w <= 0 or not spec:
            raise UserError(f"bad fusion part '{raw}': weights must be > 0 and name a model")
        parts.append((spec.strip(), w))
    if len(parts) < 2:
        raise UserError("fusion needs at least two models: fusion:SPEC+SPEC")
    return parts


def fused_argument(parts: list[tuple[str, float]]) -> str:
    """`W*SPEC+W*SPEC` with the weights normalised to sum to 1: the canonical fusion argument."""
    total = sum(w for _, w in parts)
    return "+".join(f"{w / total:.3g}*{spec}" for spec, w in parts)


def part_scales(weights: list[float]) -> np.ndarray:
    """sqrt of each normalised weight: scaling unit parts by it makes the concatenated cosine
    the weighted sum of the parts' cosines."""
    total = sum(weights)
    return np.sqrt(np.array([w / total for w in weights], np.float32))


def join_parts(blocks: list[np.ndarray], scales: np.ndarray) -> np.ndarray:
    """One vector per row from the parts' unit vectors (fusion's and the hybrid's layout)."""
    scaled = [b * s for b, s in zip(blocks, scales, strict=True)]
    return l2_normalise(np.concatenate(scaled, axis=1))


class FusionEncoder(Encoder):
    """Built from encoders the registry has already loaded, so this module needs no registry."""

    def __init__(self, parts: list[tuple[Encoder, float]]) -> None:
        if len(parts) < 2:
            raise UserError("fusion needs at least two models: fusion:SPEC+SPEC")
        self.encoders = [e for e, _ in parts]
        if any(e.item_input != "pixels" for e in self.encoders):
            raise UserError(PIXELS_ONLY)
        total = sum(w for _, w in parts)
        self.weights = [w / total for _, w in parts]
        self.scales = part_scales(self.weights)
        self.query_modalities = frozenset.intersection(
            *[e.query_modalities for e in self.encoders])
        self.random_weights = any(e.random_weights for e in self.encoders)
        self.dim = sum(e.dim for e in self.encoders)
        self.batch_size = min(e.batch_size for e in self.encoders)
        self.spec = "fusion:" + fused_argument([(e.spec, w) for e, w in parts])

    def _join(self, blocks: list[np.ndarray]) -> np.ndarray:
        return join_parts(blocks, self.scales)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """Batch by batch, so parts sharing a backbone reuse its forward pass (its memo)."""
        blocks = [self._join([e.encode_images(chunk) for e in self.encoders])
                  for chunk in batched(images, self.batch_size)]
        return np.concatenate(blocks) if blocks else np.zeros((0, self.dim), np.float32)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not self.can_text:
            return super().encode_texts(texts)
        return self._join([e.encode_texts(texts) for e in self.encoders])

    def vectors_from_features(self, image_spec: str, pooled: np.ndarray,
                              logits: np.ndarray) -> np.ndarray | None:
        blocks = [e.vectors_from_features(image_spec, pooled, logits) for e in self.encoders]
        return None if any(b is None for b in blocks) else self._join(blocks)

    def text_vectors_from_features(self, text_model: str,
                                   sentence_vecs: np.ndarray) -> np.ndarray | None:
        if not self.can_text:
            return None
        blocks = [e.text_vectors_from_features(text_model, sentence_vecs) for e in self.encoders]
        return None if any(b is None for b in blocks) else self._join(blocks)
