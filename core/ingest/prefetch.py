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
    """`fn(item)` for every item, in order, computed up to `window` items ahead."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque = deque()
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= window:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
