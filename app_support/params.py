"""Parsing what a visitor can type or put in a URL.

Everything untrusted passes through these helpers, which only ever return values from a known
list or a bounded range: no page takes a path, an index name or an image id from input without
them.
"""

from __future__ import annotations

MAX_QUERY_CHARS = 500


def pick_name(value: object, names: list[str]) -> str | None:
    """`value` only if it is exactly one of the known names (URL parameters are untrusted)."""
    return value if isinstance(value, str) and value in names else None


def parse_int(value: object, default: int, lo: int, hi: int) -> int:
    """An integer clamped to [lo, hi]; anything unparsable gives the default."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return default
    return max(lo, min(hi, number))


def parse_float(value: object, default: float, lo: float, hi: float) -> float:
    try:
        number = float(str(value).strip())
    except (TypeError, ValueError):
        return default
    if number != number:  # NaN
        return default
    return max(lo, min(hi, number))


def parse_id(value: object, n: int) -> int | None:
    """A gallery id in 0..n-1, or None: never clamped, a wrong id is simply not used."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < n else None


def clean_text(value: object) -> str:
    """A query string from the URL or a form: trimmed and bounded."""
    return value.strip()[:MAX_QUERY_CHARS] if isinstance(value, str) else ""
