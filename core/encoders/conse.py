"""ConSE (Norouzi et al., ICLR 2014): zero-shot text-to-image from an ImageNet classifier.

An image's vector is the probability-weighted mean of the sentence embeddings of its top-T class
names; a text query is embedded by the same sentence model, so both live in MiniLM's space.
"""

from __future__ import annotations

import contextlib
import hashlib
from functools import lru_cache

import numpy as np
from PIL import Image

from core.atomic import write_with
from core.encoders.backbones import MINILM, efficientnet, encode_sentences, imagenet_classes
from core.encoders.base import Encoder, batched, l2_normalise
from core.paths import cache_dir

DEFAULT_TOP = 10
DEFAULT_TEMPLATE = "a photo of a {}"


@lru_cache(maxsize=4)
def class_embeddings(template: str, text_model: str = MINILM) -> np.ndarray:
    """(1000, 384) unit vectors of the prompted ImageNet class names.

    Embedding 1000 prompts costs seconds on 2 cores, so they are cached per process and on disk
    (keyed by template and model); an unwritable cache folder only costs the recomputation.
    """
    names = [template.format(c) for c in imagenet_classes()]
    key = hashlib.sha1("\n".join([text_model, *names]).encode()).hexdigest()[:16]
    path = cache_dir() / f"conse-classes-{key}.npy"
    try:
        vecs = np.load(path)
        if vecs.shape[0] == len(names):
            return vecs
    except (OSError, ValueError):
        pass
    vecs = encode_sentences(text_model, names)
    with contextlib.suppress(OSError):  # a read-only cache only costs a recomputation
        write_with(path, lambda tmp: np.save(tmp, vecs))
    return vecs


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def conse_vectors(logits: np.ndarray, class_vecs: np.ndarray, top: int) -> np.ndarray:
    """Convex combination of the top-`top` class embeddings, weighted by softmax probability."""
    probs = softmax(logits)
    idx = np.argpartition(-probs, kth=min(top, probs.shape[1] - 1), axis=1)[:, :top]
    weights = np.take_along_axis(probs, idx, axis=1)
    weights = weights / weights.sum(axis=1, keepdims=True)
    return l2_normalise(np.einsum("nt,ntd->nd", weights, class_vecs[idx]))


class ConSEEncoder(Encoder):
    query_modalities = frozenset({"image", "text"})
    dim = 384
    batch_size = 8

    def __init__(self, variant: str = "lite0", top: int = DEFAULT_TOP,
                 template: str = DEFAULT_TEMPLATE) -> None:
        if "{}" not in template:
            template = template + " {}"
        self.variant, self.top, self.template = variant, int(top), template
        self.backbone = efficientnet(variant)
        self.class_vecs = class_embeddings(template)
        self.spec = f"conse:{variant},top={self.top},template={template}"

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        logits = [self.backbone.forward(chunk)[1] for chunk in batched(images, self.batch_size)]
        if not logits:
            return np.zeros((0, self.dim), np.float32)
        return conse_vectors(np.concatenate(logits), self.class_vecs, self.top)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return encode_sentences(MINILM, texts)

    def vectors_from_features(self, image_spec: str, pooled: np.ndarray,
                              logits: np.ndarray) -> np.ndarray | None:
        if image_spec != f"efficientnet:{self.variant}":
            return None
        return conse_vectors(logits, self.class_vecs, self.top)

    def top_classes(self, images: list[Image.Image], n: int = 5) -> list[list[tuple[str, float]]]:
        """The classifier's own top-n labels and probabilities, to explain a ConSE match."""
        names = imagenet_classes()
        probs = softmax(np.concatenate([self.backbone.forward(c)[1]
                                        for c in batched(images, self.batch_size)]))
        order = np.argsort(-probs, axis=1)[:, :n]
        return [[(names[j], float(p[j])) for j in row] for p, row in zip(probs, order, strict=True)]
