import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gaincell.device import CellTransfer, eval_poly, interp_lut, poly_read_coeffs_ua
from gaincell.params import LEROUX2025_C_UA, DeviceParams, IVTable

A_PAPER = [0.52136361, 13.61226063, -2.62044562, 46.05483778]


def test_preset_read_coefficients():
    a = CellTransfer(DeviceParams()).read_poly_ua()
    np.testing.assert_allclose(a, A_PAPER, atol=5e-9)


def test_poly_current_is_eq4():
    tr = CellTransfer(DeviceParams())
    vs, vi = np.meshgrid(np.linspace(0, 0.9, 7), np.linspace(0.45, 0.9, 5))
    c = np.array(LEROUX2025_C_UA)
    w = vs - 0.45
    ref = sum(c[i, j] * w**i * vi**j for i in range(4) for j in range(4 - i)) * 1e-6
    np.testing.assert_allclose(tr.current(vs, vi), ref, rtol=1e-13)
    i_rails = tr.current([0.0, 0.9]) * 1e6
    np.testing.assert_allclose(i_rails, [-10.33, 10.31], atol=0.01)  # paper: about +-10.3 uA


def test_charge_is_current_times_width():
    tr = CellTransfer(DeviceParams())
    np.testing.assert_allclose(tr.charge(0.8, 7.5e-9), tr.current(0.8) * 7.5e-9)
    with pytest.raises(ValueError, match="pulse_width"):
        tr.charge(0.8, -1e-9)


def test_linear_model():
    tr = CellTransfer(DeviceParams(cell_model="linear"))
    np.testing.assert_allclose(tr.read_poly_ua(), [0, 19.3, 0, 0])
    np.testing.assert_allclose(tr.current(0.55), 19.3 * 0.1 * 1e-6)
    assert tr.current(0.55, 0.45) == 0.0   # idle word line


def test_table_model_reproduces_sweep_at_grid_points():
    t = IVTable.leroux2025()
    tr = CellTransfer(DeviceParams(cell_model="table", iv_table=t))
    vs, vi, io = np.array(t.v_store), np.array(t.v_in), np.array(t.i_out)
    got = tr.current(vs[:, None], vi[None, :])
    np.testing.assert_allclose(got, io, atol=1e-12)
    lut = tr.read_lut()
    mid = (vs[:-1] + vs[1:]) / 2
    np.testing.assert_allclose(interp_lut(lut.w0, lut.dw, lut.i_ua, mid - 0.45),
                               tr.current(mid) * 1e6, atol=1e-3 * 10)
    with pytest.raises(ValueError, match="table"):
        tr.read_poly_ua()


finite = st.floats(-1, 1, allow_nan=False)


@given(arrays(np.float64, st.integers(1, 40), elements=finite),
       arrays(np.float64, 4, elements=st.floats(-50, 50)))
def test_eval_poly_matches_numpy(w, a):
    np.testing.assert_allclose(eval_poly(a, w), np.polynomial.polynomial.polyval(w, a),
                               rtol=1e-12, atol=1e-12)


@given(arrays(np.float64, st.integers(1, 40), elements=st.floats(-0.2, 1.2)))
def test_interp_lut_matches_np_interp(x):
    grid = np.linspace(0, 0.9, 37)
    lut = np.sin(grid * 7)
    np.testing.assert_allclose(interp_lut(0.0, 0.9 / 36, lut, x), np.interp(x, grid, lut),
                               atol=1e-12)


def test_poly_read_coeffs_helper():
    np.testing.assert_allclose(poly_read_coeffs_ua(LEROUX2025_C_UA, 0.9), A_PAPER, atol=5e-9)


def test_rejects_nan():
    with pytest.raises(ValueError, match="v_store"):
        CellTransfer(DeviceParams()).current([np.nan])
