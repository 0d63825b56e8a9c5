"""Hybrid: every signal an image has, its texts and its pixels, in one vector.

`hybrid:conse:lite0,prompt=definition,view=multi,text=0.5,names=fallback`. The text part is the
captions model (the mean MiniLM embedding of the image's sidecar texts and the words of its file
and folder names, core.ingest.pathwords); the image part is a ConSE model,
whose image vectors live in the same MiniLM space. As in late fusion, each part's unit vector is
scaled by sqrt(weight) and the two are concatenated, so one vector per image keeps Annoy,
neighbours and clusters unchanged, and a query's text goes through both parts: its score is
`text * cos(query, texts) + (1 - text) * cos(query, pixels)`.

Names: `names=fallback` (the default) reads an image's file and folder names only when it has no
other text, `on` always, `off` never. On the photo dev split names on top of captions cost R@1
(the captions there already say what the names say, and folder words add noise), while for
photos that lost their texts they lift R@10 far above the pixels alone.

An image with no text at all (nor a meaningful name) gets, instead of a zero text part, half of
its ConSE vector (`STAND_IN`) there, a stand-in from the same MiniLM space. A zero part would
cap its score at sqrt(1 - text) * cos(query, pixels) = 0.71 cos (the vector is re-normalised)
and push it below every photo with a half-matching caption; the full vector would score it
1.0 cos and crowd out photos whose captions match. With 0.5 it scores 0.95 cos(query, pixels).
Image queries (an upload, a photo) are such text-less items too. Chosen on the photo dev split
with half the texts removed (benchmarks/hybrid_weights.py, BENCHMARKS.md).
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
NAMES = ("fallback", "on", "off")  # the first is the default
STAND_IN = 0.5  # share of its pixel vector a text-less image gets as its text part
TEXT_SPEC = "captions:minilm"  # the text part: ConSE's own sentence model, so one space


def with_name_words(texts: list[str], rel_path: str, names: str = "on") -> list[str]:
    """The texts plus the words of the path (`names`: on, off, or fallback: only when there is
    no other text), unless they say nothing or repeat a text."""
    if names == "off" or (names == "fallback" and texts):
        return list(texts)
    words = path_words(rel_path)
    if not words or caption_key(words) in {caption_key(t) for t in texts}:
        return list(texts)
    return [*texts, words]


def hybrid_vectors(texts: np.ndarray, pixels: np.ndarray, scales: np.ndarray,
                   stand_in: float = STAND_IN) -> np.ndarray:
    """Items from their parts' unit vectors (a zero text row: no text); a text-less row's text
    part becomes `stand_in` times its pixel vector (0: left zero, as measured against)."""
    texts = texts.copy()
    textless = ~texts.any(axis=1)
    texts[textless] = stand_in * pixels[textless]
    return join_parts([texts, pixels], scales)


class HybridEncoder(Encoder):
    """Built from a captions encoder and a ConSE encoder the registry has already loaded."""

    item_input = "pixels+texts"

    def __init__(self, text: Encoder, image: Encoder, text_weight: float,
                 names: str = NAMES[0]) -> None:
        if text.item_input != "texts" or image.item_input != "pixels" or not image.can_text:
            raise UserError("hybrid needs a captions text part and a text-capable pixel part")
        if text.dim != image.dim:
            raise UserError(f"hybrid parts must share one sentence space ({text.spec}: "
                            f"{text.dim}-d, {image.spec}: {image.dim}-d)")
        if not 0 < text_weight < 1:
            raise UserError(f"hybrid text weight must be between 0 and 1, got {text_weight}")
        if names not in NAMES:
            raise UserError(f"hybrid names must be one of {', '.join(NAMES)}, got '{names}'")
        self.text_part, self.image_part = text, image
        self.text_weight, self.names = float(text_weight), names
        self.scales = part_scales([self.text_weight, 1 - self.text_weight])
        self.query_modalities = image.query_modalities
        self.random_weights = text.random_weights or image.random_weights
        self.dim = text.dim + image.dim
        self.batch_size = image.batch_size
        self.spec = f"hybrid:{image.spec},text={self.text_weight:.3g},names={names}"

    def item_texts(self, texts: list[str], rel_path: str) -> list[str]:
        return with_name_words(texts, rel_path, self.names)

    def encode_items(self, images: list[Image.Image], texts_per_item: list[list[str]]
                     ) -> np.ndarray:
        if len(images) != len(texts_per_item):
            raise ValueError("one list of texts per image")
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return hybrid_vectors(self.text_part.encode_item_texts(texts_per_item),
                              self.image_part.encode_images(images), self.scales)

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
