"""The recommender's votes file: what a session exports, and its strict reading.

A visitor can upload any file here, so every field is checked, and each way it can be wrong is
one clear UserError naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.errors import UserError

FORMAT = "imgsearch-recommender"
VERSION = 1
# Import costs one SVM fit on all the votes (O(votes^2)) and one scoring of the collection: a
# file is a visitor's input, so its size in votes is bounded like any other.
MAX_VOTES = 2000
MAX_HISTORY = 10 * MAX_VOTES  # a revote after a skip adds a row without adding a vote


@dataclass
class SavedVotes:
    seed: int
    C: float
    gamma: str | float
    min_votes_per_class: int
    votes: dict[int, bool] = field(default_factory=dict)
    skipped: set[int] = field(default_factory=set)
    history: list[tuple[int, bool | None, bool]] = field(default_factory=list)


def read_votes(s: str | bytes, n: int) -> SavedVotes:
    """Parse and validate a votes file for a collection of n images."""
    try:
        data = json.loads(s)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"Not a recommender file: invalid JSON ({exc}).") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError("Not a recommender file: missing the 'imgsearch-recommender' format.")
    if data.get("version") != VERSION:
        raise UserError(f"Unsupported recommender file version {data.get('version')!r}.")
    if data.get("n") != n:
        raise UserError(
            f"This file was made for a collection of {data.get('n')} images, "
            f"the current one has {n}."
        )
    gamma = data.get("gamma", "scale")
    if not (gamma in ("scale", "auto") or _is_number(gamma)):
        raise UserError(f"Bad gamma {gamma!r} in recommender file.")
    saved = SavedVotes(seed=_field_int(data, "seed", 0), C=_field_number(data, "C", 1.0),
                       gamma=gamma, min_votes_per_class=_field_int(data, "min_votes_per_class", 3))
    skipped = data.get("skipped", [])
    if not isinstance(skipped, list):
        raise UserError("Bad 'skipped' in recommender file: expected a list of ids.")
    if len(skipped) > n:
        raise UserError(f"This file skips {len(skipped)} images; the collection has {n}.")
    votes = _rows(data, "votes", 2)
    most = min(MAX_VOTES, n)
    if len(votes) > most:
        raise UserError(f"This file holds {len(votes)} votes; an import takes at most {most} "
                        f"(one per image, and no more than {MAX_VOTES}).")
    history = _rows(data, "history", 3)
    if len(history) > MAX_HISTORY:  # cheap rows (no fit), but still a visitor's input
        raise UserError(f"This file's history holds {len(history)} rows; at most {MAX_HISTORY}.")
    for row in votes:
        saved.votes[_file_id(row[0], n)] = _file_bool(row[1], "vote")
    saved.skipped = {_file_id(i, n) for i in skipped}
    for i, p, a in history:
        predicted = None if p is None else _file_bool(p, "prediction")
        saved.history.append((_file_id(i, n), predicted, _file_bool(a, "vote")))
    return saved


def check_params(C: Any, gamma: Any) -> tuple[float, str | float]:
    """C > 0, gamma 'scale', 'auto' or > 0: what SVC accepts, as one clear error otherwise."""
    if not _is_number(C) or not np.isfinite(C) or C <= 0:
        raise UserError(f"C must be a positive number, got {C!r}.")
    if gamma in ("scale", "auto"):
        return float(C), str(gamma)
    if not _is_number(gamma) or not np.isfinite(gamma) or gamma <= 0:
        raise UserError(f"gamma must be 'scale', 'auto' or a positive number, got {gamma!r}.")
    return float(C), float(gamma)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _field_number(data: dict[str, Any], key: str, default: float) -> float:
    v = data.get(key, default)
    if not _is_number(v):
        raise UserError(f"Bad '{key}' in recommender file: expected a number, got {v!r}.")
    return float(v)


def _field_int(data: dict[str, Any], key: str, default: int) -> int:
    v = data.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool):
        raise UserError(f"Bad '{key}' in recommender file: expected an integer, got {v!r}.")
    return v


def _rows(data: dict[str, Any], key: str, width: int) -> list[list[Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == width for r in rows):
        raise UserError(f"Bad '{key}' in recommender file: expected rows of {width} values.")
    return rows


def _file_id(v: Any, n: int) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < n:
        raise UserError(f"Bad image id {v!r} in recommender file (this collection has 0..{n - 1}).")
    return v


def _file_bool(v: Any, what: str) -> bool:
    if not isinstance(v, bool):
        raise UserError(f"Bad {what} {v!r} in recommender file: expected true or false.")
    return v
