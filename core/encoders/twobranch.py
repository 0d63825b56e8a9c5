"""The trained two-branch head (core.learn.train) as an encoder: `twobranch:models/NAME`.

Images go through the frozen EfficientNet-Lite backbone and the image branch, texts through
MiniLM and the text branch; both land in the same 512-d space, so text and image queries work.
The `project_*` methods take cached frozen features, so evaluation needs no second forward pass.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.encoders.backbones import efficientnet, encode_sentences
from core.encoders.base import Encoder, batched
from core.encoders.twobranch_head import Head, StaleHead, load_head, project
from core.encoders.weights import installed
from core.errors import UserError
from core.paths import resolve_path


def open_head(path: str) -> tuple[Head, dict]:
    """The numpy head; an old torch-only folder is converted once by the training side (a
    one-way import: core.learn imports the head module, never the other way round)."""
    try:
        return load_head(path)
    except StaleHead as e:
        if not installed("torch"):  # the served app's install set
            raise UserError(f"{path}: weights.npz is missing or older than weights.pt; convert "
                            "it where the build tools are installed (load it once there) and "
                            "ship the folder with weights.npz") from e
        from core.learn.train import convert_torch_folder

        return convert_torch_folder(path)


class TwoBranchEncoder(Encoder):
    query_modalities = frozenset({"image", "text"})
    batch_size = 8

    def __init__(self, path: str) -> None:
        if not path:
            raise UserError("twobranch needs a model folder: twobranch:models/NAME")
        self.path = path
        self.head, self.config = open_head(str(resolve_path(path)))  # repo-relative from any cwd
        self.image_spec = str(self.config.get("image_features", "efficientnet:lite0"))
        self.text_model = str(self.config.get("text_features", "minilm"))
        family, _, variant = self.image_spec.partition(":")
        if family != "efficientnet":
            raise UserError(f"{path}: unsupported image features '{self.image_spec}'")
        self.variant = variant
        self.backbone = efficientnet(variant)
        self.dim = int(self.config["hyperparameters"]["dim"])
        self.spec = f"twobranch:{path}"

    def project_images(self, pooled: np.ndarray) -> np.ndarray:
        """Unit vectors from frozen pooled EfficientNet features (n, 1280)."""
        return project(self.head, "image", pooled)

    def project_texts(self, sentence_vecs: np.ndarray) -> np.ndarray:
        """Unit vectors from frozen sentence embeddings (n, 384)."""
        return project(self.head, "text", sentence_vecs)

    def vectors_from_features(self, image_spec: str, pooled: np.ndarray,
                              logits: np.ndarray) -> np.ndarray | None:
        return self.project_images(pooled) if image_spec == self.image_spec else None

    def text_vectors_from_features(self, text_model: str,
                                   sentence_vecs: np.ndarray) -> np.ndarray | None:
        return self.project_texts(sentence_vecs) if text_model == self.text_model else None

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        pooled = [self.backbone.forward(chunk)[0]
                  for chunk in batched(images, self.batch_size)]
        if not pooled:
            return np.zeros((0, self.dim), np.float32)
        return self.project_images(np.concatenate(pooled))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return self.project_texts(encode_sentences(self.text_model, texts))

    def describe(self) -> dict:
        out = super().describe()
        out.update({"image_features": self.image_spec, "text_features": self.text_model,
                    "best_epoch": self.config.get("best_epoch"),
                    "trained_at": self.config.get("trained_at")})
        return out
