"""Ordered look-ahead over a thread pool: decode the next images while the model encodes these.

PIL decoding and torch both release the GIL, so on two cores this overlaps the two; the window
bounds how many decoded images wait in memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def prefetch(fn: Callable[[T], R], items: Iterable[T], workers: int = 2,
             window: int = 16) -> Iterator[R]:
    """`fn(item)` for every item, in order, computed up to `window` items ahead.

    Use it in a `with closing(...)` (or exhaust it): when the consumer stops early, closing
    cancels what has not started and waits for what has, so no worker still writes (a
    thumbnail into a staging folder being removed, say) after the caller has moved on."""
    pool = ThreadPoolExecutor(max_workers=workers)
    pending: deque = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
