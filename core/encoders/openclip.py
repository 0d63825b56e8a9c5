"""OpenCLIP through its own factory, so a pretrained tag or a local checkpoint is the real path.

This is the torch side: it exports the towers to ONNX (core.encoders.openclip_export) and answers
where onnxruntime cannot; queries normally run in core.encoders.openclip_onnx, without torch.

No registry ships CLIP weights: offline, a tag fails fast with a message that says how to pass a
local checkpoint. `@random` (random init) exists for tests only and is flagged everywhere.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.encoders.base import Encoder, batched, hub_reachable, l2_normalise
from core.encoders.weights import OPENCLIP_RANDOM as RANDOM
from core.encoders.weights import offline_message, openclip_checkpoint
from core.errors import UserError

RANDOM_SEED = 0  # `@random` is the same model in every process, so build and search agree


def _check_arch(arch: str) -> None:
    import open_clip

    if arch not in open_clip.list_models():
        close = [m for m in open_clip.list_models() if arch.lower()[:5] in m.lower()][:5]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UserError(f"unknown OpenCLIP architecture '{arch}'{hint}")


@contextlib.contextmanager
def _quiet_root_logger():
    """open_clip warns via the root logger ("initialized randomly"); we report that ourselves."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))
    try:
        yield
    finally:
        root.setLevel(level)


class OpenClipEncoder(Encoder):
    query_modalities = frozenset({"image", "text"})
    batch_size = 16

    def __init__(self, arch: str, pretrained: str = RANDOM) -> None:
        import open_clip

        _check_arch(arch)
        self.arch, self.pretrained = arch, pretrained
        self.random_weights = pretrained == RANDOM
        weights: str | None = None if self.random_weights else pretrained
        checkpoint = openclip_checkpoint(pretrained)
        is_path = checkpoint is not None
        if is_path:
            weights = str(checkpoint)  # resolved against the repository, not the cwd
        if is_path and not Path(weights).is_file():
            raise UserError(f"OpenCLIP checkpoint not found: {weights}")
        if weights is not None and not is_path and not hub_reachable():
            raise UserError(offline_message(arch, weights))
        try:
            with torch.random.fork_rng(devices=[]), _quiet_root_logger():
                torch.manual_seed(RANDOM_SEED)
                model, _, preprocess = open_clip.create_model_and_transforms(
                    arch, pretrained=weights)
        except (RuntimeError, OSError, ValueError, KeyError, EOFError,
                pickle.UnpicklingError) as e:
            detail = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]  # one line
            if weights is not None and not is_path:
                raise UserError(f"{offline_message(arch, weights)} ({detail})") from e
            raise UserError(f"cannot load OpenCLIP {arch} from '{weights}': {detail}") from e
        self.model = model.eval()
        self.preprocess = preprocess
        self.tokenizer = open_clip.get_tokenizer(arch)
        self.dim = int(model.text_projection.shape[1]) if hasattr(model, "text_projection") \
            and model.text_projection is not None else int(self._probe_dim())
        where = str(checkpoint) if checkpoint is not None else pretrained
        self.spec = f"openclip:{arch}@{where}"

    def _probe_dim(self) -> int:
        return self.encode_texts(["probe"]).shape[1]

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        out = []
        for chunk in batched(images, self.batch_size):
            x = torch.stack([self.preprocess(im) for im in chunk])
            with torch.inference_mode():
                out.append(self.model.encode_image(x).float().numpy())
        return l2_normalise(np.concatenate(out) if out else np.zeros((0, self.dim)))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        out = []
        for chunk in batched(texts, 64):
            with torch.inference_mode():
                out.append(self.model.encode_text(self.tokenizer(chunk)).float().numpy())
        return l2_normalise(np.concatenate(out) if out else np.zeros((0, self.dim)))
