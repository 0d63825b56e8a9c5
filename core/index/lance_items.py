"""The items table of a Lance index, read on demand instead of whole at open.

At 10M items the table is ~3 GB as a pandas frame of Python strings; a page of results needs
ten rows of it. `LanceItems` is `Index.items` for a Lance index: it answers the part of the
DataFrame interface the app, the CLI and the analyses use (`at[i, col]`, `iloc[i]`,
`loc[ids, cols]`, `len`, `columns`, `col in items`, `items[col]`, `items[[cols]]`, `get`),
taking only the rows asked for from Lance (a few thousand recent rows are kept), while a whole
column (hashes for duplicates, facets for the filters) is read by projection when asked for, and
never kept. The folder store keeps its plain DataFrame.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ROW_CACHE = 4096  # rows kept after a take: result pages and detail views reread their rows
SCAN_BATCH = 65_536  # rows per batch when a whole column is checked
NEVER_CONSTANT = ("id", "vector", "path", "hash")  # always read: the app checks or opens them
Scalar = str | int | float | bool


class ConstantColumns:
    """The columns holding one value in every row, found while the writer streams its batches
    (the manifest keeps them). Lance's take of such a column (a run-length page) cost ~1 ms per
    fragment touched at 10M rows, 10x a varying column's: ten hits' rows took 67 ms, 4.6 ms
    without them (a collection's root, empty licence or source columns are like this)."""

    def __init__(self) -> None:
        self.values: dict[str, Scalar] | None = None  # None until the first batch

    def see(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        found = {}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if name in NEVER_CONSTANT or (self.values is not None and name not in self.values):
                continue
            value = _single_value(column)
            if value is not None and (self.values is None or self.values[name] == value):
                found[name] = value
        self.values = found
        return batch


def _single_value(column: pa.Array) -> Scalar | None:
    """The value every row holds, when it is one non-null scalar (JSON-able), else None."""
    kind = column.type
    if not len(column) or column.null_count or not (
            pa.types.is_string(kind) or pa.types.is_large_string(kind)
            or pa.types.is_integer(kind) or pa.types.is_floating(kind)
            or pa.types.is_boolean(kind)):
        return None
    first = column[0]
    if not pc.all(pc.equal(column, first)).as_py():
        return None
    value = first.as_py()
    return None if isinstance(value, float) and not np.isfinite(value) else value


class LanceItems:
    """Row i is Lance row offset i (the table's `id` column); see the module doc."""

    def __init__(self, table, n: int, columns: Sequence[str],
                 constant: dict[str, Scalar] | None = None) -> None:
        self.table, self._n = table, int(n)
        self.columns = pd.Index(list(columns))
        self.constant = {k: v for k, v in (constant or {}).items()  # as the manifest says
                         if k in self.columns and k not in NEVER_CONSTANT
                         and isinstance(v, Scalar)}
        self._varying = [c for c in self.columns if c not in self.constant]
        self.index = pd.RangeIndex(self._n)
        self._rows: OrderedDict[int, dict] = OrderedDict()
        self._lock = threading.Lock()  # app sessions share one loaded index across threads
        self.at, self.iloc, self.loc = _At(self), _ILoc(self), _Loc(self)

    def __len__(self) -> int:
        return self._n

    @property
    def shape(self) -> tuple[int, int]:
        return self._n, len(self.columns)

    @property
    def cached_rows(self) -> int:
        """How many rows are in memory (0 right after opening)."""
        return len(self._rows)

    def __contains__(self, name: object) -> bool:
        return name in self.columns

    def __getitem__(self, key):
        if isinstance(key, str):
            return self.column(key)
        return self.frame(list(key))

    def get(self, name: str, default=None):
        return self.column(name) if name in self.columns else default

    def rows(self, ids: Sequence[int] | np.ndarray) -> list[dict]:
        """Rows `ids` (any order, repeats allowed) as dicts of their columns, fetched from Lance
        in one take for those not already kept."""
        ids = [int(i) for i in np.asarray(ids, dtype=np.int64).ravel()]
        bad = [i for i in ids if not 0 <= i < self._n]
        if bad:
            raise KeyError(f"row {bad[0]} is not in 0..{self._n - 1}")
        with self._lock:  # the kept rows read now: another thread may drop them meanwhile
            have = {i: self._rows[i] for i in ids if i in self._rows}
        missing = sorted(set(ids) - have.keys())
        fetched = self._rows_of(self.table.take_offsets(missing).select(
            ["id", *self._varying]).to_arrow()) if missing else {}
        have.update(fetched)
        self._keep(fetched, ids)
        return [have[i] for i in ids]

    @property
    def varying(self) -> list[str]:
        """The columns a take reads (the constant ones come from the manifest)."""
        return list(self._varying)

    def keep(self, got: pa.Table) -> None:
        """Keep rows a search brought back with its hits (`id` and the `varying` columns), so
        the hits' `item` calls that follow take nothing more."""
        fetched = self._rows_of(got.select(["id", *self._varying]))
        self._keep(fetched, list(fetched))

    def _keep(self, fetched: dict[int, dict], used: list[int]) -> None:
        with self._lock:
            self._rows.update(fetched)
            for i in used:
                if i in self._rows:
                    self._rows.move_to_end(i)
            while len(self._rows) > ROW_CACHE:
                self._rows.popitem(last=False)

    def _rows_of(self, got: pa.Table) -> dict[int, dict]:
        frame = got.to_pandas()  # the same value types as the folder store's parquet read
        keys = frame.pop("id").to_numpy()
        return {int(k): {c: self.constant[c] if c in self.constant else row[c]
                         for c in self.columns}
                for k, row in zip(keys, frame.to_dict("records"), strict=True)}

    def take(self, ids: Sequence[int] | np.ndarray, columns: Sequence[str] | None = None
             ) -> pd.DataFrame:
        """Rows `ids` in the order asked, labelled by their ids (as `df.loc[ids]` is)."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        cols = list(self.columns if columns is None else columns)
        unknown = [c for c in cols if c not in self.columns]
        if unknown:
            raise KeyError(unknown[0])
        return pd.DataFrame.from_records(self.rows(ids), columns=cols, index=ids) if len(ids) \
            else pd.DataFrame(columns=cols)

    def column(self, name: str) -> pd.Series:
        """A whole column, read by projection (not kept: whole-collection tools ask for it)."""
        if name not in self.columns:
            raise KeyError(name)
        got = self.table.search().select([name]).limit(None).to_arrow()
        return got.column(name).to_pandas().rename(name)

    def frame(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """The whole table or some of its columns as a DataFrame (a build reads it once)."""
        cols = list(self.columns if columns is None else columns)
        return self.table.search().select(cols).limit(None).to_pandas()[cols]

    def batches(self, columns: Sequence[str]) -> Iterator[pa.RecordBatch]:
        """The table's rows in order, SCAN_BATCH at a time, only `columns` of them."""
        yield from self.table.search().select(list(columns)).limit(None).to_batches(SCAN_BATCH)

    def malformed(self, name: str, pattern: str) -> list:
        """Values of column `name` that are not strings fully matching `pattern` (in batches,
        by Arrow: at open, without the column as Python strings)."""
        bad: list = []
        for batch in self.batches([name]):
            values = batch.column(0)
            ok = (pc.match_substring_regex(values, f"^(?:{pattern})$")
                  if pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
                  else pa.array([False] * len(values)))
            bad += values.filter(pc.invert(pc.fill_null(ok, False))).to_pylist()
        return bad

    def check_order(self) -> None:
        """The `id` column must be the row offsets (what every take relies on)."""
        start = 0
        for batch in self.batches(["id"]):
            ids = batch.column(0).to_numpy()
            if not np.array_equal(ids, np.arange(start, start + len(ids))):
                raise ValueError("the table's rows are out of order (id column)")
            start += len(ids)
        if start != self._n:
            raise ValueError(f"the table's scan gave {start} rows, it counts {self._n}")


class _At:
    """`items.at[i, col]`: one value of one row."""

    def __init__(self, items: LanceItems) -> None:
        self.items = items

    def __getitem__(self, key: tuple[int, str]):
        i, name = key
        if name not in self.items.columns:
            raise KeyError(name)
        return self.items.rows([int(i)])[0][name]


class _ILoc:
    """`items.iloc[i]` (a row as a Series) or `items.iloc[ids]` (those rows)."""

    def __init__(self, items: LanceItems) -> None:
        self.items = items

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            i = int(key) + (len(self.items) if key < 0 else 0)
            return pd.Series(self.items.rows([i])[0], dtype=object, name=i)
        ids = np.arange(len(self.items))[key] if isinstance(key, slice) else key
        return self.items.take(ids)


class _Loc:
    """`items.loc[ids, cols]` with row labels = offsets (as the folder store's RangeIndex)."""

    def __init__(self, items: LanceItems) -> None:
        self.items = items

    def __getitem__(self, key):
        ids, cols = key if isinstance(key, tuple) else (key, None)
        if isinstance(ids, (int, np.integer)):
            row = self.items.iloc[int(ids)]
            return row if cols is None else row[cols]
        frame = self.items.take(ids, None if cols is None or isinstance(cols, str) else cols)
        return frame[cols] if isinstance(cols, str) else frame
