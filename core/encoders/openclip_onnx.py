"""OpenCLIP on onnxruntime: open_clip's tokenizer and eval transform without torch.

open_clip's own tokenizer module imports torch, so the served app cannot use it. The export
(core.encoders.openclip_export) stores in the text tower's file a `tokenizers` JSON built from
open_clip's BPE vocabulary and merges (CLIP's split pattern, byte-level alphabet, `</w>`
word ends, start/end tokens, truncation to the context length), checked token for token against
open_clip on probe texts; the cleaning before it (ftfy, HTML unescape, whitespace, lower case)
is open_clip's, in Python. The image tower's file stores the preprocess settings of the model
(size, mean, std, interpolation, resize mode), reproduced here with PIL and numpy.
"""

from __future__ import annotations

import html
import json
import os
import threading
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders import runtime
from core.encoders.base import Encoder, batched, hub_reachable, l2_normalise
from core.encoders.weights import (
    OPENCLIP_RANDOM,
    installed,
    offline_message,
    openclip_checkpoint,
    openclip_config,
)
from core.errors import UserError

TOWERS = ("openclip-text", "openclip-image")
TOWERS_ENV = "IMAGE_SEARCH_CLIP_TOWERS"  # "one" (default): one tower in memory; "both"
SPLIT_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
SOT, EOT = "<start_of_text>", "<end_of_text>"
DEFAULT_PREPROCESS = {"mean": (0.48145466, 0.4578275, 0.40821073),  # open_clip's OPENAI_DATASET_*
                      "std": (0.26862954, 0.26130258, 0.27577711), "interpolation": "bicubic",
                      "resize_mode": "shortest"}
RESAMPLE = {"bicubic": Image.Resampling.BICUBIC, "bilinear": Image.Resampling.BILINEAR}


def clean_lower(text: str) -> str:
    """open_clip's `clean="lower"`: ftfy, HTML unescaped twice, whitespace collapsed, lower."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


def tokenizer_json(vocab: dict[str, int], merges: list[tuple[str, str]],
                   context_length: int) -> str:
    """CLIP's BPE as a `tokenizers` Tokenizer (what HF's CLIP converter builds), serialised."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, processors

    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, end_of_word_suffix="</w>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.add_special_tokens([SOT, EOT])
    tok.post_processor = processors.TemplateProcessing(
        single=f"{SOT} $A {EOT}", special_tokens=[(SOT, vocab[SOT]), (EOT, vocab[EOT])])
    tok.enable_truncation(context_length)
    return tok.to_str()


class ClipTokenizer:
    """texts -> (n, context_length) int64 ids, zero-padded, as open_clip's tokenizer returns."""

    def __init__(self, serialised: str, context_length: int) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_str(serialised)
        self.tokenizer.enable_truncation(context_length)
        self.context_length = context_length

    def __call__(self, texts: list[str]) -> np.ndarray:
        ids = np.zeros((len(texts), self.context_length), np.int64)
        for row, enc in enumerate(self.tokenizer.encode_batch([clean_lower(t) for t in texts])):
            ids[row, : len(enc.ids)] = enc.ids
        return ids


def pixels(images: list[Image.Image], cfg: dict) -> np.ndarray:
    """NCHW float32 as open_clip's eval transform: resize (shortest side, or squash), centre
    crop, /255, normalise; the same rounding as torchvision's Resize and CenterCrop on PIL."""
    size, resample = int(cfg["size"]), RESAMPLE[cfg.get("interpolation", "bicubic")]
    mean = np.asarray(cfg["mean"], np.float32).reshape(3, 1, 1)
    std = np.asarray(cfg["std"], np.float32).reshape(3, 1, 1)
    out = np.empty((len(images), 3, size, size), np.float32)
    for i, im in enumerate(images):
        w, h = im.size
        if cfg.get("resize_mode", "shortest") == "squash":
            target = (size, size)
        elif w <= h:
            target = (size, int(size * h / w))
        else:
            target = (int(size * w / h), size)
        if target != (w, h):
            im = im.resize(target, resample=resample)
        left, top = int(round((im.width - size) / 2.0)), int(round((im.height - size) / 2.0))
        im = im.crop((left, top, left + size, top + size)).convert("RGB")
        chw = np.asarray(im, np.float32).transpose(2, 0, 1) / np.float32(255)
        out[i] = (chw - mean) / std
    return out


