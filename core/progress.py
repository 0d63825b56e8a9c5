"""Progress output for the CLI: log() lines and tqdm bars for build progress callbacks."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from typing import Protocol

LABELS = {"hash": "hashing", "ocr": "reading text (OCR)", "encode": "encoding",
          "annoy": "annoy index"}
Progress = Callable[[str, int, int], None]  # (phase, done, total): how builds report progress


class Summary(Protocol):
    def lines(self) -> list[str]: ...


def log(msg: str) -> None:
    """One progress line on stderr, flushed at once: stdout stays clean for results (--json)."""
    print(msg, file=sys.stderr, flush=True)


def progress_bar(prefix: str = "", phases: Collection[str] | None = None):
    """A bar per phase on stderr (only `phases`, if given); call `.close()` when done."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phases is not None and phase not in phases:
            return
        bar = bars.get(phase)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[phase] = tqdm(total=total, desc=prefix or LABELS.get(phase, phase),
                                     unit="img", file=sys.stderr, leave=False,
                                     dynamic_ncols=True)
        bar.update(done - bar.n)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    update.close = close  # type: ignore[attr-defined]
    return update


def run_with_bar(work: Callable[[Progress], Summary]) -> int:
    """Run a build-like command with progress bars on stderr, then print its summary lines."""
    bar = progress_bar()
    try:
        summary = work(bar)
    finally:
        bar.close()
    print("\n".join(summary.lines()))
    return 0
