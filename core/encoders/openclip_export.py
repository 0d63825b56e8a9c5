"""Export OpenCLIP's text and image towers to ONNX (dispatched by core.encoders.onnx_export).

Each file carries what its torch-free runner needs: the text tower a `tokenizers` JSON of
open_clip's BPE (core.encoders.openclip_onnx.tokenizer_json) and the image tower the model's
preprocess settings. Both are checked against open_clip here, so an architecture whose
tokenizer or transform is not reproduced fails its export (and stays on torch) instead of
answering with different vectors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from core.encoders.onnx_write import export_module
from core.encoders.openclip import OpenClipEncoder
from core.encoders.openclip_onnx import ClipTokenizer, pixels, tokenizer_json
from core.errors import UserError

PROBE_TEXTS = ["a photo of a cat", "A “Granny Smith” apple.", "ünïcödé café 東京  x",
               "it's 3 o'clock &amp; <b>bold</b>!!", "The QUICK brown fox's 2nd jump",
               "a photo of a " * 40, ""]


class _Tower(torch.nn.Module):
    """One tower of the CLIP model as its own graph (encode_text or encode_image)."""

    def __init__(self, model: torch.nn.Module, text: bool) -> None:
        super().__init__()
        self.model, self.text = model, text

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(x) if self.text else self.model.encode_image(x)


def text_metadata(enc: OpenClipEncoder) -> dict[str, str]:
    """The tokenizer as a `tokenizers` JSON, verified to give open_clip's ids on PROBE_TEXTS."""
    tok = enc.tokenizer
    clean = getattr(getattr(tok, "clean_fn", None), "__name__", "")
    if not hasattr(tok, "bpe_ranks") or clean != "_clean_lower" or tok.reduction_fn is not None:
        raise UserError(f"{enc.spec}: tokenizer {type(tok).__name__} ({clean or 'custom'}) has "
                        "no torch-free twin; it stays on torch")
    merges = [pair for pair, _ in sorted(tok.bpe_ranks.items(), key=lambda kv: kv[1])]
    serialised = tokenizer_json(dict(tok.encoder), merges, int(tok.context_length))
    ours = ClipTokenizer(serialised, int(tok.context_length))(PROBE_TEXTS)
    if not np.array_equal(ours, tok(PROBE_TEXTS).numpy()):
        raise UserError(f"{enc.spec}: the torch-free tokenizer differs from open_clip's")
    return {"tokenizer": serialised, "context_length": str(tok.context_length)}


def image_metadata(enc: OpenClipEncoder) -> dict[str, str]:
    """The model's preprocess settings, verified to give open_clip's pixels (within 1e-5)."""
    import open_clip

    cfg = dict(open_clip.get_model_preprocess_cfg(enc.model))
    size = cfg.get("size", 224)
    size = size if isinstance(size, int) else tuple(size)
    if isinstance(size, tuple) and len(set(size)) != 1 or \
            cfg.get("resize_mode", "shortest") not in ("shortest", "squash"):
        raise UserError(f"{enc.spec}: preprocess {cfg} has no numpy twin; it stays on torch")
    cfg["size"] = size if isinstance(size, int) else size[0]
    rng = np.random.default_rng(0)
    probes = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
              for w, h in ((300, 200), (150, 263), (224, 224), (97, 97))]
    ours = pixels(probes, cfg)
    theirs = np.stack([enc.preprocess(im).numpy() for im in probes])
    if np.abs(ours - theirs).max() > 1e-5:
        raise UserError(f"{enc.spec}: the numpy preprocess differs from open_clip's")
    return {"preprocess": json.dumps({k: v for k, v in cfg.items() if k != "fill_color"})}


def export_openclip(kind: str, name: str, out: Path) -> None:
    """`openclip-text` or `openclip-image` of `ARCH@TAG_OR_PATH`, one graph per file."""
    arch, _, pretrained = name.partition("@")
    enc = OpenClipEncoder(arch, pretrained)
    if kind == "openclip-text":
        ids = torch.ones(2, int(enc.tokenizer.context_length), dtype=torch.long)
        export_module(_Tower(enc.model, True), (ids,), out, ["input_ids"], ["embedding"],
                      {"input_ids": {0: "n"}, "embedding": {0: "n"}}, text_metadata(enc))
    else:
        side = json.loads(image_metadata(enc)["preprocess"])["size"]
        export_module(_Tower(enc.model, False), (torch.zeros(2, 3, side, side),), out,
                      ["pixels"], ["embedding"], {"pixels": {0: "n"}, "embedding": {0: "n"}},
                      image_metadata(enc))