def tower_paths(arch: str, pretrained: str) -> Callable[[str], Path | None]:
    """tower kind -> its ONNX file (exported on first use where torch and the weights are);
    None where torch must be used. Cheap checks run first, without torch."""
    name = f"{arch}@{pretrained}"
    checkpoint = openclip_checkpoint(pretrained)
    known_here = installed("open_clip")
    if known_here and openclip_config(arch) is None:
        raise UserError(f"unknown OpenCLIP architecture '{arch}'")
    weights_here = checkpoint is None or checkpoint.is_file()
    if checkpoint is not None and not weights_here and known_here:
        raise UserError(f"OpenCLIP checkpoint not found: {checkpoint}")

    def find(kind: str) -> Path | None:
        hub = checkpoint is None and pretrained != OPENCLIP_RANDOM
        if hub and known_here and runtime.find_onnx(runtime.onnx_name(kind, name, None)) is None \
                and not hub_reachable():  # fail fast: the export would wait on the hub first
            raise UserError(offline_message(arch, pretrained))
        return runtime.ensure_onnx(kind, name, checkpoint, weights_here=weights_here)

    return find


class OnnxOpenClipEncoder(Encoder):
    """Each tower is opened on its first use, and by default only one is held at a time: a
    ViT-B-32 app holding both peaked at 969 MB (target < 800 MB, Community Cloud gives 690 MB
    and up); switching between text and image queries reopens a tower in ~0.6 s.
    `IMAGE_SEARCH_CLIP_TOWERS=both` keeps both (~0.35 GB more, no reopening)."""

    query_modalities = frozenset({"image", "text"})
    batch_size = 16

    def __init__(self, arch: str, pretrained: str, text_file: Path,
                 find: Callable[[str], Path | None]) -> None:
        self.arch, self.pretrained, self._find = arch, pretrained, find
        self.random_weights = pretrained == OPENCLIP_RANDOM
        self.spec = f"openclip:{arch}@{pretrained}"
        self._text_file = text_file
        self.runtime = "onnx"
        self._towers: dict[str, tuple[object, object]] = {}
        self._lock = threading.Lock()

    def _tower(self, kind: str) -> tuple[object, object]:
        """(session, tokenizer or preprocess settings) of a tower, opened if needed; the other
        one is let go first unless both are to be kept. A query already running on it keeps
        its own reference, so concurrent visitors are safe."""
        with self._lock:
            if kind in self._towers:
                return self._towers[kind]
            if self._towers and os.environ.get(TOWERS_ENV, "one").strip().lower() != "both":
                self._towers.clear()
                runtime.release_memory()
            path = self._text_file if kind == TOWERS[0] else self._find(kind)
            if path is None:
                raise UserError(f"{self.spec}: no ONNX file for its {kind} ({runtime.SHIP_HINT})")
            session = runtime.open_session(path)
            meta = runtime.metadata(session)
            extra: object = ClipTokenizer(meta["tokenizer"], int(meta["context_length"])) \
                if kind == TOWERS[0] else json.loads(meta["preprocess"])
            self._towers[kind] = (session, extra)
            return self._towers[kind]

    @property
    def _text(self) -> tuple[object, ClipTokenizer]:
        return self._tower(TOWERS[0])  # type: ignore[return-value]

    @property
    def _image(self) -> tuple[object, dict]:
        return self._tower(TOWERS[1])  # type: ignore[return-value]

    @cached_property
    def dim(self) -> int:  # type: ignore[override]
        return int(self._text[0].get_outputs()[0].shape[-1])

    def describe(self) -> dict:
        return {**super().describe(), "runtime": self.runtime}

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        session, tokenizer = self._text
        out = [session.run(None, {"input_ids": tokenizer(chunk)})[0]
               for chunk in batched(list(texts), 64)]
        return l2_normalise(np.concatenate(out) if out else np.zeros((0, self.dim)))

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        session, cfg = self._image
        out = [session.run(None, {"pixels": pixels(chunk, cfg)})[0]
               for chunk in batched(list(images), self.batch_size)]
        return l2_normalise(np.concatenate(out) if out else np.zeros((0, self.dim)))


def load_openclip(arch: str, pretrained: str) -> Encoder:
    """The ONNX encoder where the towers are exported (or exportable), else open_clip on torch."""
    find = tower_paths(arch, pretrained)
    text_file = find("openclip-text")
    if text_file is not None:
        return OnnxOpenClipEncoder(arch, pretrained, text_file, find)
    from core.encoders.openclip import OpenClipEncoder

    return OpenClipEncoder(arch, pretrained)
