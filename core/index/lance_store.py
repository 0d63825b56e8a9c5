"""`--store lance`: the items' columns and their vectors in one LanceDB table, disk-resident.

Layout of a Lance index version folder (published by core.index.versions like any other, so the
build lock, the ownership check and the atomic symlink flip still apply):
`manifest.json` (`"store": "lance"`), `items.lance/` (the LanceDB table `items`: every column of
items.parquet, `id` = row offset, `vector` fixed-size float32 list; an IVF-PQ index on `vector`
above `ANN_MIN_ROWS`), `skipped.jsonl`, `duplicates.json`, `thumbs/`.

Reading keeps the vectors on disk: `LanceVectors` is the `Index.embeddings` of a Lance index, an
array-like that fetches only the rows asked for, so the app, neighbours, clusters and the
recommender work unchanged, and `ann_top_k` asks Lance for candidates and re-scores them exactly
from their stored vectors. lancedb is imported here only, and only for Lance indexes.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from core.errors import UserError
from core.index.lance_items import ConstantColumns, LanceItems

TABLE = "items"
FOLDER = f"{TABLE}.lance"
ANN_MIN_ROWS = 40_000  # below this, exact search over the table (as core.query.search does)
CACHE_ROWS = 40_000  # a table this small is read into memory once for exact scans (≤ 61 MB)
SCAN_ROWS = 65_536  # rows per chunk when a larger table is streamed
# Measured on ConSE-shaped vectors (BENCHMARKS.md, "Scale (stores)" and "Lance ANN sweep"):
# text queries lie away from the image cloud, so they need many partitions probed, and their
# PQ distances are coarse, so a shortlist is re-ranked exactly by Lance. At 10M items (3,162
# partitions) the shortlist, not the probes, bounds recall: nprobes 316 / refine 100 gave
# recall@10 0.90; 200 / 600 gave 0.958 and 0.98+ on two builds of the same vectors (k-means
# differs: 128 / 405 gave 0.972 on one, 0.943 on the other).
# With 96 sub-vectors (FINE_PQ_ROWS) 200 / 100 gave 0.960 and 200 / 200 0.971 at 57 ms.
NPROBE_SHARE = 0.1  # of the partitions (sqrt(n) of them), at least MIN_NPROBES ...
MIN_NPROBES = 16
MAX_NPROBES = 200  # ... and at most this many (10M: 316 probes cost 1.3x for +0.003)
REFINE_FACTOR = 100  # at least; 1M sweep: 20 -> recall@10 0.85, 60 -> 0.94, 100 -> 0.98
RERANK_SHARE = 0.01  # shortlist = this share of the rows the probes scanned (10M: refine 633)
FINE_RERANK_SHARE = 0.0032  # their shortlist share: 10M, 200 probes, refine 200 gave 0.971
FINE_PQ_ROWS = 4_000_000  # from this many rows, PQ codes of FINE_PQ_WIDTH dims per sub-vector:
# a far shorter exact re-rank shortlist reaches the same recall (BENCHMARKS.md, 10M with 96)
PQ_WIDTH, FINE_PQ_WIDTH = 8, 4  # dimensions per PQ sub-vector


def _lancedb():
    """lancedb, imported on first use (the app's default install and memory never see it)."""
    for name in ("LANCE_LOG", "LANCEDB_LOG"):  # lance logs k-means notes as warnings
        os.environ.setdefault(name, "error")
    try:
        import lancedb
    except ImportError as e:
        raise UserError("this is a Lance index (--store lance): install lancedb to read it "
                        "(pip install -r requirements-scale.txt; docs/DEPLOY.md)") from e
    return lancedb


ItemRows = Callable[[int, int], pd.DataFrame]  # (start, stop) -> those rows of the items table


def write_lance(stage: Path | str, items: pd.DataFrame | ItemRows, emb: np.ndarray,
                ann_min_rows: int = ANN_MIN_ROWS) -> dict:
    """Write the table into `stage` (a version folder or an object-store URI); returns the
    manifest's `lance` section (index kind and settings, the columns holding one value in every
    row). Rows go to Lance SCAN_ROWS at a time, so `emb` may be a memmap larger than RAM and
    `items` a function building each slice of the table (a 10M-row frame of Python strings is
    gigabytes); a frame's column types come from the whole frame, a function's from its first
    slice."""
    n, dim = emb.shape
    if callable(items):
        rows, schema = items, _schema(items(0, min(n, SCAN_ROWS)), dim)
    else:
        rows, schema = (lambda a, b: items.iloc[a:b]), _schema(items, dim)
    constant = ConstantColumns()
    reader = pa.RecordBatchReader.from_batches(schema, (
        constant.see(_batch(rows(a, min(n, a + SCAN_ROWS)), emb[a:a + SCAN_ROWS], a, schema))
        for a in range(0, n, SCAN_ROWS)))
    tbl = _lancedb().connect(str(stage)).create_table(TABLE, reader)
    info: dict = {"table": TABLE, "ann": None, "constant": constant.values or {}}
    if n >= ann_min_rows:
        from lancedb.index import IvfPq

        partitions = max(1, int(math.sqrt(n)))
        sub_vectors = pq_sub_vectors(n, dim)
        tbl.create_index("vector", config=IvfPq(  # the column: lancedb's new-style call
            distance_type="cosine", num_partitions=partitions, num_sub_vectors=sub_vectors))
        info["ann"] = {"type": "IVF_PQ", "partitions": partitions, "sub_vectors": sub_vectors}
    return info


def pq_sub_vectors(n: int, dim: int) -> int:
    """PQ sub-vectors for a table of n rows: dim / PQ_WIDTH (dim / FINE_PQ_WIDTH from
    FINE_PQ_ROWS on), or one per dimension when dim does not divide."""
    width = FINE_PQ_WIDTH if n >= FINE_PQ_ROWS else PQ_WIDTH
    return dim // width if dim % width == 0 else dim


def _schema(items: pd.DataFrame, dim: int):
    """The table's schema: the items' columns, then `id` and the fixed-size `vector`."""
    schema = pa.Schema.from_pandas(items, preserve_index=False).remove_metadata()
    return schema.append(pa.field("id", pa.int64())).append(
        pa.field("vector", pa.list_(pa.float32(), dim)))


def _batch(items: pd.DataFrame, emb: np.ndarray, start: int, schema):
    """One record batch: rows start.. of the items, their ids and their vectors (copied from a
    memmap slice here, so only one batch of vectors is in RAM at a time)."""
    flat = pa.array(np.ascontiguousarray(emb, np.float32).ravel())
    columns = [pa.array(items[f.name], type=f.type, from_pandas=True)
               for f in schema if f.name not in ("id", "vector")]
    columns += [pa.array(np.arange(start, start + len(items), dtype=np.int64)),
                pa.FixedSizeListArray.from_arrays(flat, emb.shape[1])]
    return pa.RecordBatch.from_arrays(columns, schema=schema)


class LanceVectors:
    """The vectors of a Lance table as a read-only (n, d) float32 array-like: indexing fetches
    only those rows (in the order asked), `@` streams the table in chunks, `np.asarray` reads it
    whole (what clustering or the recommender over a whole collection needs anyway)."""

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, table, n: int, dim: int) -> None:
        self.table, self.shape = table, (int(n), int(dim))
        self._cached: np.ndarray | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def take(self, ids) -> np.ndarray:
        """Rows `ids` (any order, repeats allowed) as an (len(ids), d) array."""
        ids = np.asarray(ids, dtype=np.int64).ravel()
        if self._cached is not None or not len(ids):
            return self.array()[ids] if len(ids) else np.zeros((0, self.shape[1]), np.float32)
        if ids.min() < 0 or ids.max() >= self.shape[0]:
            raise IndexError(f"row ids must lie in 0..{self.shape[0] - 1}")
        unique = np.unique(ids)
        got = self.table.take_offsets(unique.tolist()).select(["id", "vector"]).to_arrow()
        rows = _vectors(got, self.shape[1])  # Lance returns them by offset, not as asked
        order = np.asarray(got.column("id").to_numpy(), np.int64)
        return rows[np.searchsorted(order, ids)] if not np.array_equal(order, ids) else rows

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.take([int(key) % self.shape[0]])[0]
        if isinstance(key, slice):
            return self.take(np.arange(self.shape[0])[key])
        key = np.asarray(key)
        if key.dtype == bool:
            return self.take(np.flatnonzero(key))
        return self.take(key)

    def chunks(self):
        """(start, rows) over the whole table, SCAN_ROWS at a time, in row order."""
        if self._cached is not None or self.shape[0] <= CACHE_ROWS:
            yield 0, self.array()
            return
        for start in range(0, self.shape[0], SCAN_ROWS):
            stop = min(self.shape[0], start + SCAN_ROWS)
            got = self.table.take_offsets(list(range(start, stop))).select(["vector"]).to_arrow()
            yield start, _vectors(got, self.shape[1])

    def __matmul__(self, vec: np.ndarray) -> np.ndarray:
        out = np.empty(self.shape[0], np.float32)
        for start, rows in self.chunks():
            out[start:start + len(rows)] = rows @ vec
        return out

    def array(self) -> np.ndarray:
        """The whole matrix; kept for small tables (exact search scans it every query)."""
        if self._cached is not None:
            return self._cached
        got = self.table.search().select(["vector"]).limit(None).to_arrow()
        arr = _vectors(got, self.shape[1])
        if self.shape[0] <= CACHE_ROWS:
            self._cached = arr
        return arr

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        arr = self.array()
        return arr if dtype is None else arr.astype(dtype, copy=False)


