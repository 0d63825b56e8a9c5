"""One way to write a torch module as an ONNX file (torch side): every export goes through it.

A leaf, so the backbone exporter (core.encoders.onnx_export) and the OpenCLIP one
(core.encoders.openclip_export) share it without importing each other.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from core.atomic import atomic_path

OPSET = 18


def export_module(net: torch.nn.Module, args: tuple, out: Path, inputs: list[str],
                  outputs: list[str], dynamic: dict,
                  metadata: dict[str, str] | None = None) -> None:
    """Write next to the target and rename, so a killed export never leaves half a model.
    The fused attention fast path is off: the exporter knows no `_native_multi_head_attention`."""
    with atomic_path(out) as tmp, warnings.catch_warnings(), torch.inference_mode(False), \
            torch.no_grad():
        warnings.simplefilter("ignore")
        fastpath = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            torch.onnx.export(net.eval(), args, str(tmp), input_names=inputs,
                              output_names=outputs, dynamic_axes=dynamic, opset_version=OPSET,
                              dynamo=False)
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
        if metadata:
            import onnx

            model = onnx.load(str(tmp))
            for key, value in metadata.items():
                model.metadata_props.add(key=key, value=value)
            onnx.save(model, str(tmp))
