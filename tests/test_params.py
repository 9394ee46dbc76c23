import math

import pytest

from gaincell.params import (
    LEROUX2025_C_UA,
    AttentionConfig,
    DeviceParams,
    IVTable,
    dumps_toml,
    load_toml,
    save_toml,
)


def test_preset_matches_paper_numbers():
    d = DeviceParams.leroux2025()
    assert d.vdd == 0.9 and d.v_weight_zero == 0.45 and d.v_read == 0.9
    assert d.q_levels == 16 and (d.q_lo, d.q_hi) == (0.0, 1.0)
    assert d.kv_levels == 8 and (d.kv_lo, d.kv_hi) == (0.0, 0.9)
    assert d.out_levels == 32 and (d.out_lo, d.out_hi) == (-1.0, 1.0)
    assert d.t_max == 15e-9
    assert d.stage1_sat_ua_tmax == pytest.approx(80.0, rel=1e-14)
    assert d.stage2_sat_ua_tmax == pytest.approx(40.0, rel=1e-14)
    assert d.poly_c_ua == LEROUX2025_C_UA
    assert d.poly_c_ua[3][0] == 46.05483778 and d.poly_c_ua[0][0] == 0.17393044
    assert not d.has_noise
    cfg = AttentionConfig.leroux2025()
    assert (cfg.n_heads, cfg.head_dim, cfg.window, cfg.array_cols) == (12, 64, 1024, 64)
    assert cfg.leak_per_step == 1.6e-4 and cfg.n_subarrays == 16
    assert math.exp(-1.6e-4 * 1023) == pytest.approx(0.849, abs=5e-4)


def test_overrides_route_to_device_and_config():
    cfg = AttentionConfig.leroux2025(n_heads=2, window=128, q_levels=None, kv_levels=4,
                                     leak_per_step=0.0, sigma_read_noise=1e-15)
    assert cfg.n_heads == 2 and cfg.window == 128 and cfg.leak_per_step == 0.0
    assert cfg.device.q_levels is None and cfg.device.kv_levels == 4
    assert cfg.device.sigma_read_noise == 1e-15 and cfg.device.has_noise
    assert cfg.get_params()["kv_levels"] == 4
    with pytest.raises(ValueError, match="unknown parameter"):
        AttentionConfig.leroux2025(windw=3)


@pytest.mark.parametrize("kw, match", [
    (dict(tau=-1.0), "tau"),
    (dict(c_store=0.0), "c_store"),
    (dict(q_levels=1), "q_levels"),
    (dict(kv_levels=2.5), "kv_levels"),
    (dict(kv_lo=0.5, kv_hi=0.5), "kv_lo/kv_hi"),
    (dict(out_lo=float("nan")), "out_lo"),
    (dict(t_max=float("inf")), "t_max"),
    (dict(sigma_read_noise=-1e-15), "sigma_read_noise"),
    (dict(cell_model="cubic"), "cell_model"),
    (dict(cell_model="table"), "iv_table"),
    (dict(v_read=1.2), "v_read"),
    (dict(poly_c_ua=((1.0,),)), "poly_c_ua"),
])
def test_device_validation_names_field_value_and_range(kw, match):
    with pytest.raises(ValueError, match=match) as e:
        DeviceParams(**kw)
    assert "allowed" in str(e.value)


@pytest.mark.parametrize("kw, match", [
    (dict(window=1000), "window"),
    (dict(n_heads=0), "n_heads"),
    (dict(head_dim=-1), "head_dim"),
    (dict(leak_per_step=-1e-4), "leak_per_step"),
    (dict(array_cols=True), "array_cols"),
])
def test_config_validation(kw, match):
    with pytest.raises(ValueError, match=match):
        AttentionConfig.leroux2025(**kw)


def test_toml_round_trip(tmp_path):
    cfg = AttentionConfig.leroux2025(window=256, q_levels=None, sigma_write_noise=0.01,
                                     cell_model="table", iv_table=IVTable.leroux2025())
    p = save_toml(cfg, tmp_path / "d.toml")
    assert load_toml(p) == cfg
    assert 'q_levels = "none"' in dumps_toml(cfg)
    assert not list(tmp_path.glob(".*part"))


