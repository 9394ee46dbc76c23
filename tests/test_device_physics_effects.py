"""Write pedestal, static threshold mismatch of the read device, and the retention table:
parameters, draws, and each effect against a closed form on a tiny case through the simulator.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gaincell as gc
from gaincell.array._draws import draw_chip, seed_entropy
from gaincell.array._state import Writer
from gaincell.device import (
    CellTransfer,
    RetentionInterp,
    fit_write_pedestal,
    retention_voltage,
    seconds_per_leak,
    write_pedestal,
)
from gaincell.params import (
    ALLOWED,
    AttentionConfig,
    DeviceParams,
    RetentionTable,
    dumps_toml,
    field_docs,
    load_toml,
    tau_at,
)

G_LIN = 19.3  # uA/V, the linear cell's gain
T_MAX = 15e-9
ANALOG = dict(q_levels=None, kv_levels=None, out_levels=None)


def small(**kw):
    o = dict(n_heads=1, head_dim=8, window=16, array_cols=8, array_rows=8)
    o.update(kw)
    return AttentionConfig.leroux2025(**o)


def inputs(cfg, T, seed=0, B=1):
    rng = np.random.default_rng(seed)
    shape = (B, cfg.n_heads, T, cfg.head_dim)
    return (rng.uniform(0, 1, shape), rng.uniform(0.05, 0.85, shape),
            rng.uniform(0.05, 0.85, shape))


# -- parameters --------------------------------------------------------------------------------

def test_defaults_leave_every_effect_off():
    d = DeviceParams.leroux2025()
    assert d.write_pedestal_coef_v == () and not d.has_pedestal
    assert d.sigma_vth_mismatch == 0.0 and d.pelgrom_avt == 0.0 and d.vth_sigma == 0.0
    assert d.retention_table is None and not d.has_noise
    for name in ("write_pedestal_coef_v", "sigma_vth_mismatch", "pelgrom_avt",
                 "read_device_w", "read_device_l", "retention_table"):
        assert name in ALLOWED and field_docs(DeviceParams)[name]


def test_vth_sigma_from_a_sigma_or_pelgrom():
    assert DeviceParams(sigma_vth_mismatch=0.01).vth_sigma == 0.01
    d = DeviceParams(pelgrom_avt=5e-9, read_device_w=2e-6, read_device_l=0.5e-6)
    assert d.vth_sigma == pytest.approx(5e-9 / 1e-6) and d.has_noise
    assert not d.noiseless().has_noise
    with pytest.raises(ValueError, match="sigma_vth_mismatch/pelgrom_avt"):
        DeviceParams(sigma_vth_mismatch=0.01, pelgrom_avt=5e-9)


@pytest.mark.parametrize("kw, match", [
    (dict(sigma_vth_mismatch=-1e-3), r"sigma_vth_mismatch = -0.001.*>= 0 V"),
    (dict(pelgrom_avt=5.0), r"pelgrom_avt = 5.0.*\[0, 1e-06\] V m"),
    (dict(read_device_w=1.0), r"read_device_w = 1.0.*\(0, 1e-3\] m"),
    (dict(read_device_l=0.0), "read_device_l"),
    (dict(write_pedestal_coef_v=(float("nan"),)), "write_pedestal_coef_v"),
    (dict(write_pedestal_coef_v=(2.0,)), r"write_pedestal_coef_v.*within \+-vdd"),
    (dict(write_pedestal_coef_v="abc"), "write_pedestal_coef_v"),
    (dict(retention_table=((0, 1), (0.4,))), "retention_table"),
])
def test_new_parameters_are_validated(kw, match):
    with pytest.raises(ValueError, match=match):
        DeviceParams(**kw)


@pytest.mark.parametrize("kw, match", [
    (dict(t_s=(1.0, 2.0)), r"t_s\[0\] = 1.0.*0 s"),
    (dict(t_s=(0.0, 2.0, 1.0)), "t_s"),
    (dict(t_s=(0.0,)), "t_s"),
    (dict(v0=(0.5, 0.1)), "v0"),
    (dict(v=((0.1, 0.1),)), r"v = .*shape"),
    (dict(v=((0.1, float("inf")), (0.5, 0.4))), "v"),
    (dict(t_ref=20.0), "t_ref"),
])
def test_retention_table_is_validated(kw, match):
    base = dict(t_s=(0.0, 1.0), v0=(0.1, 0.5), v=((0.1, 0.1), (0.5, 0.4)))
    base.update(kw)
    with pytest.raises(ValueError, match=match):
        RetentionTable(**base)


def test_toml_round_trip_with_every_new_key(tmp_path):
    table = RetentionTable.exponential(1e-3, 0.2, [0.0, 0.45, 0.9], [0, 1e-6, 1e-4, 1e-2],
                                       t_ref=330.0)
    cfg = small(write_pedestal_coef_v=(-0.02, 0.015, -0.004), pelgrom_avt=4e-9,
                read_device_w=0.7e-6, read_device_l=0.35e-6, retention_table=table)
    p = tmp_path / "d.toml"
    p.write_text(dumps_toml(cfg))
    assert "[device.retention_table]" in p.read_text()
    back = load_toml(p)
    assert back == cfg and back.device.retention_table == table
    assert back.device.retention_table.t_ref == 330.0
    # a design without them writes `write_pedestal_coef_v = []` and no table
    p.write_text(dumps_toml(small()))
    assert load_toml(p) == small() and "retention_table" not in p.read_text()
    p.write_text("[device.retention_table]\nt_s = [0.0, 1.0]\nv0 = [0.4]\nv = [[0.4, 0.3]]\n"
                 "tref = 300.0\n")
    with pytest.raises(ValueError, match="tref"):
        load_toml(p)


def test_scaled_to_vdd_scales_the_pedestal_and_the_table():
    table = RetentionTable.exponential(1e-3, 0.2, [0.0, 0.9], [0, 1e-6, 1e-3])
    d = DeviceParams(write_pedestal_coef_v=(-0.02, 0.01, 0.03), retention_table=table)
    s = d.scaled_to_vdd(1.8)
    v = np.linspace(0, 0.9, 5)
    np.testing.assert_allclose(write_pedestal(2 * v, s), 2 * write_pedestal(v, d), rtol=1e-12)
    np.testing.assert_allclose(s.retention_table.v, 2 * np.asarray(table.v), rtol=1e-15)


# -- write pedestal ----------------------------------------------------------------------------

def test_pedestal_polynomial_and_its_fit():
    v = np.linspace(0, 3.3, 7)
    p = -0.09 + 0.02 * v - 0.001 * v**2
    np.testing.assert_allclose(write_pedestal(v, (-0.09, 0.02, -0.001)), p, rtol=1e-13)
    np.testing.assert_allclose(fit_write_pedestal(v, p, 2), (-0.09, 0.02, -0.001), rtol=1e-9)
    assert write_pedestal(v, ()).tolist() == [0.0] * 7
    with pytest.raises(ValueError, match="degree"):
        fit_write_pedestal(v, p, 5)


def test_writer_stores_level_plus_pedestal_plus_noise_within_the_rails():
    cfg = small(write_pedestal_coef_v=(-0.05, 0.1))   # p(0) = -0.05, p(0.9) = +0.04
    wr = Writer(cfg)
    assert not wr.codes and wr.dtype == np.float64
    x = np.array([0.0, 0.2, 0.45, 0.9])
    lv = gc.device.dac(x, cfg.device)
    expect = np.clip(lv + (-0.05 + 0.1 * lv), 0.0, 0.9)
    np.testing.assert_array_equal(wr.store(x), expect)
    assert wr.store(x)[0] == 0.0 and wr.store(x)[-1] == 0.9      # held within [0, vdd]
    noise = np.array([0.01, -0.02, 0.03, 0.0])
    np.testing.assert_allclose(wr.store(x, noise), np.clip(lv + (-0.05 + 0.1 * lv) + noise, 0, 0.9))
    sim = gc.GainCellAttention(cfg)
    assert not sim._design.is_preset and sim.engine == "fast"


@pytest.mark.parametrize("engine", ["fast", "reference"])
def test_pedestal_shifts_the_charge_by_the_closed_form(engine):
    """Linear cell, no leakage: each column's charge moves by g T_max sum_r q_r p(k_r)."""
    c0, c1 = -0.03, 0.02
    base = small(cell_model="linear", leak_per_step=0.0, **ANALOG)
    ped = base.replace(write_pedestal_coef_v=(c0, c1))
    q, k, v = inputs(base, 6)
    _, t0 = gc.GainCellAttention(base, engine=engine).forward(q, k, v, trace=True)
    _, t1 = gc.GainCellAttention(ped, engine=engine).forward(q, k, v, trace=True)
    T = 6
    for t in range(T):
        for j in range(t + 1):      # key token j sits in slot j (T < window)
            expect = G_LIN * 1e-6 * T_MAX * np.sum(q[0, 0, t] * (c0 + c1 * k[0, 0, j]))
            got = t1.charge1[0, 0, t, j] - t0.charge1[0, 0, t, j]
            assert got == pytest.approx(expect, rel=1e-9, abs=1e-30)


