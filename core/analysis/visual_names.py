"""What an image looks like in words when it has no texts: the nearest ImageNet class names.

A ConSE vector is a probability-weighted mean of the ImageNet class prompts' sentence vectors,
so the classes nearest to it are the classifier's own top guesses, read back from the index
without running the model. The hybrid's pixel part is such a vector (its last ConSE-sized
block). Other models (EfficientNet's pooled features, captions) hold no class space: None.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from core.encoders.registry import hybrid_parts, normalised
from core.encoders.weights import imagenet_classes

TOP = 3  # classes per image


@lru_cache(maxsize=4)
def _class_vectors(template: str, prompt: str) -> np.ndarray:
    """(1000, d) unit vectors of the prompts the index's ConSE model used (cached on disk by
    the build, so this is a file read)."""
    from core.encoders.backbones import MINILM
    from core.encoders.conse import class_embeddings

    return class_embeddings(template, MINILM, prompt)


def _conse_options(spec: str) -> dict[str, str] | None:
    parsed = normalised(spec)
    if parsed.family == "hybrid":
        parsed = normalised(hybrid_parts(parsed)[0])
    return parsed.options if parsed.family == "conse" else None


def has_class_space(spec: str) -> bool:
    """Whether an index built with this model can name its images' classes."""
    return _conse_options(spec) is not None


def class_names(spec: str, emb: np.ndarray, top: int = TOP) -> list[list[str]] | None:
    """The `top` ImageNet class names nearest each row of an index's embeddings, or None when
    the model has no class space."""
    options = _conse_options(spec)
    if options is None:
        return None
    classes = _class_vectors(options["template"], options.get("prompt", "name"))
    d = classes.shape[1]
    arr = np.asarray(emb, dtype=np.float32)
    if arr.ndim != 2 or arr.shape[1] < d:
        return None
    part = arr[:, -d:]  # the whole ConSE vector, or the hybrid's pixel part
    sims = part @ classes.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :top]
    names = imagenet_classes()
    return [[names[j] for j in row] for row in order]
