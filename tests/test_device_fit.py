import numpy as np
import pytest

from gaincell import GainCellAttention
from gaincell.device import fit_cell, fit_poly
from gaincell.params import AttentionConfig, IVTable

A_PAPER = np.array([0.52136361, 13.61226063, -2.62044562, 46.05483778])


def test_fit_of_paper_sweep_reproduces_published_coefficients():
    fit = fit_cell(IVTable.leroux2025(), v_in=0.9)
    np.testing.assert_allclose(fit.a_ua, A_PAPER, atol=1e-6)
    assert fit.residuals.shape == (50,)
    assert 0 < fit.rms < fit.max_abs < 0.05 * fit.full_scale
    assert "a = [0.5213636" in fit.summary()


def test_fit_recovers_known_polynomial_exactly():
    w = np.linspace(-0.45, 0.45, 30)
    a_true = np.array([0.3, 12.0, -1.5, 40.0])
    i = np.polynomial.polynomial.polyval(w, a_true) * 1e-6
    t = IVTable.from_arrays(w + 0.45, [0.9], i[:, None])
    fit = fit_cell(t, v_in=0.9)
    np.testing.assert_allclose(fit.a_ua, a_true, rtol=1e-10)
    assert fit.max_abs < 1e-18


def test_2d_fit_recovers_eq4_surface():
    c = np.zeros((4, 4))
    c[0, :] = [0.1, 0.2, 0.3, 0.4]
    c[1, :3] = [5.0, 4.0, 3.0]
    c[2, :2] = [-1.0, -2.0]
    c[3, 0] = 40.0
    vs = np.linspace(0, 0.9, 20)
    vi = np.linspace(0.5, 0.9, 9)
    W, V = np.meshgrid(vs - 0.45, vi, indexing="ij")
    i = sum(c[a, b] * W**a * V**b for a in range(4) for b in range(4 - a)) * 1e-6
    fit = fit_cell(IVTable.from_arrays(vs, vi, i))
    np.testing.assert_allclose(fit.c_ua, c, atol=1e-8)
    dev = fit.device()
    assert dev.cell_model == "poly"
    np.testing.assert_allclose(dev.poly_c_ua, c, atol=1e-8)


def test_fitted_device_drives_the_simulator():
    fit = fit_cell(IVTable.leroux2025(), v_in=0.9)
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=64).replace(
        device=fit.device())
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 0.9, (1, 1, 10, 8))
    y = GainCellAttention(cfg).forward(x, x, x)
    assert np.isfinite(y).all()


def test_fit_errors():
    with pytest.raises(ValueError, match="v_in"):
        fit_cell(IVTable.leroux2025(), v_in=0.77777)
    with pytest.raises(ValueError, match="points"):
        fit_poly([0.0, 1.0], [1.0, 2.0], 3)
    with pytest.raises(ValueError, match="table"):
        fit_cell("sweep.npz")
    with pytest.raises(ValueError, match="current"):
        fit_poly([0.0, 1.0, 2.0, 3.0], [1.0, np.nan, 2.0, 3.0])
