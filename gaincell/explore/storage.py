"""Result storage of a study folder: rows on disk as points finish, resume, final tables.

Layout of ``DIR``:

- ``parts/part-NNNNNN.parquet``: the rows of finished points, in the order they finished,
  each file written atomically at most ``flush_s`` seconds after its first row finished (and
  at every exit path, Ctrl-C included). A killed run loses at most that much work.
- ``results.parquet``, ``results.csv``: one tidy table (one row per point: ``index``,
  ``status``, ``error``, every swept key, cost, accuracy, ``eval_s``), streamed from the parts
  at the end of every run (complete or interrupted), each written atomically.
- ``run.json``: the run record (see :mod:`gaincell.explore.runner`).

Resuming reads only the ``index`` column of the parts into the set of finished points: a bitmap
(1 bit per point) for spaces of up to ``BITMAP_MAX_POINTS`` points, else a set of the finished
indices, so memory follows the finished points, not the size of the space.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from gaincell._io import atomic_write_with, remove_stale

__all__ = ["ResultStore", "schema_for", "BITMAP_MAX_POINTS"]

#: Largest space whose finished points are kept as a bitmap (2^30 points: 128 MiB).
BITMAP_MAX_POINTS = 2**30

_PART = re.compile(r"^part-(\d{6,})\.parquet$")


def _arrow_type(values: Iterable[Any], is_range: bool, integer: bool):
    import pyarrow as pa

    if is_range:
        return pa.int64() if integer else pa.float64()
    vals = [v for v in values if v is not None]
    if vals and all(isinstance(v, bool) for v in vals):
        return pa.bool_()
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        return pa.int64()
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
           for v in vals):
        return pa.float64()
    return pa.string()


def schema_for(space, accuracy: bool, model: bool = False):
    """The table schema of a study: fixed before any point runs."""
    import pyarrow as pa

    from gaincell.explore.evaluate import COST_COLUMNS, COST_MODE_COLUMN, accuracy_columns

    cols = [("index", pa.int64()), ("status", pa.string()), ("error", pa.string())]
    for a in space.axes:
        cols.append((a.key, _arrow_type(a.values or (), a.is_range, a.integer)))
    cols += [(c, pa.float64()) for c in COST_COLUMNS] + [(COST_MODE_COLUMN, pa.string())]
    if accuracy:
        cols.append(("chips", pa.int64()))
        cols += [(c, pa.float64()) for c in accuracy_columns()]
    if model:
        cols.append(("val_loss", pa.float64()))
    cols.append(("eval_s", pa.float64()))
    return pa.schema(cols)


def _coerce(row: dict, schema) -> dict:
    import pyarrow as pa

    out = {}
    for f in schema:
        v = row.get(f.name)
        if v is not None and f.type == pa.string() and not isinstance(v, str):
            v = str(v)
        elif isinstance(v, float) and math.isnan(v) and f.type == pa.float64():
            v = float("nan")
        out[f.name] = v
    return out


class _Done:
    """The set of finished point indices: a bitmap for small spaces, else a Python set."""

    def __init__(self, n_points: int):
        self._bits = (np.zeros((n_points + 7) // 8, dtype=np.uint8)
                      if n_points <= BITMAP_MAX_POINTS else None)
        self._set: set[int] = set()
        self.count = 0

    def add_many(self, idx: np.ndarray) -> None:
        idx = np.unique(np.asarray(idx, dtype=np.int64))
        if self._bits is not None:
            new = idx[(self._bits[idx >> 3] >> (idx & 7) & 1) == 0]
            np.bitwise_or.at(self._bits, new >> 3, (1 << (new & 7)).astype(np.uint8))
            self.count += int(new.size)
        else:
            before = len(self._set)
            self._set.update(idx.tolist())
            self.count += len(self._set) - before

    def add(self, i: int) -> bool:
        """Mark ``i``; True when it was new."""
        if i in self:
            return False
        if self._bits is not None:
            self._bits[i >> 3] |= np.uint8(1 << (i & 7))
        else:
            self._set.add(i)
        self.count += 1
        return True

    def __contains__(self, i: int) -> bool:
        if self._bits is not None:
            return bool(self._bits[i >> 3] >> (i & 7) & 1)
        return i in self._set


class ResultStore:
    """Rows of one study folder.

    Parameters
    ----------
    out : path
        The study folder (created).
    schema : pyarrow.Schema
        From :func:`schema_for`.
    n_points : int
        Points in the space (size of the finished-points bitmap).
    flush_s : float
        Longest time a finished row waits in memory before its part is written, s.
    """

    def __init__(self, out, schema, n_points: int, flush_s: float = 1.0):
        self.out = Path(out)
        self.parts = self.out / "parts"
        self.parts.mkdir(parents=True, exist_ok=True)
        self.schema, self.n_points, self.flush_s = schema, n_points, float(flush_s)
        for folder in (self.parts, self.out):   # temporaries of killed writers
            remove_stale(folder)
        self.done = _Done(n_points)
        self.n_failed = 0
        self._seq = 0
        import pyarrow.parquet as pq

        for seq, path in self._part_files():
            self._seq = max(self._seq, seq + 1)
            t = pq.read_table(path, columns=["index", "status"])
            if t.schema.field("index").type != schema.field("index").type:
                raise ValueError(f"{path}: not a part of this study's table")
            idx = t.column("index").to_numpy()
            if idx.size and (idx.min() < 0 or idx.max() >= n_points):
                raise ValueError(f"{path}: point index out of range [0, {n_points}): the "
                                 f"folder holds another study's results")
            self.done.add_many(idx)
            self.n_failed += sum(1 for s in t.column("status").to_pylist() if s != "ok")
        self._pending: list[dict] = []
        self._t_first: float | None = None

    def _part_files(self) -> list[tuple[int, Path]]:
        out = []
        for p in self.parts.iterdir():
            m = _PART.match(p.name)
            if m:
                out.append((int(m.group(1)), p))
        return sorted(out)

    @property
    def n_done(self) -> int:
        return self.done.count

    def is_done(self, index: int) -> bool:
        return index in self.done

    def add(self, row: dict) -> None:
        """Keep a finished row; written within ``flush_s`` seconds."""
        i = int(row["index"])
        self._pending.append(_coerce(row, self.schema))
        if self.done.add(i):
            self.n_failed += row.get("status") != "ok"
        if self._t_first is None:
            self._t_first = time.monotonic()
        if time.monotonic() - self._t_first >= self.flush_s:
            self.flush()

    def flush(self) -> None:
        """Write the pending rows as one part (atomically)."""
        if not self._pending:
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(self._pending, schema=self.schema)
        path = self.parts / f"part-{self._seq:06d}.parquet"
        atomic_write_with(path, lambda tmp: pq.write_table(table, tmp))
        self._seq += 1
        self._pending = []
        self._t_first = None

    def compact(self) -> tuple[Path, Path]:
        """Stream every part into ``results.parquet`` and ``results.csv`` (atomically)."""
        import pyarrow.csv as pcsv
        import pyarrow.parquet as pq

        self.flush()
        parts = [p for _, p in self._part_files()]

        def write_parquet(tmp: str) -> None:
            with pq.ParquetWriter(tmp, self.schema) as w:
                for p in parts:
                    w.write_table(pq.read_table(p, schema=self.schema))

        def write_csv(tmp: str) -> None:
            with pcsv.CSVWriter(tmp, self.schema) as w:
                for p in parts:
                    w.write_table(pq.read_table(p, schema=self.schema))

        pq_path = atomic_write_with(self.out / "results.parquet", write_parquet)
        csv_path = atomic_write_with(self.out / "results.csv", write_csv)
        return pq_path, csv_path
