"""ConSE (Norouzi et al., ICLR 2014): zero-shot text-to-image from an ImageNet classifier.

An image's vector is the probability-weighted mean of the sentence embeddings of its top-T class
prompts; a text query is embedded by the same sentence model, so both live in MiniLM's space.
`prompt` chooses what each class says (core.encoders.conse_prompts: its name, or its WordNet
gloss too), `view` how a photo meets the 224-px square: padded whole (stamps and long objects
survive), centre-cropped (a photo's subject fills the input) or both plus two more squares, the
class probabilities averaged (small subjects away from the centre get a look too).
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
from core.encoders.conse_prompts import (  # noqa: F401  (defaults re-exported for callers)
    DEFAULT_POWER,
    DEFAULT_PROMPT,
    DEFAULT_TEMPLATE,
    DEFAULT_TOP,
    DEFAULT_VIEW,
    class_prompts,
)
from core.paths import cache_dir


@lru_cache(maxsize=4)
def class_embeddings(template: str, text_model: str = MINILM,
                     prompt: str = DEFAULT_PROMPT) -> np.ndarray:
    """(1000, 384) unit vectors of the ImageNet class prompts.

    Embedding 1000 prompts costs seconds on 2 cores, so they are cached per process and on disk
    (keyed by the prompts themselves and the model); an unwritable cache folder only costs the
    recomputation.
    """
    names = class_prompts(prompt, template)
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


def conse_vectors(logits: np.ndarray, class_vecs: np.ndarray, top: int,
                  power: float = DEFAULT_POWER) -> np.ndarray:
    """Convex combination of the top-`top` class embeddings, weighted by softmax probability
    raised to `power` (below 1 the runner-up classes count for more: on photos the classifier's
    first guess is often a near miss, "palace" for a cathedral, "jacamar" for a kingfisher)."""
    probs = softmax(logits)
    idx = np.argpartition(-probs, kth=min(top, probs.shape[1] - 1), axis=1)[:, :top]
    weights = np.take_along_axis(probs, idx, axis=1)
    if power != 1.0:
        weights = weights ** power
    weights = weights / weights.sum(axis=1, keepdims=True)
    return l2_normalise(np.einsum("nt,ntd->nd", weights, class_vecs[idx]))


def image_views(img: Image.Image, view: str) -> list[Image.Image]:
    """The squares one photo is classified from (the backbone pads whatever it is given)."""
    if view == "pad":
        return [img]
    w, h = img.size
    s = min(w, h)
    centre = img.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    if view == "crop":
        return [centre]
    return [img, centre, img.crop((0, 0, s, s)), img.crop((w - s, h - s, w, h))]


class ConSEEncoder(Encoder):
    query_modalities = frozenset({"image", "text"})
    dim = 384
    batch_size = 8

    def __init__(self, variant: str = "lite0", top: int = DEFAULT_TOP,
                 template: str = DEFAULT_TEMPLATE, prompt: str = DEFAULT_PROMPT,
                 view: str = DEFAULT_VIEW, power: float = DEFAULT_POWER) -> None:
        if "{}" not in template:
            template = template + " {}"
        self.variant, self.top, self.template = variant, int(top), template
        self.prompt, self.view, self.power = prompt, view, float(power)
        self.backbone = efficientnet(variant)
        self.class_vecs = class_embeddings(template, MINILM, prompt)
        extra = "".join(f",{k}={v}" for k, v, d in (("prompt", prompt, DEFAULT_PROMPT),
                                                     ("view", view, DEFAULT_VIEW),
                                                     ("power", f"{self.power:g}",
                                                      f"{DEFAULT_POWER:g}")) if v != d)
        self.spec = f"conse:{variant},top={self.top},template={template}{extra}"

    def image_logits(self, images: list[Image.Image]) -> np.ndarray:
        """(n, 1000) log class probabilities, averaged over each image's views."""
        out = []
        for chunk in batched(images, self.batch_size):
            views = [image_views(im, self.view) for im in chunk]
            flat = [v for vs in views for v in vs]
            probs = np.concatenate([softmax(self.backbone.forward(part)[1])
                                    for part in batched(flat, self.batch_size)])
            per = probs.reshape(len(chunk), len(views[0]), -1).mean(axis=1)
            out.append(np.log(np.maximum(per, 1e-12)))
        return np.concatenate(out) if out else np.zeros((0, 1000), np.float32)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), np.float32)
        return conse_vectors(self.image_logits(images), self.class_vecs, self.top,
                             self.power)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return encode_sentences(MINILM, texts)

    def vectors_from_features(self, image_spec: str, pooled: np.ndarray,
                              logits: np.ndarray) -> np.ndarray | None:
        """Cached features are of the padded image: usable only when that is the whole view."""
        if image_spec != f"efficientnet:{self.variant}" or self.view != "pad":
            return None
        return conse_vectors(logits, self.class_vecs, self.top, self.power)

    def top_classes(self, images: list[Image.Image], n: int = 5) -> list[list[tuple[str, float]]]:
        """The classifier's own top-n labels and probabilities, to explain a ConSE match."""
        names = imagenet_classes()
        probs = softmax(self.image_logits(images))
        order = np.argsort(-probs, axis=1)[:, :n]
        return [[(names[j], float(p[j])) for j in row] for p, row in zip(probs, order, strict=True)]