def _vectors(table, dim: int) -> np.ndarray:
    column = table.column("vector").combine_chunks()
    if not len(column):
        return np.zeros((0, dim), np.float32)
    return np.asarray(column.values.to_numpy(zero_copy_only=False), np.float32).reshape(-1, dim)


def read_lance(files: Path | str, manifest: dict) -> tuple[LanceItems, LanceVectors]:
    """(the items, read on demand, and the lazy vectors) of a Lance index; checks the table's
    shape against the manifest and its `id` column in batches (no column is kept in memory;
    vectors were checked finite when the build wrote them)."""
    where = (manifest.get("lance") or {}).get("uri") or str(files)  # s3://…: README, Scaling out
    tbl = _lancedb().connect(where).open_table(TABLE)
    vec_type = tbl.schema.field("vector").type
    dim = int(getattr(vec_type, "list_size", -1))
    n = tbl.count_rows()
    if dim != manifest.get("dim") or n != manifest.get("counts", {}).get("items", n):
        raise ValueError(f"table holds {n} × {dim}-d vectors, manifest says "
                         f"{manifest.get('counts', {}).get('items')} × {manifest.get('dim')}")
    items = LanceItems(tbl, n, [f.name for f in tbl.schema if f.name not in ("id", "vector")],
                       (manifest.get("lance") or {}).get("constant"))
    if "id" in tbl.schema.names:
        items.check_order()
    return items, LanceVectors(tbl, n, dim)


