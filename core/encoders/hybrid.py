"""Hybrid: every signal an image has, its texts and its pixels, in one vector.

`hybrid:conse:lite0,prompt=definition,view=multi,text=0.5,names=on`. The text part is the
captions model (the mean MiniLM embedding of the image's sidecar texts and, with `names=on`, the
words of its file and folder names, core.ingest.pathwords); the image part is a ConSE model,
whose image vectors live in the same MiniLM space. As in late fusion, each part's unit vector is
scaled by sqrt(weight) and the two are concatenated, so one vector per image keeps Annoy,
neighbours and clusters unchanged, and a query's text goes through both parts: its score is
`text * cos(query, texts) + (1 - text) * cos(query, pixels)`.

An image without any text does not get a zero text part (that would cap its score at
`(1 - text) * cos(query, pixels)` and push it below every image with a half-matching caption):
its text part is its ConSE vector, a stand-in from the same space, so it scores
`cos(query, pixels)` on the full scale. Image queries (an upload, a photo) are such text-less
items too. Measured on the photo dev split with texts removed (benchmarks/hybrid_weights.py).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.encoders.base import Encoder
from core.encoders.fusion import join_parts, part_scales
from core.errors import UserError
from core.ingest.pathwords import path_words
from core.ingest.sidecar import caption_key

DEFAULT_TEXT_WEIGHT = 0.5  # chosen on the photo dev split (README, training and evaluation)
DEFAULT_NAMES = True
TEXT_SPEC = "captions:minilm"  # the text part: ConSE's own sentence model, so one space


def with_name_words(texts: list[str], rel_path: str) -> list[str]:
    """The texts plus the words of the path, unless they say nothing or repeat a text."""
    words = path_words(rel_path)
    if not words or caption_key(words) in {caption_key(t) for t in texts}:
        return list(texts)
    return [*texts, words]


class HybridEncoder(Encoder):
    """Built from a captions encoder and a ConSE encoder the registry has already loaded."""

    item_input = "pixels+texts"

    def __init__(self, text: Encoder, image: Encoder, text_weight: float, names: bool) -> None:
        if text.item_input != "texts" or image.item_input != "pixels" or not image.can_text:
            raise UserError("hybrid needs a captions text part and a text-capable pixel part")
        if text.dim != image.dim:
            raise UserError(f"hybrid parts must share one sentence space ({text.spec}: "
                            f"{text.dim}-d, {image.spec}: {image.dim}-d)")
        if not 0 < text_weight < 1:
            raise UserError(f"hybrid text weight must be between 0 and 1, got {text_weight}")
        self.text_part, self.image_part = text, image
        self.text_weight, self.names = float(text_weight), bool(names)
        self.scales = part_scales([self.text_weight, 1 - self.text_weight])
        self.query_modalities = image.query_modalities
        self.random_weights = text.random_weights or image.random_weights
        self.dim = text.dim + image.dim
        self.batch_size = image.batch_size
        self.spec = (f"hybrid:{image.spec},text={self.text_weight:.3g},"
                     f"names={'on' if names else 'off'}")

    def item_texts(self, texts: list[str], rel_path: str) -> list[str]:
        return with_name_words(texts, rel_path) if self.names else list(texts)

    def encode_items(self, images: list[Image.Image], texts_per_item: list[list[str]]
                     ) -> np.ndarray:
        if len(images) != len(texts_per_item):
            raise ValueError("one list of texts per image")
        if not images:
            return np.zeros((0, self.dim), np.float32)
        pixels = self.image_part.encode_images(images)
        texts = self.text_part.encode_item_texts(texts_per_item).copy()
        textless = ~texts.any(axis=1)
        texts[textless] = pixels[textless]  # the stand-in: see the module docstring
        return join_parts([texts, pixels], self.scales)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """An image on its own (a query photo, the fingerprint probe) is a text-less item."""
        return self.encode_items(images, [[] for _ in images])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return join_parts([self.text_part.encode_texts(texts),
                           self.image_part.encode_texts(texts)], self.scales)

    def describe(self) -> dict:
        runtime = getattr(getattr(self.image_part, "backbone", None), "runtime", None)
        extra = {"runtime": runtime} if runtime else {}
        return {**super().describe(), "text_weight": self.text_weight, "names": self.names,
                **extra}
