"""onnxruntime backbones against the torch ones they are exported from, on real photos/texts."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.encoders import backbones, runtime
from core.encoders.backbones import MINILM, efficientnet_array, imagenet_classes
from core.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
TEXTS = ["a dog on a beach", "x", "ünïcödé café 東京",
         "A red bicycle leaning against the wall of an old house in the rain",
         "a photo of a " * 120]  # longer than MiniLM's 256 tokens: truncated the same way


@pytest.fixture(scope="module")
def onnx_backbones():
    eff = backbones.efficientnet("lite0")
    text_runtime, encode = backbones.sentence_encoder(MINILM)
    assert (eff.runtime, text_runtime) == ("onnx", "onnx")  # onnxruntime is in requirements
    return eff, encode


def test_efficientnet_onnx_matches_torch(photos, onnx_backbones) -> None:
    from core.encoders import torch_backbones

    eff, _ = onnx_backbones
    images = [im.convert("RGB") for im in photos.values()]
    x = efficientnet_array(images, 224)
    pooled, logits = eff.run(x)
    ref_pooled, ref_logits = torch_backbones.efficientnet_runner("lite0")(x)
    assert pooled.shape == (len(images), 1280) and logits.shape == (len(images), 1000)
    assert np.abs(pooled - ref_pooled).max() < 1e-3
    assert np.abs(logits - ref_logits).max() < 1e-3
    assert (logits.argmax(1) == ref_logits.argmax(1)).all()
    names = imagenet_classes()
    assert names[int(logits[list(photos).index("chelsea")].argmax())] in (
        "tabby cat", "tiger cat", "Egyptian cat")  # real weights, a real cat photo


def test_minilm_onnx_matches_sentence_transformers(onnx_backbones) -> None:
    from core.encoders import torch_backbones

    _, encode = onnx_backbones
    got = encode(TEXTS, 2)  # batches of 2: padding differs per batch and must not matter
    ref = torch_backbones.sentence_runner(MINILM)(TEXTS)
    assert got.shape == (len(TEXTS), 384) and got.dtype == np.float32
    assert (np.sum(got * ref, axis=1) > 0.9999).all()
    assert encode([]).shape == (0, 384)


def test_class_names_file_is_torchvisions_list() -> None:
    from torchvision.models import EfficientNet_B0_Weights

    assert imagenet_classes() == list(EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


def test_forward_memo_reuses_only_the_same_images(photos, onnx_backbones) -> None:
    eff, _ = onnx_backbones
    batch = [im.convert("RGB") for im in list(photos.values())[:3]]
    first = eff.forward(batch)
    assert eff.forward(list(batch)) is first  # same image objects: one forward pass
    other = eff.forward([batch[0].copy(), batch[1], batch[2]])
    assert other is not first and np.allclose(other[0], first[0], atol=1e-5)


TORCH_SIDE = ("torch", "torchvision", "open_clip", "sentence_transformers", "transformers")


def torch_side_after(specs: list[str]) -> tuple[list[str], list[str]]:
    """(encoder class names, torch-side modules imported) after a fresh process loads each spec
    and answers a text and an image query with it, where the model takes them."""
    code = (
        "import json, sys\n"
        "from PIL import Image\n"
        "from core.encoders.registry import load_encoder\n"
        "names = []\n"
        f"for spec in {specs!r}:\n"
        "    enc = load_encoder(spec)\n"
        "    names.append(type(enc).__name__)\n"
        "    if enc.can_text: enc.encode_texts(['a cat'])\n"
        "    if enc.can_image: enc.encode_images([Image.new('RGB', (50, 40), 'red')])\n"
        f"print(json.dumps([names, sorted(m for m in sys.modules if m.split('.')[0] in "
        f"{TORCH_SIDE!r})]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    names, modules = json.loads(out.stdout.strip().splitlines()[-1])
    return names, modules


def test_queries_never_import_torch() -> None:
    _, modules = torch_side_after(["conse:lite0", "efficientnet:lite0", "captions:minilm"])
    assert modules == []


def test_runtime_choice_and_failed_exports(monkeypatch, tmp_path, caplog) -> None:
    weights = Path(backbones.efficientnet_weights("lite0"))
    monkeypatch.setenv(runtime.RUNTIME_ENV, "torch")
    assert runtime.ensure_onnx("efficientnet", "lite0", weights) is None
    monkeypatch.setenv(runtime.RUNTIME_ENV, "tensorflow")
    with pytest.raises(UserError, match="IMAGE_SEARCH_RUNTIME"):
        runtime.requested_runtime()
    monkeypatch.setenv("IMAGE_SEARCH_CACHE", str(tmp_path))
    monkeypatch.setenv(runtime.RUNTIME_ENV, "auto")
    with caplog.at_level(logging.WARNING):  # the exporter knows no 'nosuch' variant
        assert runtime.ensure_onnx("efficientnet", "nosuch", weights) is None
    assert "using torch" in caplog.text and "KeyError" in caplog.text
    monkeypatch.setenv(runtime.RUNTIME_ENV, "onnx")
    with pytest.raises(UserError, match="exporting efficientnet:nosuch to ONNX failed"):
        runtime.ensure_onnx("efficientnet", "nosuch", weights)
    assert not list(tmp_path.rglob("*.onnx")) and not list(tmp_path.rglob("*.tmp"))


def test_fit_square_keeps_the_features_of_pad_then_resize(photos, onnx_backbones) -> None:
    from PIL import Image

    from core.ingest.images import pad_to_square

    eff, _ = onnx_backbones
    images = [im.convert("RGB") for im in photos.values()]
    slow = np.stack([np.asarray(pad_to_square(im).resize((224, 224), Image.Resampling.BICUBIC),
                                np.float32) for im in images])
    fast, _ = eff.run(efficientnet_array(images, 224))
    ref, _ = eff.run((slow - 127.0) / 128.0)
    cos = np.sum(fast * ref, 1) / np.linalg.norm(fast, axis=1) / np.linalg.norm(ref, axis=1)
    assert (cos > 0.985).all()


def test_export_command_writes_files_the_app_finds_without_a_cache(monkeypatch, tmp_path,
                                                                   capsys) -> None:
    from core.cli import main

    shipped = tmp_path / "models" / "onnx"
    assert main(["export-onnx", "--out", str(shipped)]) == 0
    printed = capsys.readouterr().out
    files = sorted(shipped.glob("*.onnx"))
    assert len(files) == 2 and all(str(f) in printed for f in files)
    assert main(["export-onnx", "--out", str(shipped)]) == 0  # already there: nothing redone
    assert sorted(shipped.glob("*.onnx")) == files
    monkeypatch.setattr(runtime, "SHIPPED_DIR", shipped)
    monkeypatch.setenv("IMAGE_SEARCH_CACHE", str(tmp_path / "empty-cache"))
    for kind, name, weights in backbones.onnx_sources():
        assert runtime.ensure_onnx(kind, name, weights).parent == shipped  # found, not exported
    assert not (tmp_path / "empty-cache").exists()
    eff = runtime.efficientnet_runner(next(shipped.glob("efficientnet-*.onnx")))
    x = np.random.default_rng(0).normal(size=(2, 224, 224, 3)).astype(np.float32)
    assert np.allclose(eff(x)[1], backbones.efficientnet("lite0").run(x)[1], atol=1e-4)


def test_index_manifest_records_the_runtime(conse_index_path, captions_index_path) -> None:
    from core.index.info import index_facts
    from core.index.store import load_index

    assert load_index(conse_index_path).manifest["encoder"]["runtime"] == "onnx"
    assert index_facts(load_index(conse_index_path))["backbone runtime"] == "onnx"
    assert "runtime" not in load_index(captions_index_path).manifest["encoder"]  # no image model


def test_a_damaged_onnx_file_is_a_clear_error(tmp_path) -> None:
    bad = tmp_path / "efficientnet-lite0-000000000000.onnx"
    bad.write_bytes(b"\x08\x07 half a model")
    with pytest.raises(UserError, match="not a usable ONNX model .*delete it"):
        runtime.efficientnet_runner(bad)


def test_model_threads_setting(monkeypatch) -> None:
    import os

    monkeypatch.delenv(runtime.THREADS_ENV, raising=False)
    assert runtime.model_threads() == max(1, os.cpu_count() or 1)
    monkeypatch.setenv(runtime.THREADS_ENV, "1")
    assert runtime.model_threads() == 1
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(runtime.THREADS_ENV, bad)
        with pytest.raises(UserError, match="IMAGE_SEARCH_THREADS"):
            runtime.model_threads()


def test_idle_pool_threads_do_not_spin(onnx_backbones) -> None:
    """After a query's text is encoded the session's threads sleep: spinning ones took the two
    cores from the Lance search that follows (1M items: search p50 79 ms right after an encode
    with spinning, 36 ms without; BENCHMARKS.md, scale)."""
    path = runtime.catalogued("sentence", MINILM)
    assert path is not None
    opts = runtime.open_session(path).get_session_options()
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_a_sentence_transformers_folder_exports_with_its_tokenizer(tmp_path) -> None:
    """`captions:<folder>` takes the generic export (modules.json read for the pooling); the
    file carries the tokenizer, so it answers with no model folder beside it."""
    from core.encoders import torch_backbones
    from core.encoders.onnx_export import sentence_layout
    from core.encoders.registry import load_encoder
    from core.encoders.weights import minilm_path

    folder = minilm_path()
    enc = load_encoder(f"captions:{folder}")
    text_runtime, _ = backbones.sentence_encoder(folder)
    assert text_runtime == "onnx"
    got = enc.encode_texts(TEXTS)
    assert (np.sum(got * torch_backbones.sentence_runner(MINILM)(TEXTS), axis=1) > 0.9999).all()
    path = runtime.catalogued("sentence", folder)
    assert path is not None and "tokenizer" in runtime.metadata(runtime.open_session(path))
    alone = runtime.sentence_runner(path)  # no model_dir: the tokenizer comes from the file
    np.testing.assert_allclose(alone(TEXTS[:2]), got[:2], atol=1e-6)
    assert sentence_layout(Path(folder)) == "mean"
    dense = tmp_path / "dense"
    dense.mkdir()
    (dense / "modules.json").write_text(json.dumps([
        {"path": "", "type": "sentence_transformers.models.Transformer"},
        {"path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}]))
    with pytest.raises(UserError, match="not Transformer \\+ Pooling"):
        sentence_layout(dense)

def test_concurrent_forward_passes_queue_on_one_lock(monkeypatch):
    """Passes from many visitors never overlap (each uses every core already); with
    IMAGE_SEARCH_SERIAL=0 they may."""
    import threading

    from core.encoders import runtime

    class Session:
        active = peak = 0
        guard = threading.Lock()

        def run(self, outputs, feeds):
            with self.guard:
                Session.active += 1
                Session.peak = max(Session.peak, Session.active)
            threading.Event().wait(0.01)
            with self.guard:
                Session.active -= 1
            return [feeds]

    for serial, most in (("1", 1), ("0", 8)):
        monkeypatch.setenv(runtime.SERIAL_ENV, serial)
        Session.peak = 0
        wrapped = runtime._Serial(Session())
        threads = [threading.Thread(target=wrapped.run, args=(None, {})) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (Session.peak == 1) if most == 1 else (Session.peak > 1)
