"""Spaces: axes, grid / random / Latin-hypercube sampling, lazily and reproducibly."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaincell.explore.space import Axis, Space, parse_axis
from gaincell.params import AttentionConfig
from gaincell.system.spec import SystemSpec


def test_grid_of_values_and_ranges():
    sp = Space([parse_axis("kv_levels", [4, 8]),
                parse_axis("device.tau", {"lo": 1e-4, "hi": 1e-2, "log": True, "num": 3})])
    assert sp.keys == ("device.kv_levels", "device.tau") and len(sp) == 6
    pts = [p for _, p in sp]
    assert pts[0] == {"device.kv_levels": 4, "device.tau": pytest.approx(1e-4)}
    assert pts[4]["device.tau"] == pytest.approx(1e-3)
    assert [sp.point(i) for i in range(6)] == pts
    with pytest.raises(ValueError, match="num"):
        Space([parse_axis("device.tau", {"lo": 1e-4, "hi": 1e-2})])


def test_random_points_are_independent_of_the_others():
    axes = [parse_axis("device.tau", {"lo": 1e-4, "hi": 1e-2, "log": True}),
            parse_axis("window", [64, 128, 256]),
            parse_axis("device.q_levels", {"lo": 2, "hi": 16, "integer": True})]
    a = Space(axes, sample="random", n=1000, seed=3)
    b = Space(axes, sample="random", n=10, seed=3)
    assert a.point(7) == b.point(7) and a.point(7) != Space(axes, "random", 10, seed=4).point(7)
    taus = np.array([a.point(i)["device.tau"] for i in range(1000)])
    assert taus.min() >= 1e-4 and taus.max() <= 1e-2
    # log-uniform: about half of the draws below the geometric mean
    assert 0.4 < np.mean(taus < 1e-3) < 0.6
    qs = {a.point(i)["device.q_levels"] for i in range(1000)}
    assert qs == set(range(2, 17))
    assert {a.point(i)["window"] for i in range(1000)} == {64, 128, 256}


@given(st.integers(1, 200), st.integers(1, 4), st.integers(0, 2**32))
def test_lhs_has_one_point_per_stratum(n, d, seed):
    axes = [Axis(f"device.sigma_{s}", lo=0.0, hi=1.0) for s in
            ("gain_mismatch", "tau_mismatch", "read_noise", "write_noise")[:d]]
    sp = Space(axes, sample="lhs", n=n, seed=seed)
    u = np.array([[sp.point(i)[a.key] for a in axes] for i in range(n)])
    for j in range(d):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))


@given(st.floats(0, 1, exclude_max=True), st.integers(1, 50), st.integers(0, 50))
def test_axis_values_stay_in_range(u, lo, span):
    hi = lo + span
    assert lo <= Axis("window", lo=lo, hi=hi, integer=True).at(u) <= hi
    assert lo <= Axis("window", lo=lo, hi=hi, integer=True, log=True).at(u) <= hi
    assert lo <= Axis("device.tau", lo=float(lo), hi=float(hi)).at(u) <= hi
    vals = tuple(range(span + 1))
    assert Axis("window", values=vals).at(u) in vals


def test_bad_axes_and_spaces_name_what_is_wrong():
    with pytest.raises(ValueError, match="space is empty"):
        Space([])
    with pytest.raises(ValueError, match="'window' is empty"):
        parse_axis("window", [])
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['step'\]"):
        parse_axis("device.tau", {"lo": 1, "hi": 2, "step": 1})
    with pytest.raises(ValueError, match="lo <= hi"):
        parse_axis("device.tau", {"lo": 2, "hi": 1})
    with pytest.raises(ValueError, match="lo > 0"):
        parse_axis("device.tau", {"lo": 0, "hi": 1, "log": True})
    with pytest.raises(ValueError, match=r"n = None is invalid for sample = 'random'"):
        Space([parse_axis("window", [64])], sample="random")
    with pytest.raises(ValueError, match=r"allowed an integer in \[1, 10000000\]"):
        Space([parse_axis("window", [64])], sample="lhs", n=10**8)
    with pytest.raises(ValueError, match="sample = 'sobol'"):
        Space([parse_axis("window", [64])], sample="sobol")
    with pytest.raises(ValueError, match="given twice"):
        Space([parse_axis("kv_levels", [4]), parse_axis("device.kv_levels", [8])])


def test_validation_names_the_key_and_the_range():
    cfg, spec = AttentionConfig.leroux2025(), SystemSpec()
    Space([parse_axis("device.tau", {"lo": 1e-4, "hi": 1e-2})], "random", 5).validate(cfg, spec)
    with pytest.raises(ValueError, match=r"device.tau = -0.1: DeviceParams.tau = -0.1 is "
                                         r"invalid: allowed > 0 s"):
        Space([parse_axis("device.tau", {"lo": -0.1, "hi": 1e-2})], "random", 5
              ).validate(cfg, spec)
    with pytest.raises(ValueError, match=r"system.technology_nm = 1.*\[3.0, 180.0\] nm"):
        Space([parse_axis("system.technology_nm", [28, 1])]).validate(cfg, spec)
