"""The structural model (sub-arrays and tile pairs, SI units) against the fast engine."""

import numpy as np
import pytest

import gaincell as gc
from gaincell.array import SubArray, TiledHead


@pytest.mark.parametrize("over", [
    dict(), dict(leak_per_step=2e-2), dict(cell_model="linear"),
    dict(q_levels=None, kv_levels=None, out_levels=None, leak_per_step=1e-3),
    dict(cell_model="table", iv_table=gc.IVTable.leroux2025(), out_levels=None),
])
def test_tiled_head_equals_engine(over):
    cfg = gc.AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=16, array_cols=8,
                                        array_rows=8, **over)
    rng = np.random.default_rng(4)
    T = 40
    q = rng.uniform(0, 1, (1, 1, T, 8))
    k = rng.uniform(0, 0.9, (1, 1, T, 8))
    v = rng.uniform(0, 0.9, (1, 1, T, 8))
    y = gc.GainCellAttention(cfg).forward(q, k, v)[0, 0]
    head = TiledHead(cfg)
    ys = np.array([head.step(q[0, 0, t], k[0, 0, t], v[0, 0, t]) for t in range(T)])
    # table model: the engine samples the spline on a 4097-point table (linear interpolation);
    # the structural model evaluates the spline itself
    tol = 1e-6 if over.get("cell_model") == "table" else 1e-9
    assert np.abs(ys - y).max() <= tol


def test_subarray_leaks_and_reads():
    d = gc.DeviceParams()
    sa = SubArray(2, 3, d, leak_per_step=0.1)
    sa.write([0.9, 0.0], t=0, col=1)
    assert np.all(sa.read([1e-9, 1e-9], t=5)[[0, 2]] == 0)   # empty columns
    np.testing.assert_allclose(sa.stored_at(10)[:, 1], 0.45 + np.array([0.45, -0.45]) *
                               np.exp(-1.0))


def test_subarray_write_validation():
    sa = SubArray(2, 3, gc.DeviceParams(), leak_per_step=0.0)
    with pytest.raises(ValueError, match="exactly one"):
        sa.write([0.5, 0.5], t=0)
    with pytest.raises(ValueError, match="col = 3"):
        sa.write([0.5, 0.5], t=0, col=3)
    with pytest.raises(ValueError, match="2 entries"):
        sa.write([0.5, 0.5], t=0, row=0)
    head = TiledHead(gc.AttentionConfig.leroux2025(n_heads=1, head_dim=4, window=8,
                                                   array_cols=4))
    with pytest.raises(ValueError, match="allowed \\(4,\\)"):
        head.step(np.zeros(3), np.zeros(4), np.zeros(4))
