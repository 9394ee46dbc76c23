"""Pareto fronts of two objectives, both minimized (cost and error)."""

from __future__ import annotations

import numpy as np

__all__ = ["pareto_front"]


def pareto_front(x, y) -> np.ndarray:
    """Indices of the non-dominated points of ``(x, y)``, both minimized, sorted by ``x``.

    A point is dominated when another is no worse in both and better in one. Points with a
    NaN or infinite coordinate are left out; of identical points the first is kept.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y have {x.size} and {y.size} values: allowed the same number")
    ok = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    order = ok[np.lexsort((ok, y[ok], x[ok]))]   # by x, then y, then index
    front = []
    best = np.inf
    for i in order:
        if y[i] < best:
            front.append(i)
            best = y[i]
    return np.asarray(front, dtype=np.int64)
