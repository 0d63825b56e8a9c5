"""Caption embeddings: an image is the mean of its descriptions' sentence embeddings.

This is how region descriptions (Visual Genome) or stamp captions become a searchable index with
no image model at all; items without text cannot be embedded and are skipped and counted.
"""

from __future__ import annotations

import numpy as np

from core.encoders.backbones import MINILM, encode_sentences
from core.encoders.base import Encoder, l2_normalise


class CaptionEncoder(Encoder):
    query_modalities = frozenset({"text"})
    item_input = "texts"

    def __init__(self, model: str = MINILM) -> None:
        # the spec's own spelling names the model everywhere (the ONNX catalogue key too): a
        # repo-relative folder is the same model on every machine (core.paths.resolve_path)
        self.model_name = model
        self.spec = f"captions:{model}"
        self.dim = int(encode_sentences(model, ["probe"]).shape[1])

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return encode_sentences(self.model_name, texts)

    def encode_item_texts(self, texts_per_item: list[list[str]]) -> np.ndarray:
        flat = [t for texts in texts_per_item for t in texts]
        if not flat:
            return np.zeros((len(texts_per_item), self.dim), np.float32)
        vecs = encode_sentences(self.model_name, flat)
        out, start = np.zeros((len(texts_per_item), self.dim), np.float32), 0
        for i, texts in enumerate(texts_per_item):
            if texts:
                out[i] = vecs[start : start + len(texts)].mean(axis=0)
                start += len(texts)
        return l2_normalise(out)
