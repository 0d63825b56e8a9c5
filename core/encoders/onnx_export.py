"""Export the frozen backbones to ONNX, so queries run on onnxruntime without importing torch.

Run as a subprocess by core.encoders.runtime (`python -m core.encoders.onnx_export KIND NAME OUT`):
the app never pays torch's memory (~0.5-0.7 GB RSS) just to write the file once. What the
query-time runner needs besides the graph (tokenizer, settings) goes into the file's metadata.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from core.encoders.onnx_write import export_module
from core.encoders.torch_backbones import load_efficientnet
from core.encoders.weights import EFFICIENTNET_SIZES, sentence_model_dir
from core.errors import UserError


class _EfficientNetHead(torch.nn.Module):
    """NCHW pixels -> (pooled 1280-d features, 1000 logits), as efficientnet_forward returns."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.model.extract_features(pixels).mean(dim=(2, 3))
        return pooled, self.model._fc(pooled)


class _PooledTransformer(torch.nn.Module):
    """Token ids -> unit pooled embedding (sentence-transformers' Pooling + Normalize; the
    embeddings are normalised whatever the model's modules, as encode_sentences asks for)."""

    def __init__(self, model: torch.nn.Module, pooling: str) -> None:
        super().__init__()
        self.model, self.pooling = model, pooling

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        if self.pooling == "cls":
            return torch.nn.functional.normalize(hidden[:, 0], dim=-1)
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(mean, dim=-1)


def sentence_layout(folder: Path) -> str:
    """The pooling of a sentence-transformers folder ("mean" or "cls"); a UserError for layouts
    the exported graph does not reproduce (a Dense layer, max pooling, ...)."""
    modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
    if kinds[:2] != ["Transformer", "Pooling"] or set(kinds[2:]) - {"Normalize"}:
        raise UserError(f"{folder}: modules {kinds} are not Transformer + Pooling [+ Normalize]")
    pooling_dir = folder / next(m["path"] for m in modules if m["type"].endswith("Pooling"))
    config = json.loads((pooling_dir / "config.json").read_text(encoding="utf-8"))
    modes = [k for k, v in config.items() if k.startswith("pooling_mode_") and v]
    if modes == ["pooling_mode_mean_tokens"]:
        return "mean"
    if modes == ["pooling_mode_cls_token"]:
        return "cls"
    raise UserError(f"{folder}: pooling {modes} is not exported (mean or cls only)")


def export_efficientnet(variant: str, out: Path, size: int) -> None:
    net = _EfficientNetHead(load_efficientnet(variant).to(memory_format=torch.contiguous_format))
    export_module(net, (torch.zeros(2, 3, size, size),), out, ["pixels"], ["pooled", "logits"],
                  {"pixels": {0: "n"}, "pooled": {0: "n"}, "logits": {0: "n"}})


def export_sentence(name: str, out: Path) -> None:
    """Straight from transformers: sentence-transformers' import alone costs ~0.4 GB more RSS.
    The tokenizer and max_seq_length travel in the file, so the app needs no weights package."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    folder = sentence_model_dir(name)
    if folder is None:
        raise UserError(f"sentence model '{name}' is not a local sentence-transformers folder")
    config = folder / "sentence_bert_config.json"
    max_len = json.loads(config.read_text())["max_seq_length"] if config.is_file() else 256
    net = _PooledTransformer(AutoModel.from_pretrained(str(folder)), sentence_layout(folder))
    ids = torch.ones(2, 8, dtype=torch.long)
    export_module(net, (ids, torch.ones_like(ids)), out, ["input_ids", "attention_mask"],
                  ["embedding"], {"input_ids": {0: "n", 1: "t"}, "attention_mask": {0: "n", 1: "t"},
                                  "embedding": {0: "n"}},
            {"tokenizer": (folder / "tokenizer.json").read_text(encoding="utf-8"),
             "max_seq_length": str(max_len)})


def main(argv: list[str]) -> int:
    kind, name, out = argv
    if kind == "efficientnet":
        export_efficientnet(name, Path(out), EFFICIENTNET_SIZES[name])
    elif kind == "sentence":
        export_sentence(name, Path(out))
    elif kind in ("openclip-text", "openclip-image"):
        from core.encoders.openclip_export import export_openclip

        export_openclip(kind, name, Path(out))
    else:
        raise SystemExit(f"no ONNX export for {kind}:{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
