"""What every benchmark shares: timing, medians, markdown tables, and the BENCHMARKS.md log.

Figures are medians over repeats; comparisons are ratios of numbers taken in the same run, so a
busy machine shifts both sides of a ratio alike.
"""

from __future__ import annotations

import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from core.paths import REPO_ROOT

REPO = REPO_ROOT
LOG = REPO / "BENCHMARKS.md"
HEADER = """# Benchmarks

Measurements, not timed tests: each script under `benchmarks/` prints its tables and appends a
dated section here with the exact command (see `benchmarks/README.md`). Figures are medians over
repeated runs; ratios compare numbers taken in the same run. Newest sections are at the bottom.
"""


def machine() -> str:
    """'2 cores, 24 GiB, CPU torch 2.14.1 (wheel +cu130), ...' for the machine running now."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        import torch

        torch_v = torch.__version__.replace("+", " (wheel +") + ")" if "+" in torch.__version__ \
            else torch.__version__
    except ImportError:
        torch_v = "not installed"
    return (f"{os.cpu_count()} cores, {mem_gib:.0f} GiB, CPU torch {torch_v}, "
            f"Python {platform.python_version()}")


def command() -> str:
    """The command line that produced this run, as someone would retype it."""
    module = Path(sys.argv[0]).stem
    return shlex.join([".venv/bin/python", "-m", f"benchmarks.{module}", *sys.argv[1:]])


def seconds(fn: Callable[[], object], repeats: int, warmup: int = 0) -> list[float]:
    """Wall-clock seconds of `repeats` calls after `warmup` unmeasured ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); honest for small samples."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return float(ordered[rank - 1])


def fmt(value: object, digits: int = 1) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "–"
        return f"{value:.{digits}f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], digits: int = 1) -> str:
    """A GitHub markdown table; floats get `digits` decimals."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v, digits) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def record(title: str, blocks: Sequence[str], write: bool = True) -> str:
    """Print a dated section and append it to BENCHMARKS.md (unless write is False)."""
    stamp = datetime.now().strftime("%Y-%m-%d %H:%M")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    text = "\n\n".join([f"## {title} — {stamp}",
                        f"Machine: {machine()}; load average at the end {load}.  ",
                        f"Command: `{command()}`", *blocks]) + "\n"
    print("\n" + text)
    if write:
        if not LOG.exists():
            LOG.write_text(HEADER, encoding="utf-8")
        with LOG.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
    return text


def log(msg: str) -> None:
    """Progress on stderr, so stdout holds only the tables."""
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)
