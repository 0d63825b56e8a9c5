"""The served app's own environment, as Streamlit Community Cloud builds it: a fresh Python 3.12
venv with `requirements.txt` only (no torch). Cached under artifacts/ and rebuilt only when
requirements.txt changes, so the Cloud-like check and the memory benchmark rerun fast."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "artifacts" / "cloud-venv"
REQUIREMENTS = REPO / "requirements.txt"
PYTHON_ENV = "CLOUD_PYTHON"  # the interpreter to build it with (Community Cloud's default: 3.12)


def base_python() -> str:
    """$CLOUD_PYTHON, else python3.12 on PATH or pyenv's (the first that runs: a pyenv shim
    may exist without the version); a clear error if there is none."""
    for candidate in (os.environ.get(PYTHON_ENV), shutil.which("python3.12"),
                      *sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))):
        if candidate and subprocess.run([str(candidate), "--version"], capture_output=True,
                                        check=False).returncode == 0:
            return str(candidate)
    raise SystemExit("no Python 3.12 found: set CLOUD_PYTHON=/path/to/python3.12")


def install(venv: Path, python: str) -> float:
    """A new venv at `venv` with requirements.txt; the seconds `pip install` took."""
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(venv)], check=True)
    started = time.perf_counter()
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", "-r", str(REQUIREMENTS)], check=True)
    return time.perf_counter() - started


def ensure_venv(venv: Path = VENV) -> tuple[str, float | None]:
    """(its python, install seconds or None when the cached one was current)."""
    want = hashlib.sha1(REQUIREMENTS.read_bytes()).hexdigest()
    stamp = venv / ".requirements-sha1"
    if stamp.is_file() and stamp.read_text().strip() == want:
        return str(venv / "bin" / "python"), None
    seconds = install(venv, base_python())
    stamp.write_text(want + "\n")
    return str(venv / "bin" / "python"), seconds


def timed_fresh_install() -> float:
    """Seconds for `pip install -r requirements.txt` into a new venv (pip's cache is warm once
    ensure_venv has run: the figure the issue asks for)."""
    with tempfile.TemporaryDirectory(prefix="cloud-venv-") as tmp:
        return install(Path(tmp) / "venv", base_python())


def disk_mb(folder: Path) -> float:
    """What `du -s` says, in MiB (hard links and sparse files as du counts them)."""
    out = subprocess.run(["du", "-sk", str(folder)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0]) / 1024


def imports_torch(python: str) -> bool:
    """Whether torch is importable in that environment at all."""
    return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0
