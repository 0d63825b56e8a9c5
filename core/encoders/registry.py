"""Spec strings -> encoders. A spec names a model variant completely, so an index can record it.

Grammar: `family:argument[,key=value]...`; OpenCLIP uses `openclip:ARCH@TAG_OR_PATH`.

| spec | what |
|---|---|
| `efficientnet:lite0` (lite1, lite2) | EfficientNet-Lite pooled features, image queries only |
| `conse:lite0[,top=10][,template=a photo of a {}]` | ConSE zero-shot text->image (MiniLM space) |
| `captions:minilm` / `captions:<sentence-transformers name or path>` | image = mean of its texts |
| `openclip:ViT-B-32@laion2b_s34b_b79k` / `openclip:ARCH@/path/ckpt.bin` | OpenCLIP |
| `openclip:ViT-B-32@random` | random init, tests only, "random weights — not meaningful" |
| `twobranch:models/NAME` | the trained two-branch head |
| `fusion:[W*]SPEC+[W*]SPEC` | late fusion: weighted sum of the parts' cosines in one vector |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from core.encoders.base import Encoder
from core.errors import UserError

FAMILIES = ("efficientnet", "conse", "captions", "openclip", "twobranch", "fusion")
DEFAULT_TEXT_SPEC = "conse:lite0"


@dataclass(frozen=True)
class Spec:
    family: str
    argument: str
    options: dict[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.family, self.argument, tuple(sorted(self.options.items()))))


def parse_spec(spec: str) -> Spec:
    """Split a spec string; a clear error names what is wrong."""
    family, sep, rest = spec.strip().partition(":")
    family = family.lower()
    if not sep or family not in FAMILIES:
        raise UserError(
            f"unknown model spec '{spec}': expected FAMILY:ARG with FAMILY one of "
            f"{', '.join(FAMILIES)} (e.g. conse:lite0, efficientnet:lite0, captions:minilm, "
            "openclip:ViT-B-32@/path/ckpt.bin)"
        )
    if family in ("openclip", "twobranch", "captions", "fusion"):
        return Spec(family, rest.strip())
    argument, *pairs = [p.strip() for p in rest.split(",")]
    options = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise UserError(f"bad option '{pair}' in model spec '{spec}': expected key=value")
        options[key.strip()] = value.strip()
    return Spec(family, argument, options)


def _build(parsed: Spec) -> Encoder:
    if parsed.family == "efficientnet":
        from core.encoders.efficientnet import EfficientNetEncoder

        if parsed.options:
            raise UserError(f"EfficientNet takes no options, got: {', '.join(parsed.options)}")
        return EfficientNetEncoder(parsed.argument or "lite0")
    if parsed.family == "conse":
        from core.encoders.conse import DEFAULT_TEMPLATE, DEFAULT_TOP, ConSEEncoder

        unknown = set(parsed.options) - {"top", "template"}
        if unknown:
            raise UserError(f"unknown ConSE option(s): {', '.join(sorted(unknown))}")
        try:
            top = int(parsed.options.get("top", DEFAULT_TOP))
        except ValueError as e:
            raise UserError(f"ConSE top must be an integer, got '{parsed.options['top']}'") from e
        if not 1 <= top <= 1000:
            raise UserError("ConSE top must be between 1 and 1000")
        template = parsed.options.get("template", DEFAULT_TEMPLATE)
        try:  # the encoder appends " {}" when the class name has no place yet
            (template if "{}" in template else template + " {}").format("x")
        except (IndexError, KeyError, ValueError) as e:
            raise UserError(f"ConSE template '{template}' may hold only one {{}} "
                            "for the class name") from e
        return ConSEEncoder(parsed.argument or "lite0", top=top, template=template)
    if parsed.family == "captions":
        from core.encoders.captions import CaptionEncoder

        return CaptionEncoder(parsed.argument or "minilm")
    if parsed.family == "openclip":
        from core.encoders.openclip import RANDOM, OpenClipEncoder

        arch, _, pretrained = parsed.argument.partition("@")
        return OpenClipEncoder(arch, pretrained or RANDOM)
    if parsed.family == "fusion":
        from core.encoders.fusion import FusionEncoder

        return FusionEncoder(parsed.argument)
    try:
        from core.encoders.twobranch import TwoBranchEncoder
    except ImportError as e:
        raise UserError("the two-branch head is not available in this version") from e
    return TwoBranchEncoder(parsed.argument)


@lru_cache(maxsize=8)
def _load_cached(parsed: Spec) -> Encoder:
    return _build(parsed)


def load_encoder(spec: str) -> Encoder:
    """One encoder object per distinct spec per process (the heavy backbones are shared too)."""
    return _load_cached(parse_spec(spec))


def same_model(spec_a: str, spec_b: str) -> bool:
    """Whether two specs name the same model once defaults are filled in."""
    if spec_a == spec_b:
        return True
    if parse_spec(spec_a).family != parse_spec(spec_b).family:
        return False  # no need to load two (possibly slow) models to tell
    return load_encoder(spec_a).spec == load_encoder(spec_b).spec
