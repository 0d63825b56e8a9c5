"""The model's own vector for a fixed probe, recorded in the manifest at build time.

An index is only meaningful with the model that built it. The spec string can say the same while
the model differs (a manifest edited within a family, `conse:lite0,top=5` for `top=10`, other
weights behind the same path, other preprocessing), and then queries rank garbage without any
error. Encoding the same probe at query time and comparing it with the recorded vector catches
that once per loaded model, before the first answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from core.encoders.base import Encoder
from core.errors import UserError

if TYPE_CHECKING:
    from core.index.store import Index

PROBE_TEXT = "a photo of a red bicycle leaning on a stone wall"
PROBE_SIZE = 96
MIN_COSINE = 0.999  # onnxruntime vs torch backbones agree to ~0.9999; a changed model does not


def probe_image(size: int = PROBE_SIZE) -> Image.Image:
    """A fixed, deterministic picture with colour, edges and texture (no file, no randomness)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    rgb = np.stack([x, y, 0.5 + 0.5 * np.sin(12 * x) * np.cos(9 * y)], axis=2)
    rgb[size // 4: size // 2, size // 3: 2 * size // 3] = (0.9, 0.1, 0.1)
    return Image.fromarray((rgb * 255).astype(np.uint8), "RGB")


def probe_vector(encoder: Encoder) -> tuple[str, np.ndarray]:
    """(kind, vector): the item-side vector of the probe, as the index stores items."""
    if encoder.item_input == "texts" or not encoder.can_image:
        return "text", encoder.encode_texts([PROBE_TEXT])[0]
    if encoder.item_input == "pixels+texts":  # both parts: a changed text model shows too
        return "item", encoder.encode_items([probe_image()], [[PROBE_TEXT]])[0]
    return "image", encoder.encode_images([probe_image()])[0]


def fingerprint(encoder: Encoder) -> dict:
    kind, vec = probe_vector(encoder)
    return {"probe": kind, "vector": [round(float(v), 6) for v in vec]}


def probe_cosine(recorded: object, current: dict) -> float | None:
    """Cosine between a manifest's recorded probe vector and `current` (a `fingerprint()`);
    None when there is nothing to compare (an index from before fingerprints); -1 when the
    vectors are not even the same size."""
    if not isinstance(recorded, dict) or "vector" not in recorded:
        return None
    want = np.asarray(recorded["vector"], np.float32)
    got = np.asarray(current["vector"], np.float32)
    if want.shape != got.shape:
        return -1.0
    return float(want @ got / (np.linalg.norm(want) * np.linalg.norm(got) + 1e-12))


def check_fingerprint(manifest: dict, encoder: Encoder, where: str) -> None:
    """Raise one clear line when `encoder` is not the model that built the index."""
    cosine = probe_cosine(manifest.get("fingerprint"), fingerprint(encoder))
    if cosine is not None and cosine < MIN_COSINE:
        raise UserError(f"index {where}: the model '{encoder.spec}' is not the one that built it "
                        f"(probe cosine {cosine:.3f} < {MIN_COSINE}): the spec, weights or "
                        "preprocessing changed; rebuild the index")


_CHECKED: set[tuple[str, str]] = set()  # (version folder, model spec) pairs already checked


def encoder_for(index: Index, load: Callable[[str], Encoder] | None = None) -> Encoder:
    """The model an index answers queries with, checked against its fingerprint once per
    process and version: the one way the CLI, the review and the app get an index's model.
    `load` is the caller's cached loader (the app's st.cache_resource), else the registry's."""
    if load is None:
        from core.encoders.registry import load_encoder as load
    encoder = load(index.spec)
    key = (str(index.files), encoder.spec)
    if key not in _CHECKED:
        check_fingerprint(index.manifest, encoder, str(index.path))
        _CHECKED.add(key)
    return encoder
