"""Pareto fronts against a brute-force oracle."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaincell.explore.pareto import pareto_front


def brute(x, y):
    keep = []
    for i in range(len(x)):
        if not (np.isfinite(x[i]) and np.isfinite(y[i])):
            continue
        dominated = any(
            np.isfinite(x[j]) and np.isfinite(y[j]) and x[j] <= x[i] and y[j] <= y[i]
            and (x[j] < x[i] or y[j] < y[i] or j < i) for j in range(len(x)) if j != i)
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: (x[i], y[i]))


vals = st.one_of(st.integers(0, 6).map(float), st.just(float("nan")))


@given(st.lists(st.tuples(vals, vals), max_size=40))
def test_front_equals_brute_force(pts):
    x = np.array([p[0] for p in pts], dtype=float)
    y = np.array([p[1] for p in pts], dtype=float)
    assert pareto_front(x, y).tolist() == brute(x, y)


def test_front_basics():
    assert pareto_front([3, 1, 2, 4], [1, 3, 2, 0.5]).tolist() == [1, 2, 0, 3]
    assert pareto_front([1, 2], [1, 2]).tolist() == [0]
    assert pareto_front([], []).tolist() == []
    with pytest.raises(ValueError, match="same number"):
        pareto_front([1, 2], [1])