def test_pedestal_with_noise_fast_equals_reference():
    cfg = small(window=16, write_pedestal_coef_v=(-0.03, 0.05, -0.02), sigma_write_noise=0.01,
                sigma_read_noise=1e-15, v_rest=0.3)
    q, k, v = inputs(cfg, 21, seed=4, B=2)
    yf = gc.GainCellAttention(cfg, seed=5).forward(q, k, v)
    yr = gc.GainCellAttention(cfg, seed=5, engine="reference").forward(q, k, v)
    np.testing.assert_allclose(yf, yr, rtol=0, atol=1e-12)


# -- static threshold mismatch -----------------------------------------------------------------

def test_static_draws_do_not_depend_on_the_others_and_have_their_sigma():
    cfg = AttentionConfig.leroux2025(n_heads=2, window=128, sigma_gain_mismatch=0.05,
                                     sigma_tau_mismatch=0.3, sigma_comparator_offset=1e-15)
    with_vth = cfg.replace(sigma_vth_mismatch=0.012)
    a, b = draw_chip(cfg, seed_entropy(7)), draw_chip(with_vth, seed_entropy(7))
    gain_only = draw_chip(cfg.replace(sigma_tau_mismatch=0.0, sigma_comparator_offset=0.0),
                          seed_entropy(7))
    for name in ("gain_k", "gain_v", "leak_k", "leak_v", "off1", "off2"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(gain_only.gain_v, a.gain_v)
    assert gain_only.leak_k is None and gain_only.off1 is None
    assert a.vth_k is None and b.vth_k_code.dtype == np.int16 and b.vth_k.shape == (2, 128, 64)
    z = np.concatenate([b.vth_k.ravel(), b.vth_v.ravel()])
    assert np.std(z) == pytest.approx(0.012, rel=0.01) and abs(np.mean(z)) < 1e-4
    assert not np.array_equal(b.vth_k, b.vth_v)


def test_threshold_offsets_add_along_a_column_as_their_sum():
    """Linear cell, full pulses, no leakage: column s's charge moves by g T_max sum_r dvth[s, r]
    (K side); the V side's sub-array sum moves by g sum_j phi_j dvth_v[j, d] (before the
    counter)."""
    base = small(cell_model="linear", leak_per_step=0.0, **ANALOG)
    cfg = base.replace(sigma_vth_mismatch=0.01)
    T = 10
    q = np.ones((1, 1, T, 8))
    _, k, v = inputs(base, T, seed=1)
    sim = gc.GainCellAttention(cfg, seed=3)
    assert sim.engine == "fast"
    _, tr = sim.forward(q, k, v, trace=True)
    _, t0 = gc.GainCellAttention(base).forward(q, k, v, trace=True)
    chip = sim._design.chip
    dk, dv = chip.vth_k[0].astype(float), chip.vth_v[0].astype(float)
    for t in range(T):
        shift = tr.charge1[0, 0, t, :t + 1] - t0.charge1[0, 0, t, :t + 1]
        np.testing.assert_allclose(shift, G_LIN * 1e-6 * T_MAX * dk[:t + 1].sum(axis=1),
                                   rtol=1e-9)
    # second stage: A_g = sum_j phi_j g (v_j - V0 + dvth_j), counter reads A_g / sat2
    phi = tr.phi[0, 0]                                        # (T, W)
    w = np.zeros((16, 8))
    w[:T] = v[0, 0] - 0.45
    A = np.einsum("tj,jd->td", phi, G_LIN * (w + dv))
    sub = tr.subarray_out[0, 0]                               # (T, G, D)
    A_got = sub.sum(axis=1) * cfg.device.stage2_sat_ua_tmax
    np.testing.assert_allclose(A_got, A, rtol=1e-9, atol=1e-12)


def test_threshold_offset_acts_as_a_shift_of_the_stored_voltage_in_a_poly_cell():
    cfg = small(pelgrom_avt=2e-8, **ANALOG, leak_per_step=0.0)   # 20 mV um on 1 um^2
    sim = gc.GainCellAttention(cfg, seed=11)
    q, k, v = inputs(cfg, 1, seed=2)
    _, tr = sim.forward(q, k, v, trace=True)
    dk = sim._design.chip.vth_k[0, 0].astype(float)
    i = CellTransfer(cfg.device).read_current(k[0, 0, 0] + dk) / 1e-6    # uA
    assert tr.charge1[0, 0, 0, 0] == pytest.approx(np.sum(q[0, 0, 0] * i) * 1e-6 * T_MAX,
                                                   rel=1e-9)


def test_fast_engine_models_threshold_mismatch_and_the_retention_table():
    assert gc.GainCellAttention(small(sigma_vth_mismatch=0.01)).engine == "fast"
    table = RetentionTable.exponential(5e-3, 0.45, [0.0, 0.9], [0, 1e-6, 1e-3])
    assert gc.GainCellAttention(small(retention_table=table)).engine == "fast"


# -- retention table ---------------------------------------------------------------------------

def test_table_interpolates_as_specified():
    t = (0.0, 1e-3, 1e-2)
    v0 = (0.2, 0.6)
    v = ((0.2, 0.15, 0.05), (0.6, 0.5, 0.3))
    rt = RetentionTable(t, v0, v)
    f = RetentionInterp(rt)
    drop = np.array(v) - np.array(v)[:, :1]
    # at the grid: exactly the table; at t = 0 exactly the written voltage
    assert f(0.6, 1e-2) == pytest.approx(0.3, abs=1e-15)
    assert f(0.37, 0.0) == 0.37
    # halfway in log(1 + t / t_s[1]) between t_s[1] and t_s[2], halfway in V0
    x = 0.5 * (math.log(2.0) + math.log(11.0))
    tm = 1e-3 * math.expm1(x)
    expect = 0.4 + 0.5 * (0.5 * (drop[0, 1] + drop[0, 2]) + 0.5 * (drop[1, 1] + drop[1, 2]))
    assert f(0.4, tm) == pytest.approx(expect, abs=1e-14)
    # a quarter of the way in V0 at a grid time
    assert f(0.3, 1e-3) == pytest.approx(0.3 + 0.75 * drop[0, 1] + 0.25 * drop[1, 1], abs=1e-15)
    # held beyond the last time and beyond the last / first v0 (the edge's change)
    assert f(0.6, 5.0) == pytest.approx(0.3, abs=1e-15)
    assert f(0.8, 1e-2) == pytest.approx(0.8 + drop[1, 2], abs=1e-15)
    assert f(0.0, 1e-3) == pytest.approx(0.0 + drop[0, 1], abs=1e-15)
    with pytest.raises(ValueError, match="t has negative"):
        retention_voltage(rt, 0.3, -1.0)
    one = RetentionInterp(RetentionTable(t, (0.5,), ((0.5, 0.4, 0.2),)))
    assert one(0.7, 1e-2) == pytest.approx(0.4, abs=1e-15)


def _exp_table_cfg(temperature, sigma_tau=0.0, dense=False, **kw):
    """A design with v_rest = 0.2 V and the single exponential's table on the ages' times
    (or a dense log grid)."""
    base = small(window=32, leak_per_step=None, token_period=40e-6, v_rest=0.2, tau=1e-3,
                 temperature=temperature, sigma_tau_mismatch=sigma_tau, **ANALOG, **kw)
    d = base.device
    if dense:
        t = np.concatenate([[0.0], np.geomspace(1e-8, 1.0, 600)])
    else:   # the table time of age a: a x leak x tau(t_ref of the table)
        t = np.arange(32) * base.leak_per_step * tau_at(d.replace(temperature=300.15))
    table = RetentionTable.exponential(d.tau, 0.2, np.linspace(0, 0.9, 4), t, t_ref=300.15)
    return base, base.replace(retention_table=table)


@pytest.mark.parametrize("temperature", [300.15, 358.15])
def test_table_of_one_exponential_reproduces_the_exponential_model(temperature):
    """At 27 C directly; at 85 C through the Arrhenius speed-up tau(t_ref) / tau(T) of the
    table's times (the exponential model's leak per step is token_period / tau(85 C))."""
    exp_cfg, tab_cfg = _exp_table_cfg(temperature)
    assert seconds_per_leak(tab_cfg.device) == pytest.approx(1e-3)
    q, k, v = inputs(exp_cfg, 45, seed=3)        # longer than the window: ages 0 .. 31
    ye, te = gc.GainCellAttention(exp_cfg, engine="reference").forward(q, k, v, trace=True)
    yt, tt = gc.GainCellAttention(tab_cfg).forward(q, k, v, trace=True)
    np.testing.assert_allclose(tt.charge1, te.charge1, rtol=1e-9, atol=1e-24)
    np.testing.assert_allclose(yt, ye, rtol=1e-9, atol=1e-12)
    if temperature > 300.15:    # and the decay over the window is substantial
        assert math.exp(-31 * exp_cfg.leak_per_step) < 0.3


def test_table_follows_the_per_cell_retention_spread():
    """With a log-normal tau_cell each cell reads the table at its own time; on a dense time
    grid the exponential is reproduced to the interpolation error (< 1e-4 of the swing)."""
    exp_cfg, tab_cfg = _exp_table_cfg(300.15, sigma_tau=0.8, dense=True)
    q, k, v = inputs(exp_cfg, 40, seed=6)
    _, te = gc.GainCellAttention(exp_cfg, seed=2, engine="reference").forward(q, k, v,
                                                                                trace=True)
    _, tt = gc.GainCellAttention(tab_cfg, seed=2).forward(q, k, v, trace=True)
    full = G_LIN * 1e-6 * T_MAX * 0.45 * 8
    err = np.abs(tt.charge1 - te.charge1).max() / full
    assert 0 < err < 1e-4


def test_table_replaces_the_exponential_and_keeps_the_pedestal_and_vth():
    """A flat table (no change in time) holds the written voltage (pedestal included) whatever
    tau and v_rest say."""
    flat = RetentionTable((0.0, 1e-6, 1.0), (0.0, 0.9), ((0.0, 0.0, 0.0), (0.9, 0.9, 0.9)))
    cfg = small(cell_model="linear", leak_per_step=3e-2, v_rest=0.1, **ANALOG,
                write_pedestal_coef_v=(-0.02,))
    no_leak = cfg.replace(leak_per_step=0.0)
    q, k, v = inputs(cfg, 20, seed=8)
    y_flat = gc.GainCellAttention(cfg.replace(retention_table=flat)).forward(q, k, v)
    y_hold = gc.GainCellAttention(no_leak).forward(q, k, v)
    np.testing.assert_allclose(y_flat, y_hold, rtol=1e-12, atol=1e-12)
    assert not np.allclose(gc.GainCellAttention(cfg).forward(q, k, v), y_hold)


# -- the shipped gf180 design ------------------------------------------------------------------

def test_gf180_design_carries_the_measured_effects():
    """The pedestal polynomial, the retention table and the read device's A_VT of the shipped
    gf180 design file follow from its NPZ fit data (tt, 27 C) and the PDK's mismatch model."""
    from gaincell.spice.presets import gf180_preset_path, load_gf180

    d = load_gf180().device
    with np.load(gf180_preset_path().with_name("characterization.npz")) as f:
        tt = [i for i, (c, t) in enumerate(zip(f["cond_corner"], f["cond_temp_c"]))
              if c == "tt" and t == 27.0][0]
        v0, ped = f["cond_v0_v"], f["cond_pedestal_v"][tt]
        written, table = f["cond_v_written_v"][tt], f["retention_table_v"][tt]
        t_s = f["retention_table_t_s"]
    # pedestal: within 5 mV of every measured level (a DAC step is 470 mV)
    assert len(d.write_pedestal_coef_v) == 2
    assert np.abs(write_pedestal(v0, d) - ped).max() < 5e-3
    # the table is the measured one, indexed by the written voltage, at 27 C
    rt = d.retention_table
    np.testing.assert_array_equal(rt.v0, written)
    np.testing.assert_array_equal(rt.t_s, t_s)
    np.testing.assert_array_equal(np.asarray(rt.v), table)
    assert rt.t_ref == pytest.approx(300.15) and "retention_tt_27C.cir" in rt.source
    # Pelgrom: pmos_3p3 single device, 0.7071 x 6.66 mV um over the effective 0.5 x 0.35 um
    assert d.pelgrom_avt == pytest.approx(0.7071 * 6.66e-9)
    assert (d.read_device_w, d.read_device_l) == pytest.approx((0.5e-6, 0.35e-6))
    assert d.vth_sigma == pytest.approx(11.26e-3, rel=1e-3)
    # the design file is a complete set (its manifest matches)
    from gaincell._io import folder_is_complete

    assert folder_is_complete(gf180_preset_path().parent)


def test_structural_tiles_model_the_pedestal_and_the_table_like_the_engine():
    """The cell-by-cell tiles (gaincell.array.TiledHead) against the reference engine, with a
    write pedestal and a non-exponential retention table."""
    from gaincell.array import TiledHead

    t = np.concatenate([[0.0], np.geomspace(1e-6, 1.0, 30)])
    v0 = np.linspace(0.0, 0.9, 5)
    v = v0[:, None] - 0.3 * np.sqrt(t)[None, :] * (v0[:, None] - 0.1)   # not an exponential
    table = RetentionTable.from_arrays(t, v0, v, source="test")
    cfg = small(write_pedestal_coef_v=(-0.02, 0.03), retention_table=table, out_levels=None,
                leak_per_step=None, token_period=3e-4, tau=1e-3)
    q, k, vv = inputs(cfg, 30, seed=9)
    y = gc.GainCellAttention(cfg).forward(q, k, vv)[0, 0]
    head = TiledHead(cfg)
    ys = np.array([head.step(q[0, 0, i], k[0, 0, i], vv[0, 0, i]) for i in range(30)])
    np.testing.assert_allclose(ys, y, rtol=0, atol=1e-9)
    assert np.abs(y).max() > 0.03


def _interp_scalar(table, vw, t):
    """One point, written out loop by loop (the oracle of RetentionInterp)."""
    ts, v0, v = list(table.t_s), list(table.v0), [list(r) for r in table.v]
    x = [math.log1p(s / ts[1]) for s in ts]
    xq = math.log1p(t / ts[1])
    if xq >= x[-1]:
        j, fx = len(x) - 2, 1.0
    else:
        j = max(n for n in range(len(x) - 1) if x[n] <= xq)
        fx = (xq - x[j]) / (x[j + 1] - x[j])

    def drop(m):
        return (1 - fx) * (v[m][j] - v[m][0]) + fx * (v[m][j + 1] - v[m][0])

    if len(v0) == 1:
        return vw + drop(0)
    if vw <= v0[0]:
        return vw + drop(0)
    if vw >= v0[-1]:
        return vw + drop(len(v0) - 1)
    i = max(m for m in range(len(v0) - 1) if v0[m] <= vw)
    fv = (vw - v0[i]) / (v0[i + 1] - v0[i])
    return vw + (1 - fv) * drop(i) + fv * drop(i + 1)


@st.composite
def tables(draw):
    n_t = draw(st.integers(2, 6))
    n_v = draw(st.integers(1, 4))
    steps = draw(st.lists(st.floats(1e-6, 10.0), min_size=n_t - 1, max_size=n_t - 1))
    t = np.concatenate([[0.0], np.cumsum(steps)])
    v0 = np.cumsum(draw(st.lists(st.floats(0.05, 1.0), min_size=n_v, max_size=n_v))) - 0.1
    v = np.array(draw(st.lists(st.lists(st.floats(-1.0, 2.0), min_size=n_t, max_size=n_t),
                               min_size=n_v, max_size=n_v)))
    return RetentionTable.from_arrays(t, v0, v)


@settings(max_examples=60, deadline=None)
@given(table=tables(), vw=st.floats(-0.5, 3.0), tq=st.floats(0.0, 100.0))
def test_retention_interpolation_equals_its_scalar_oracle(table, vw, tq):
    got = float(RetentionInterp(table)(vw, tq))
    assert got == pytest.approx(_interp_scalar(table, vw, tq), rel=1e-9, abs=1e-12)
    assert float(RetentionInterp(table)(vw, 0.0)) == vw


def test_device_effects_from_fit_data():
    from gaincell.spice.design import device_effects

    v0 = np.linspace(0, 0.9, 5)
    cond = {"v0_v": v0, "pedestal_v": -0.03 + 0.01 * v0, "v_written_v": v0 - 0.03 + 0.01 * v0,
            "table_t_s": np.array([0.0, 1e-3, 1e-2]), "temp_c": 55.0}
    cond["table_v"] = cond["v_written_v"][:, None] * np.array([1.0, 0.99, 0.9])[None, :]
    ch = device_effects(cond, "generic", {}, "synthetic")
    np.testing.assert_allclose(ch["write_pedestal_coef_v"], (-0.03, 0.01), atol=1e-12)
    assert ch["retention_table"].t_ref == pytest.approx(328.15)
    assert "pelgrom_avt" not in ch
    # a bench that floated for less than two table times keeps the exponential model
    short = dict(cond, table_t_s=np.array([0.0]), table_v=cond["table_v"][:, :1])
    assert "retention_table" not in device_effects(short, "generic", {}, "")
    g = device_effects(cond, "gf180", {"w_rp": 1.0e-6}, "")
    assert g["read_device_w"] == pytest.approx(1.1e-6) and g["pelgrom_avt"] > 0
