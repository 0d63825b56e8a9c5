"""Export the frozen backbones to ONNX, so queries run on onnxruntime without importing torch.

Run as a subprocess by core.encoders.runtime (`python -m core.encoders.onnx_export KIND NAME OUT`):
the app never pays torch's memory (~0.5-0.7 GB RSS) just to write the file once.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch

from core.atomic import atomic_path
from core.encoders.torch_backbones import load_efficientnet
from core.encoders.weights import EFFICIENTNET_SIZES, minilm_path

OPSET = 18


class _EfficientNetHead(torch.nn.Module):
    """NCHW pixels -> (pooled 1280-d features, 1000 logits), as efficientnet_forward returns."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pooled = self.model.extract_features(pixels).mean(dim=(2, 3))
        return pooled, self.model._fc(pooled)


class _MeanPooledBert(torch.nn.Module):
    """Token ids -> unit mean-pooled embedding (sentence-transformers' Pooling + Normalize)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return torch.nn.functional.normalize(mean, dim=-1)


def export_efficientnet(variant: str, out: Path, size: int) -> None:
    net = _EfficientNetHead(load_efficientnet(variant).to(memory_format=torch.contiguous_format))
    _export(net, (torch.zeros(2, 3, size, size),), out, ["pixels"], ["pooled", "logits"],
            {"pixels": {0: "n"}, "pooled": {0: "n"}, "logits": {0: "n"}})


def export_minilm(out: Path) -> None:
    """Straight from transformers: sentence-transformers' import alone costs ~0.4 GB more RSS."""
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    net = _MeanPooledBert(AutoModel.from_pretrained(minilm_path()))
    ids = torch.ones(2, 8, dtype=torch.long)
    _export(net, (ids, torch.ones_like(ids)), out, ["input_ids", "attention_mask"], ["embedding"],
            {"input_ids": {0: "n", 1: "t"}, "attention_mask": {0: "n", 1: "t"},
             "embedding": {0: "n"}})


def _export(net: torch.nn.Module, args: tuple, out: Path, inputs: list[str], outputs: list[str],
            dynamic: dict) -> None:
    """Write next to the target and rename, so a killed export never leaves half a model."""
    with atomic_path(out) as tmp, warnings.catch_warnings(), torch.inference_mode(False), \
            torch.no_grad():
        warnings.simplefilter("ignore")
        torch.onnx.export(net.eval(), args, str(tmp), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, dynamo=False)


def main(argv: list[str]) -> int:
    kind, name, out = argv
    if kind == "efficientnet":
        export_efficientnet(name, Path(out), EFFICIENTNET_SIZES[name])
    elif (kind, name) == ("sentence", "minilm"):
        export_minilm(Path(out))
    else:
        raise SystemExit(f"no ONNX export for {kind}:{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
