"""Grid rows, pages and showcase samples of gallery ids."""

from __future__ import annotations

import random


def chunk(seq: list, size: int) -> list[list]:
    """Rows of a grid."""
    return [seq[i:i + size] for i in range(0, len(seq), size)]


def page_count(n: int, per_page: int) -> int:
    return max(1, -(-n // per_page))


def page_ids(n: int, page: int, per_page: int) -> list[int]:
    """Gallery ids on 1-based `page` (clamped to the last page)."""
    page = max(1, min(page, page_count(n, per_page)))
    start = (page - 1) * per_page
    return list(range(start, min(n, start + per_page)))


def sample_ids(n: int, count: int, seed: int) -> list[int]:
    """A reproducible random sample of gallery ids for a showcase grid."""
    return sorted(random.Random(seed).sample(range(n), min(n, count)))
