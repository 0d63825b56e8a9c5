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
| `hybrid:CONSE_SPEC[,text=W][,names=fallback/on/off]` | an image's texts, names and pixels |

Each family is one table entry (core.encoders.families.Family; fusion's and hybrid's below): its
grammar, its capabilities, input size and preprocess, how it is built and which variants this
machine has. `canonical`, `same_model`, `capabilities` and `list_models` read the table and
load no model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.encoders.base import Encoder
from core.encoders.families import (
    BASE_FAMILIES,
    TEXT_IMAGE,
    Capabilities,
    Family,
    Preprocess,
    Spec,
    Variant,
)
from core.encoders.fusion import PIXELS_ONLY, FusionEncoder, fused_argument, parse_parts
from core.errors import UserError

__all__ = ["FAMILIES", "DEFAULT_TEXT_SPEC", "ModelRow", "Spec", "canonical", "capabilities",
           "list_models", "load_encoder", "parse_spec", "preprocess", "same_model"]
DEFAULT_TEXT_SPEC = "conse:lite0"


def parse_spec(spec: str) -> Spec:
    """Split a spec string by the grammar (no defaults filled); a clear error names what is
    wrong."""
    family, sep, rest = spec.strip().partition(":")
    family = family.lower()
    if not sep or family not in FAMILIES:
        raise UserError(
            f"unknown model spec '{spec}': expected FAMILY:ARG with FAMILY one of "
            f"{', '.join(FAMILIES)} (e.g. conse:lite0, efficientnet:lite0, captions:minilm, "
            "openclip:ViT-B-32@/path/ckpt.bin)"
        )
    if not FAMILIES[family].options:
        return Spec(family, rest.strip())
    argument, *pairs = [p.strip() for p in rest.split(",")]
    options = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq:
            raise UserError(f"bad option '{pair}' in model spec '{spec}': expected key=value")
        options[key.strip()] = value.strip()
    return Spec(family, argument, options)


