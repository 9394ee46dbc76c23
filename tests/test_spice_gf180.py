"""The GF180MCU kit: the cell's read characteristic, leakage against physical estimates, the
shipped gf180 design file and its provenance, and a written column against the design file."""

import json

import numpy as np
import pytest
from spice_support import require_pdk, require_spice

from gaincell.spice import fitdata as F
from gaincell.spice import validate as V
from gaincell.spice.characterize import load_characterization, sweep_iv
from gaincell.spice.kits import GF180_BL_CAP_PER_CELL, GF180_CELL_AREA, kit_at, kit_design
from gaincell.spice.presets import gf180_preset_path, load_gf180

pytestmark = pytest.mark.spice


@pytest.fixture(scope="module")
def kit():
    require_spice()
    return require_pdk()


@pytest.fixture(scope="module")
def dev():
    return kit_design("gf180").device


def test_signed_read_around_vdd_half(kit, dev):
    iv = sweep_iv(dev, kit, v_store_points=23, v_in=[dev.v_read_idle, dev.v_read])
    i = np.asarray(iv.table.i_out)
    col, vs = i[:, -1], np.asarray(iv.table.v_store)
    assert -15e-6 < col[0] < -5e-6 and 5e-6 < col[-1] < 15e-6   # +-9 uA at the rails
    assert np.all(np.diff(col) >= -1e-12)
    assert abs(float(np.interp(0.0, col, vs)) - dev.v_weight_zero) < 0.15
    assert np.abs(i[:, 0]).max() < 1e-12  # idle word lines: no current
    # the fit is around the design's weight zero (1.65 V), not the paper's 0.45 V
    a = iv.fit.a_ua
    assert a[0] == pytest.approx(float(np.interp(1.65, vs, col)) * 1e6, abs=0.5)


def test_leakage_matches_c_over_i_and_the_mim_estimate(kit, dev):
    hot = kit_at(kit, temp_c=85.0)
    (r,) = F.retention_conditions(dev, [hot], t_float=20.0, v0=[1.65, 2.5, 3.3])
    # storage capacitance: the MIM's area + sidewall terms (PDK formula) plus the read gates
    mim = 1.99e-3 * 9e-12 + 2.383e-10 * 12e-6
    assert mim < r["c_sn_f"] < mim + 10e-15
    # the transient's decay rate equals the operating point's leakage / C (physical check)
    st, sc = r["slope_tran_v_per_s"], r["slope_ci_v_per_s"]
    assert np.all(np.isfinite(sc)) and np.all(sc < 0)
    np.testing.assert_allclose(st, sc, rtol=0.25)
    # and is far above the MIM's own leakage: junction leakage dominates at 85 C
    g_mim = 9.51e-10 / 5 * 1e4 * 9e-12
    assert np.all(np.abs(r["leak_a"][1:]) > 3 * g_mim * 3.3)
    # a constant (junction saturation) leakage decays linearly: no exponential rest voltage
    assert r["table_v"].shape == (3, r["table_t_s"].size)
    assert np.all(np.diff(r["table_v"], axis=1) <= 1e-6)


def test_energy_per_action_against_i_v_t(kit, dev):
    e = F.action_energies(dev, kit, 64 * GF180_BL_CAP_PER_CELL, 0.7e-15,
                          64 * GF180_BL_CAP_PER_CELL, levels=[dev.vdd])
    # a full-T_max read at V_store = VDD: about I_fs x VDD x T_max (I_fs ~ 9 uA)
    est = 9e-6 * dev.vdd * dev.t_max
    assert 0.5 * est < e["read_j"][0] < 2 * est
    # a write: at least the DAC's C V dV on the write bit line
    c = 64 * GF180_BL_CAP_PER_CELL
    assert e["write_j"][0] > 0.5 * c * dev.vdd * (dev.vdd - dev.v_weight_zero)


def test_shipped_gf180_design_file_has_its_provenance():
    cfg = load_gf180()
    d = cfg.device
    assert d.vdd == pytest.approx(3.3) and d.v_weight_zero == pytest.approx(1.65)
    assert d.cell_model == "table" and d.iv_table is not None
    text = gf180_preset_path().read_text()
    assert "pdk_version = \"1.0.0\"" in text and "corner = \"tt\"" in text
    assert "temp_c = 27.0" in text and "gmin_s = 1e-18" in text
    assert "[system.spice_energy]" in text and "[system.array]" in text
    for key in ("cell_read_j", "cell_write_j", "conversion_j", "counter_step_j", "source"):
        assert f"\n{key} = " in text
    assert str(GF180_CELL_AREA)[:6] in text
    data = load_characterization(gf180_preset_path().with_name("characterization.npz"))
    p = data["provenance"]
    assert p["pdk"] == "gf180mcu" and p["pdk_version"] == "1.0.0"
    assert all(len(h) == 64 for h in p["netlist_sha256"].values())
    assert "/work/" not in json.dumps(p)  # no machine-specific paths
    # the fit data issue 10 consumes, with units in the keys
    assert data["retention_table_v"].shape[1:] == (7, data["retention_table_t_s"].size)
    assert set(data["cond_corner"]) == {"tt", "ss", "ff"}
    assert data["cond_pedestal_v"].shape == (9, 7) and np.all(data["cond_pedestal_v"] < 0)
    assert data["disturb_dv_v"].shape == (5, 3)
    assert 0.3 < float(data["retention_activation_energy_ev"]) < 1.5


def test_written_column_against_the_design_file(kit):
    cfg = load_gf180()
    data = load_characterization(gf180_preset_path().with_name("characterization.npz"))
    ped = (data["cond_v0_v"], data["cond_pedestal_v"][list(data["cond_corner"]).index("tt")])
    c = V.validate_column_written(cfg.device, seed=3, n_cases=1, n_cells=32, n_reads=2, kit=kit,
                                  pedestal=ped, c_bl=32 * GF180_BL_CAP_PER_CELL)
    assert c.errors.shape == (1, 2) and c.signal_ok
    assert c.passed, c.summary()
    # without the pedestal correction the same check sees the charge injection
    raw = V.validate_column_written(cfg.device, seed=3, n_cases=1, n_cells=32, n_reads=2,
                                    kit=kit, c_bl=32 * GF180_BL_CAP_PER_CELL)
    assert np.abs(raw.errors).max() > np.abs(c.errors).max()


def test_validate_kit_gf180_checks_the_shipped_design_file(kit, tmp_path, capsys):
    from gaincell.cli import main

    out = tmp_path / "rep"
    rc = main(["validate", "--kit", "gf180", "--checks", "cell", "c2p", "--out", str(out)])
    assert rc == 0, capsys.readouterr()
    r = json.loads((out / "report.json").read_text())
    assert r["context"]["design_file"].endswith("gf180/characterization.toml")
    assert r["context"]["kit"].startswith("gf180 kit: GF180MCU open PDK 1.0.0")
    assert r["context"]["pedestal_correction"] is True
    for c in r["checks"]:
        assert c["condition"] == "gf180 tt 27C" and c["passed"] and c["signal_ok"]
        assert {"mean", "rms", "max", "fraction_exact"} <= set(c["distribution"])
        assert c["budget"] > 0
    assert "| cell | gf180 tt 27C |" in (out / "report.md").read_text()
