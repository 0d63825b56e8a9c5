"""Peak memory one visitor's upload adds to the server, per kind of image file.

Each file is decoded the way the app does (`core.query.upload.decode_upload`: bounded, decoded
once, shrunk at once) in a fresh Python process, so one kind's memory never hides another's:

    .venv/bin/python -m benchmarks.uploads             # ~1 min; --no-write prints only

Peak added = the child's peak RSS (VmHWM, reset through /proc/self/clear_refs just before the
decode, after the imports and reading the file) minus its RSS at that moment. Linux only.
Target: at most 200 MB per upload (Streamlit Community Cloud gives 690 MB-2.7 GB in all).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from benchmarks._common import REPO, record, table

TARGET_MB = 200
KINDS = {  # name: (what it is, width, height)
    "png16-40mp": ("16-bit grey PNG", 7200, 5500),
    "rgba-40mp": ("RGBA PNG", 7200, 5500),
    "rgba-24mp": ("RGBA PNG", 6000, 4000),
    "jpeg-24mp": ("JPEG photo", 6000, 4000),
    "jpeg-small": ("JPEG photo", 640, 480),
}


def make(kind: str, folder: Path) -> Path:
    """Write one upload of this kind: smooth content, so the huge ones are tiny files."""
    _, w, h = KINDS[kind]
    if kind.startswith("png16"):
        ramp = (np.arange(w, dtype=np.uint32)[None, :] * 9 + np.arange(h, dtype=np.uint32)[:, None])
        img = Image.fromarray((ramp % 65536).astype(np.uint16))
    elif kind.startswith("rgba"):
        img = Image.linear_gradient("L").resize((w, h)).convert("RGBA")
        img.putalpha(Image.linear_gradient("L").rotate(90).resize((w, h)))
    else:
        from skimage import data

        img = Image.fromarray(data.chelsea()).resize((w, h), Image.Resampling.BICUBIC)
    path = folder / (kind + (".jpg" if kind.startswith("jpeg") else ".png"))
    img.save(path, **({"quality": 90} if path.suffix == ".jpg" else {"compress_level": 1}))
    return path


_CHILD = """
import gc, json, sys
from pathlib import Path
from core.ingest.images import ImageProblem
from core.query.upload import decode_upload
def status(key):
    lines = Path("/proc/self/status").read_text().splitlines()
    line = next(ln for ln in lines if ln.startswith(key))
    return int(line.split()[1]) * 1024
data = open(sys.argv[1], "rb").read()
gc.collect()
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the RSS now
before = status("VmRSS:")
try:
    up = decode_upload(data)
    outcome = f"accepted ({up.image.size[0]}x{up.image.size[1]})"
except ImageProblem as e:
    outcome = f"refused: {e}"
peak = status("VmHWM:")
print(json.dumps({"added_mb": (peak - before) / 2**20, "outcome": outcome}))
"""


def measure(path: Path) -> dict:
    """Decode one upload in a fresh process; {"added_mb": peak added MiB, "outcome": text}."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], cwd=REPO, check=True,
                          capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout.strip().splitlines()[-1])


HEADERS = ["kind", "file size", "pixels", "peak added MiB", "result"]


def upload_rows(kinds: list[str]) -> list[list]:
    """One measured row per kind of upload (each decoded in a fresh process)."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for kind in kinds:
            what, w, h = KINDS[kind]
            path = make(kind, Path(tmp))
            got = measure(path)
            rows.append([f"{kind} ({what})", f"{path.stat().st_size / 1024:,.0f} KB",
                         f"{w * h / 1e6:.1f} MP", got["added_mb"], got["outcome"]])
            path.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated: " +
                        ", ".join(KINDS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows = upload_rows(args.kinds.split(","))
    record("Upload decoding: peak added memory per upload",
           [table(HEADERS, rows), f"Target: ≤ {TARGET_MB} MB per upload."],
           write=not args.no_write)


if __name__ == "__main__":
    main()