def default_nprobes(partitions: int) -> int:
    share = max(MIN_NPROBES, math.ceil(NPROBE_SHARE * partitions))
    return max(1, min(partitions, MAX_NPROBES, share))


def default_refine(n: int, partitions: int, nprobes: int, want: int,
                   fine: bool = False) -> int:
    """Refine factor whose shortlist (refine × want rows) is RERANK_SHARE of the rows the
    probes scan (n / partitions each; FINE_RERANK_SHARE for `fine`, 4-dim PQ codes), at least
    REFINE_FACTOR: 1M items with 100 probes re-rank 1,000 rows (as measured there), 10M with
    200 re-rank ~6,300 on 48 sub-vectors."""
    scanned = nprobes * n / max(1, partitions)
    share = FINE_RERANK_SHARE if fine else RERANK_SHARE
    return max(REFINE_FACTOR, math.ceil(share * scanned / max(1, want)))


def is_fine(ann: dict | None, dim: int) -> bool:
    """Whether a manifest's `ann` section names FINE_PQ_WIDTH-dim PQ codes (pq_sub_vectors')."""
    return bool(ann) and int(ann.get("sub_vectors", 0)) * FINE_PQ_WIDTH == dim


def ann_settings(ann: dict, n: int, dim: int, want: int, nprobes: int | None = None,
                 refine: int | None = None) -> tuple[int, int]:
    """(nprobes, refine factor) for `want` results from a table of n rows indexed as `ann`
    (the manifest's section): the values given, else the store's defaults for that index."""
    partitions = int(ann["partitions"])
    probes = nprobes if nprobes is not None else default_nprobes(partitions)
    if refine is None:
        refine = default_refine(n, partitions, probes, want, is_fine(ann, dim))
    return probes, refine


def ann_candidates(vectors: LanceVectors, vec: np.ndarray, want: int, nprobes: int,
                   refine: int, items: LanceItems | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(ids, stored vectors) of Lance's `want` best candidates for `vec` (PQ distances over
    `nprobes` partitions, the best `refine` × want of them re-ranked by Lance exactly); their
    item rows come back in the same query and are kept by `items` (a results page shows them:
    10M rows, ten separate takes after the search cost ~30 ms)."""
    got = (vectors.table.search(np.asarray(vec, np.float32), vector_column_name="vector")
           .distance_type("cosine").nprobes(nprobes).refine_factor(refine)
           .limit(want).select(["id", "vector", *(items.varying if items else [])]).to_arrow())
    if items is not None:
        items.keep(got)
    return np.asarray(got.column("id").to_numpy(), np.int64), _vectors(got, vectors.shape[1])