def test_toml_errors_name_file_and_key(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[device]\ntua = 1.0\n")
    with pytest.raises(ValueError, match=r"bad.toml.*tua"):
        load_toml(p)
    p.write_text("[device]\ntau = -1.0\n")
    with pytest.raises(ValueError, match=r"bad.toml.*tau"):
        load_toml(p)
    p.write_text("[device]\nq_levels = \"many\"\n")
    with pytest.raises(ValueError, match=r"q_levels"):
        load_toml(p)
    p.write_text("[attention\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_toml(p)
    with pytest.raises(ValueError, match="no such design file"):
        load_toml(tmp_path / "missing.toml")


def test_iv_table_validation():
    with pytest.raises(ValueError, match="v_store"):
        IVTable((0.0, 0.0), (0.9,), ((1.0,), (2.0,)))
    with pytest.raises(ValueError, match="i_out"):
        IVTable((0.0, 0.9), (0.9,), ((1.0,),))
    t = IVTable.leroux2025()
    assert len(t.v_store) == 50 and len(t.v_in) == 51


@pytest.mark.parametrize("text, match", [
    ("[device]\npoly_c_ua = 5\n", "poly_c_ua"),
    ("attention = 5\n", r"\[attention\]"),
    ("[device.iv_table]\nv_store = 5\nv_in = [0.9]\ni_out = [[1.0]]\n", "v_store"),
    ("[device]\nv_read = 0.4\n", "v_read"),
])
def test_malformed_design_files_give_clear_errors(tmp_path, text, match):
    p = tmp_path / "d.toml"
    p.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_toml(p)
    with pytest.raises(ValueError, match="cannot read"):
        load_toml(tmp_path)


def test_poly_terms_beyond_eq4_are_rejected():
    c = [list(r) for r in LEROUX2025_C_UA]
    c[1][3] = 5.0
    with pytest.raises(ValueError, match=r"poly_c_ua\[1\]\[3\]"):
        DeviceParams(poly_c_ua=c)


# -- retention in time and temperature ------------------------------------------------------


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from gaincell.params import K_BOLTZMANN_EV, leak_per_step_for, tau_at  # noqa: E402


def test_preset_token_period_gives_the_papers_leak_exactly():
    cfg = AttentionConfig.leroux2025()
    assert cfg.token_period == 800e-9 and cfg.device.tau == 5e-3
    assert cfg.leak_per_step == 1.6e-4            # bit for bit, not approximately
    assert 800e-9 / 5e-3 != 1.6e-4                 # why the quotient is decimal
    assert AttentionConfig(leak_per_step=1.6e-4) == cfg
    assert AttentionConfig(token_period=800e-9, leak_per_step=1.6e-4) == cfg


def test_leak_follows_token_period_tau_and_temperature():
    cfg = AttentionConfig.leroux2025()
    assert cfg.replace(token_period=1.6e-6).leak_per_step == 3.2e-4
    assert cfg.replace(tau=1e-3).leak_per_step == 8e-4
    hot = cfg.replace(temperature=358.15)          # 85 C
    ratio = math.exp(0.6 / K_BOLTZMANN_EV * (1 / 300.15 - 1 / 358.15))
    assert tau_at(hot.device) == pytest.approx(5e-3 / ratio, rel=1e-12)
    assert hot.leak_per_step == pytest.approx(1.6e-4 * ratio, rel=1e-12)
    assert cfg.replace(temperature=358.15, leak_activation_energy=0.0).leak_per_step == 1.6e-4


def test_explicit_leak_is_an_override_and_both_must_agree():
    cfg = AttentionConfig.leroux2025(leak_per_step=0.0)
    assert cfg.leak_per_step == 0.0 and cfg.token_period is None
    over = AttentionConfig.leroux2025(leak_per_step=1e-3)
    assert over.token_period == pytest.approx(1e-3 * 5e-3)
    assert over.replace(tau=1e-3).leak_per_step == 1e-3   # the override stays
    assert over.replace(token_period=800e-9).leak_per_step == 1.6e-4
    with pytest.raises(ValueError, match="leak_per_step.*token_period"):
        AttentionConfig(token_period=800e-9, leak_per_step=1e-3)
    with pytest.raises(ValueError, match="token_period"):
        AttentionConfig(token_period=-1.0)


@pytest.mark.parametrize("kw, match", [
    (dict(temperature=85.0), r"temperature.*kelvin"),
    (dict(t_ref=1000.0), "t_ref"),
    (dict(leak_activation_energy=-0.1), "leak_activation_energy"),
])
def test_bad_temperature_inputs_are_named(kw, match):
    with pytest.raises(ValueError, match=match):
        DeviceParams(**kw)


def test_retention_round_trips_through_toml(tmp_path):
    for cfg in (AttentionConfig.leroux2025(),
                AttentionConfig.leroux2025(token_period=2e-6, temperature=330.0),
                AttentionConfig.leroux2025(leak_per_step=0.0),
                AttentionConfig.leroux2025(leak_per_step=3e-4)):
        back = load_toml(save_toml(cfg, tmp_path / "d.toml"))
        assert back == cfg and back._given == (cfg._given or ("token_period",))
    text = (tmp_path / "d.toml").read_text()
    assert "leak_per_step = 0.0003" in text and "token_period" not in text


@settings(max_examples=60, deadline=None)
@given(tp=st.floats(1e-9, 1e-3), tau=st.floats(1e-6, 10.0))
def test_decimal_quotient_is_within_one_ulp_of_the_binary_one(tp, tau):
    q = leak_per_step_for(tp, tau)
    assert abs(q - tp / tau) <= 2 * math.ulp(tp / tau)


# -- read voltage: a polynomial holds where it was fitted -----------------------------------

def test_poly_fitted_at_one_read_voltage_refuses_another():
    with pytest.raises(ValueError, match=r"v_read = 0.7.*V_in = 0.9 V.*fit_cell"):
        DeviceParams(v_read=0.7)
    with pytest.raises(ValueError, match="v_read"):
        AttentionConfig.leroux2025(vdd=1.2, v_read=1.2)
    assert DeviceParams(cell_model="linear", v_read=0.7).v_read == 0.7  # no V_in model
    ok = DeviceParams(v_read=0.8, poly_v_in_range=(0.7, 0.9))            # a genuine 2-D fit
    assert ok.poly_v_in_range == (0.7, 0.9)
    with pytest.raises(ValueError, match="poly_v_in_range"):
        DeviceParams(poly_v_in_range=(0.9, 0.7))


def test_table_cell_accepts_read_voltages_of_its_sweep():
    import numpy as np

    d = DeviceParams(cell_model="table", iv_table=IVTable.leroux2025(), v_read=0.7)
    assert d.v_read == 0.7
    vs, vi = np.linspace(0, 0.9, 5), np.linspace(0.5, 0.8, 4)
    narrow = IVTable.from_arrays(vs, vi, np.outer(vs - 0.45, vi) * 1e-5)
    with pytest.raises(ValueError, match=r"v_read = 0.9.*\[0.5, 0.8\] V.*iv_table"):
        DeviceParams(cell_model="table", iv_table=narrow)


def test_fits_carry_the_read_voltages_they_hold_at():
    from gaincell.device import fit_cell

    t = IVTable.leroux2025()
    one = fit_cell(t, v_in=t.v_in[30])          # 0.72 V, a grid point of the sweep
    dev = one.device()
    assert dev.v_read == t.v_in[30] and dev.poly_v_in_range == (one.v_in, one.v_in)
    two = fit_cell(t, v_in_range=(0.7, 0.9))
    assert two.v_in_span[0] >= 0.7 - 1e-9 and two.v_in_span[1] <= 0.9 + 1e-9
    assert two.device().replace(v_read=0.8).v_read == 0.8