def normalised(spec: str | Spec) -> Spec:
    """The validated spec with every default filled in (what the built encoder's `.spec` says)."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    return FAMILIES[parsed.family].parse(parsed)


def canonical(spec: str) -> str:
    """The canonical spec string, from the grammar alone: no model is loaded."""
    return str(normalised(spec))


def same_model(spec_a: str, spec_b: str) -> bool:
    """Whether two specs name the same model once defaults are filled in: a pure function of
    the parsed specs (checking an index's model must not load two models)."""
    if spec_a == spec_b:
        return True
    if parse_spec(spec_a).family != parse_spec(spec_b).family:
        return False  # different families never match, whatever their arguments say
    return canonical(spec_a) == canonical(spec_b)


def capabilities(spec: str) -> Capabilities:
    """What the model embeds and its input side, from the table (and small files), no model."""
    parsed = normalised(spec)
    return FAMILIES[parsed.family].capabilities(parsed)


def preprocess(spec: str) -> Preprocess | None:
    """images -> the model's input array (None for caption models and fusions)."""
    parsed = normalised(spec)
    return FAMILIES[parsed.family].preprocess(parsed)


@lru_cache(maxsize=8)
def _load_cached(parsed: Spec) -> Encoder:
    return FAMILIES[parsed.family].build(parsed)


def load_encoder(spec: str) -> Encoder:
    """One encoder object per distinct spec per process (the heavy backbones are shared too)."""
    return _load_cached(normalised(spec))


# fusion: its parts are specs of the other families, so its entry lives beside the table -------
def _fusion_parts(s: Spec) -> list[tuple[str, float]]:
    return parse_parts(s.argument)


def _parse_fusion(s: Spec) -> Spec:
    parts = _fusion_parts(s)
    if any(parse_spec(p).family == "fusion" for p, _ in parts):
        raise UserError("a fusion part cannot itself be a fusion")
    return Spec("fusion", fused_argument([(canonical(p), w) for p, w in parts]))


def _fusion_capabilities(s: Spec) -> Capabilities:
    """What all parts take; decoded at the largest part's input side."""
    caps = [capabilities(p) for p, _ in _fusion_parts(s)]
    if any(c.items != "pixels" for c in caps):
        raise UserError(PIXELS_ONLY)
    return Capabilities(frozenset.intersection(*[c.queries for c in caps]), "pixels",
                        max(c.input_size for c in caps))


def _build_fusion(s: Spec) -> Encoder:
    """The registry loads the parts and hands them over: fusion.py never imports the registry."""
    return FusionEncoder([(load_encoder(p), w) for p, w in _fusion_parts(s)])


def _fusion_variants() -> list[Variant]:
    """One example from what is available here (the README's twobranch + conse when trained)."""
    usable = [v.spec for f in BASE_FAMILIES if f.name in ("twobranch", "efficientnet", "conse")
              for v in f.variants() if v.available]
    first = next((s for s in usable if s.startswith("twobranch:")),
                 next((s for s in usable if s.startswith("efficientnet:")), None))
    second = next((s for s in usable if s.startswith("conse:")), None)
    if first and second:
        return [Variant(f"fusion:{first}+{second}", True, "any pixel models, 0.7*A+0.3*B")]
    return [Variant("fusion:SPEC+SPEC", False, "needs two available pixel models", example=True)]


FUSION = Family("fusion", "fusion:[W*]SPEC+[W*]SPEC",
                "late fusion: weighted sum of the parts' cosines, in one vector",
                Capabilities(frozenset()), _parse_fusion, _fusion_capabilities,
                lambda s: None, _build_fusion, _fusion_variants)


# hybrid: captions + a ConSE spec, whose options it shares a comma list with -----------------
HYBRID_KEYS = ("text", "names")


def hybrid_parts(s: Spec) -> tuple[str, float, str]:
    """(image spec, text weight, names) from `CONSE_SPEC[,text=W][,names=fallback|on|off]`: the
    hybrid's own keys are taken out wherever they stand, the rest is the image spec."""
    from core.encoders.hybrid import DEFAULT_TEXT_WEIGHT, NAMES

    own, rest = {}, []
    for piece in (p.strip() for p in s.argument.split(",")):
        key, eq, value = piece.partition("=")
        if eq and key.strip() in HYBRID_KEYS:
            own[key.strip()] = value.strip().lower()
        else:
            rest.append(piece)
    image = ",".join(rest)
    if not image or parse_spec(image).family != "conse":
        raise UserError(f"hybrid needs a ConSE image part (its vectors share the captions' "
                        f"sentence space), e.g. hybrid:conse:lite0,prompt=definition,view=multi;"
                        f" got '{image}'")
    try:
        weight = float(own.get("text", DEFAULT_TEXT_WEIGHT))
    except ValueError as e:
        raise UserError(f"bad hybrid text weight '{own['text']}' (expected e.g. text=0.5)") from e
    if not 0 < weight < 1:
        raise UserError(f"hybrid text weight must be between 0 and 1, got {weight}")
    names = own.get("names", NAMES[0])
    if names not in NAMES:
        raise UserError(f"hybrid names must be one of {', '.join(NAMES)}, got '{names}'")
    return canonical(image), weight, names


def _parse_hybrid(s: Spec) -> Spec:
    image, weight, names = hybrid_parts(s)
    return Spec("hybrid", f"{image},text={weight:.3g},names={names}")


def _hybrid_capabilities(s: Spec) -> Capabilities:
    caps = capabilities(hybrid_parts(s)[0])
    return Capabilities(caps.queries, "pixels+texts", caps.input_size)


def _build_hybrid(s: Spec) -> Encoder:
    from core.encoders.hybrid import TEXT_SPEC, HybridEncoder

    image, weight, names = hybrid_parts(s)
    return HybridEncoder(load_encoder(TEXT_SPEC), load_encoder(image), weight, names)


def _hybrid_variants() -> list[Variant]:
    conse = next((v for f in BASE_FAMILIES if f.name == "conse" for v in f.variants()), None)
    ok = conse is not None and conse.available
    return [Variant("hybrid:conse:lite0,prompt=definition,view=multi", ok,
                    "texts, file names and pixels" if ok else (conse.note if conse else "n/a"))]


HYBRID = Family("hybrid", "hybrid:CONSE_SPEC[,text=0.5][,names=fallback|on|off]",
                "an image's texts and names (captions) and its pixels (ConSE), in one vector",
                Capabilities(TEXT_IMAGE, "pixels+texts"), _parse_hybrid, _hybrid_capabilities,
                lambda s: None, _build_hybrid, _hybrid_variants)
FAMILIES: dict[str, Family] = {f.name: f for f in (*BASE_FAMILIES, FUSION, HYBRID)}


@dataclass(frozen=True)
class ModelRow:
    """A variant this machine can (or cannot yet) use, with what it can do."""

    spec: str
    family: str
    queries: tuple[str, ...]
    items: str
    input_size: int
    available: bool
    note: str


def list_models(available_only: bool = False) -> list[ModelRow]:
    """Every family's variants on this machine: installed packages, weights and model folders
    are checked, no model is loaded (the way open_clip.list_models lists what it can make)."""
    rows = []
    for family in FAMILIES.values():
        for v in family.variants():
            caps = family.declared if v.example else capabilities(v.spec)
            if v.available or not available_only:
                rows.append(ModelRow(v.spec, family.name, tuple(sorted(caps.queries)), caps.items,
                                     caps.input_size, v.available, v.note))
    return rows
