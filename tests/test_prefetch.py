"""The look-ahead pool stops when its consumer does: a build stopped by Ctrl-C or SIGTERM
must not have worker threads still writing thumbnails into the staging folder it removes."""

from __future__ import annotations

import threading
import time
from contextlib import closing

import pytest

from core.ingest.prefetch import prefetch


def test_results_come_in_order() -> None:
    assert list(prefetch(lambda x: x * x, range(50), workers=3, window=5)) == [x * x for x in
                                                                               range(50)]


def test_closing_early_cancels_what_has_not_started_and_waits_for_what_has() -> None:
    started, finished = [], []
    lock = threading.Lock()

    def slow(x: int) -> int:
        with lock:
            started.append(x)
        time.sleep(0.05)
        with lock:
            finished.append(x)
        return x

    stream = prefetch(slow, range(100), workers=2, window=20)
    with closing(stream):
        assert next(stream) == 0
    # after close: nothing still running, and the queued look-ahead was never started
    assert sorted(started) == sorted(finished)
    assert len(started) <= 4, started
    time.sleep(0.15)
    assert len(finished) == len(started)


def test_an_error_in_the_worker_reaches_the_consumer() -> None:
    def bad(x: int) -> int:
        if x == 3:
            raise ValueError("bad item")
        return x

    got = []
    with pytest.raises(ValueError, match="bad item"):
        for x in prefetch(bad, range(10), workers=2, window=4):
            got.append(x)
    assert got == [0, 1, 2]
