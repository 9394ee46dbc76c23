"""Read disturb, the read current's temperature coefficient and kT/C write noise, each against
a closed form on a tiny case, through the device layer and through the simulator."""

import math

import numpy as np
import pytest

from gaincell import AttentionConfig, GainCellAttention
from gaincell.device import CellTransfer
from gaincell.params import K_BOLTZMANN_J, DeviceParams


def test_read_disturb_shifts_the_cell_by_coupling_times_swing():
    base = DeviceParams()
    d = base.replace(read_disturb_coupling=-0.05)
    assert d.read_disturb_v == pytest.approx(-0.05 * (0.9 - 0.45))
    v = np.linspace(0, 0.9, 19)
    np.testing.assert_allclose(CellTransfer(d).read_current(v),
                               CellTransfer(base).current(v + d.read_disturb_v), rtol=1e-12)
    # the re-expanded polynomial equals the shifted one
    w = v - 0.45
    a, a0 = CellTransfer(d).read_poly_ua(), CellTransfer(base).read_poly_ua()
    np.testing.assert_allclose(np.polyval(a[::-1], w), np.polyval(a0[::-1], w + d.read_disturb_v),
                               rtol=1e-12, atol=1e-12)
    assert CellTransfer(base).read_poly_ua().tolist() == \
        CellTransfer(base.replace(read_disturb_coupling=0.0)).read_poly_ua().tolist()


def test_read_disturb_shifts_every_first_stage_charge_by_the_closed_form():
    """Linear cell: each pulsed cell delivers g dV t more, so S shifts by g dV T_max sum(q)."""
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=8, window=64, cell_model="linear",
                                     q_levels=None, kv_levels=None, leak_per_step=0.0)
    dv_cfg = cfg.replace(read_disturb_coupling=0.02)
    rng = np.random.default_rng(0)
    q = rng.uniform(0, 1, (1, 1, 5, 8))
    k, v = rng.uniform(0, 0.9, (2, 1, 1, 5, 8))
    _, t0 = GainCellAttention(cfg).forward(q, k, v, trace=True)
    _, t1 = GainCellAttention(dv_cfg).forward(q, k, v, trace=True)
    dv = dv_cfg.device.read_disturb_v
    expect = 19.3e-6 * dv * 15e-9 * q.sum(axis=-1)          # (1, 1, T) C per written column
    written = np.tril(np.ones((5, 64)), 0)[:, :64].astype(bool)[None, None]
    diff = (t1.charge1 - t0.charge1)
    np.testing.assert_allclose(diff[..., :5][written[..., :5]],
                               np.broadcast_to(expect[..., None], diff[..., :5].shape)[
                                   written[..., :5]], rtol=1e-9)


def test_read_current_tempco_scales_the_current():
    d = DeviceParams(read_current_tempco=-2e-3, temperature=358.15)
    assert d.read_current_scale == pytest.approx(1 - 2e-3 * 58.0)
    v = np.linspace(0, 0.9, 7)
    np.testing.assert_allclose(CellTransfer(d).read_current(v),
                               CellTransfer(DeviceParams()).current(v) * d.read_current_scale)
    with pytest.raises(ValueError, match="read_current_tempco"):
        DeviceParams(read_current_tempco=0.5)


def test_ktc_write_noise_sigma_over_1e5_writes():
    c = 2e-15
    cfg = AttentionConfig.leroux2025(n_heads=1, head_dim=100, window=1024, kv_levels=None,
                                     write_noise_ktc=True, c_store=c, temperature=330.0)
    expect = math.sqrt(K_BOLTZMANN_J * 330.0 / c)
    assert cfg.device.write_noise_sigma == pytest.approx(expect)
    from gaincell.array._draws import seed_entropy, token_noise
    from gaincell.array._state import Writer

    noise = token_noise(cfg, seed_entropy(3), 0, 1000, 1)     # the simulator's write path
    wr = Writer(cfg)
    stored = wr.voltage(wr.store(np.full((1000, 1, 1, 100), 0.45), noise.write_k))
    assert np.std(stored - 0.45) == pytest.approx(expect, rel=0.02)
    assert not DeviceParams().has_noise and DeviceParams(write_noise_ktc=True).has_noise
