"""Fault injection for builds: stop a real `python -m core build` at every stage with a signal,
then check that the previous index is byte-for-byte intact and answers exactly as before.

Shared by tests/test_faults.py and benchmarks/reliability.py (which prints the table).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from core.index.store import load_index
from core.index.versions import FAULT_ENV, STAGES
from core.query.search import search_vector

REPO = Path(__file__).resolve().parents[1]
SIGNALS = ("SIGKILL", "SIGTERM", "SIGINT")


@dataclass
class FaultRow:
    stage: str
    signal: str
    exit_code: int
    survived: bool  # the previous index loads and answers identically
    bytes_lost: int  # bytes of the previous version that changed or vanished
    traceback: bool


def fingerprint(out: Path) -> dict[str, tuple[bytes, int]]:
    """Every file of the version `out` names: relative path -> (sha1, size)."""
    root = out.resolve()
    return {str(p.relative_to(root)): (hashlib.sha1(p.read_bytes()).digest(), p.stat().st_size)
            for p in sorted(root.rglob("*")) if p.is_file()}


def answers(out: Path, k: int = 3) -> list[tuple]:
    """Top-k neighbours of every image, from the stored vectors (no model needed)."""
    index = load_index(out)
    return [tuple((h.id, round(h.score, 5)) for h in search_vector(index, index.embeddings[i], k,
                                                                   method="exact"))
            for i in range(index.n)]


def _lost(before: dict[str, tuple[bytes, int]], out: Path) -> int:
    """Bytes of the previous version that changed or vanished."""
    after = fingerprint(out) if out.resolve().is_dir() else {}
    return sum(size for f, (digest, size) in before.items() if after.get(f, (None,))[0] != digest)


def inject(images: Path, out: Path, spec: str, stage: str, signal: str) -> FaultRow:
    """One faulty rebuild of `out` (which must hold an index) stopped at `stage` by `signal`."""
    before, expected = fingerprint(out), answers(out)
    env = {**os.environ, FAULT_ENV: f"{stage}:{signal}"}
    proc = subprocess.run([sys.executable, "-m", "core", "build", "--images", str(images),
                           "--model", spec, "--out", str(out), "--batch-size", "1"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    try:
        survived = answers(out) == expected and fingerprint(out) == before
    except Exception:  # noqa: BLE001 - any failure to load is what this measures
        survived = False
    return FaultRow(stage, signal, proc.returncode, survived, _lost(before, out),
                    "Traceback" in proc.stderr)


def matrix(images: Path, out: Path, spec: str, stages=STAGES, signals=SIGNALS) -> list[FaultRow]:
    return [inject(images, out, spec, stage, sig) for stage in stages for sig in signals]
