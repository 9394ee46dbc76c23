"""Per-condition gf180 design files, the split written tile, the recorded tile inputs, and the
GF180 amplifier with its macro-model and the converter energies."""

import json

import numpy as np
import pytest
from spice_support import require_pdk, require_spice

from gaincell.spice import benches as B
from gaincell.spice import conditions as C
from gaincell.spice import validate as V
from gaincell.spice.characterize import load_characterization
from gaincell.spice.presets import gf180_preset_path, load_gf180


@pytest.fixture(scope="module")
def kit():
    require_spice()
    return require_pdk()


def _npz():
    return load_characterization(gf180_preset_path().with_name("characterization.npz"))


# --- per-condition design files ------------------------------------------------------------

def test_every_characterized_condition_has_its_own_design_file():
    from gaincell.device.transfer import CellTransfer
    from gaincell.params import load_toml

    data = _npz()
    fs = {}
    for i, (c, t) in enumerate(zip(data["cond_corner"], data["cond_temp_c"])):
        p = C.condition_design_path(gf180_preset_path(), str(c), float(t))
        text = p.read_text()
        assert f'corner = "{c}"' in text and f"temp_c = {float(t)!r}" in text
        assert 'pdk_version = "1.0.0"' in text and "gmin_s = 1e-18" in text
        d = load_toml(p).device
        assert d.cell_model == "table" and 0.0 <= d.v_rest <= d.vdd
        assert d.c_store == pytest.approx(float(data["cond_c_sn_f"][i]))
        if bool(data["cond_fit_ok"][i]):
            assert d.tau == pytest.approx(float(data["cond_tau_s"][i]))
        else:   # the failed joint fit is re-fitted with V_rest bounded, and says so
            assert "re-fitted" in text and d.tau > 0
        i_rail = CellTransfer(d).current(np.array([0.0, d.vdd]))
        fs[(str(c), float(t))] = float(np.abs(i_rail).max())
    # physics: fast devices read more current than typical, typical more than slow;
    # mobility falls with temperature
    for t in (27.0, 55.0, 85.0):
        assert fs[("ff", t)] > fs[("tt", t)] > fs[("ss", t)]
    for c in ("tt", "ss", "ff"):
        assert fs[(c, 27.0)] > fs[(c, 85.0)]


def test_condition_pedestal_is_the_matching_row_not_the_first():
    data = _npz()
    rows = list(zip(data["cond_corner"], data["cond_temp_c"]))
    i = rows.index(("tt", 27.0))
    assert i != 0    # row 0 is ff 27 C: the old lookup took it for every condition
    lv, ped = C.condition_pedestal(gf180_preset_path(), "tt", 27.0)
    np.testing.assert_array_equal(ped, data["cond_pedestal_v"][i])
    assert C.condition_pedestal(gf180_preset_path(), "tt", 99.0) is None
    with pytest.raises(FileNotFoundError, match="make gf180-conditions"):
        C.design_at(gf180_preset_path(), "tt", 99.0)


def test_bounded_retention_refit_recovers_tau_and_rest_voltage():
    t = np.array([0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0])
    v0 = np.array([0.2, 1.65, 3.1])[:, None]
    v = 0.4 + (v0 - 0.4) * np.exp(-t[None, :] / 120.0)
    fit = C.refit_retention_bounded(t, v, 3.3)
    assert fit["tau_s"] == pytest.approx(120.0, rel=1e-4)
    assert fit["v_rest_v"] == pytest.approx(0.4, abs=1e-4)
    # a rest voltage below ground is held at the bound, not returned as -0.4 V
    vb = -0.4 + (v0 + 0.4) * np.exp(-t[None, :] / 120.0)
    assert C.refit_retention_bounded(t, vb, 3.3)["v_rest_v"] == pytest.approx(0.0, abs=1e-9)


@pytest.mark.spice
def test_condition_design_is_regenerated_from_its_sweep(kit, tmp_path):
    from gaincell.params import load_toml

    (p,) = C.derive_condition_designs(gf180_preset_path(), kit, out_dir=tmp_path,
                                      conditions=[("ss", 85.0)])
    new = load_toml(p).device.iv_table
    old = load_toml(C.condition_design_path(gf180_preset_path(), "ss", 85.0)).device.iv_table
    np.testing.assert_allclose(np.asarray(new.i_out), np.asarray(old.i_out), rtol=1e-6,
                               atol=1e-15)
    with pytest.raises(ValueError, match="condition"):
        C.derive_condition_designs(gf180_preset_path(), kit, out_dir=tmp_path,
                                   conditions=[("ss", 99.0)])


@pytest.mark.spice
def test_validate_at_a_corner_uses_that_corners_design(kit, tmp_path, capsys):
    from gaincell.cli import main

    out = tmp_path / "rep"
    rc = main(["validate", "--kit", "gf180", "--corner", "ff", "--temp", "85", "--checks",
               "cell", "--out", str(out)])
    assert rc == 0, capsys.readouterr()
    r = json.loads((out / "report.json").read_text())
    assert r["context"]["design_per_condition"] == {"ff 85C": "conditions/gf180_ff_85C.toml"}
    (c,) = r["checks"]
    assert c["condition"] == "gf180 ff 85C" and c["passed"]
    assert "conditions/gf180_ff_85C.toml" in c["notes"]


# --- the split written tile and its inputs --------------------------------------------------

def test_pulse_wave_keeps_the_edges_and_drops_flat_samples():
    t = np.linspace(0.0, 10.0, 1001)
    g = np.clip(t - 3.0, 0.0, 1.0) - np.clip(t - 7.0, 0.0, 1.0)
    tk, gk = B.pulse_wave(t, g)
    assert tk.size < 260 and tk[0] == 0.0 and tk[-1] == 10.0
    np.testing.assert_allclose(np.interp(t, tk, gk), g, atol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        B.pulse_wave([0.0], [1.0])


def test_tile_inputs_lie_on_the_grids_and_recorded_ones_carry_provenance():
    d = V.tile_design(load_gf180().device, 32).device
    for inputs in ("gaussian", "centred", "recorded"):
        (q, k, v), = V.tile_cases(d, 32, 3, 1, seed=0, inputs=inputs)
        assert q.shape == (3, 32) and k.shape == v.shape == (32, 32)
        step_q, step_kv = 1 / (d.q_levels - 1), (d.kv_hi - d.kv_lo) / (d.kv_levels - 1)
        np.testing.assert_allclose(q / step_q, np.round(q / step_q), atol=1e-9)
        np.testing.assert_allclose(k / step_kv, np.round(k / step_kv), atol=1e-9)
        assert 0.0 <= q.min() and q.max() <= 1.0 and 0.0 <= v.min() and v.max() <= d.vdd
    # the projection-like keys lean positive; the centred ones do not
    (_, kg, _), = V.tile_cases(d, 32, 3, 1, 0, "gaussian")
    (_, kc, _), = V.tile_cases(d, 32, 3, 1, 0, "centred")
    assert kg.mean() > d.v_weight_zero + 0.2 > kc.mean()
    from pathlib import Path

    import gaincell

    z = np.load(Path(gaincell.__file__).parent / "data" / "spice_tile_qkv.npz")
    prov = json.loads(str(z["provenance_json"]))
    assert "record_qkv" in prov["source"] and prov["seed"] == 0 and z["q"].shape == (64, 64)
    with pytest.raises(ValueError, match="inputs"):
        V.tile_cases(d, 8, 1, 1, 0, "uniform")
    with pytest.raises(ValueError, match="n_reads"):
        V.recorded_tile_inputs(65, 1, d)


@pytest.mark.spice
def test_split_tile_equals_the_whole_tile():
    """The column-group decks (K groups, then V groups replaying the first-stage pulses) give
    the whole tile's phi and counts (generic kit: the split is topological)."""
    require_spice()
    from gaincell.params import DeviceParams

    d = V.tile_design(DeviceParams(), 3).device
    kw = dict(seed=2, n=3, n_reads=1, inputs="centred", max_step_div=100)
    whole = V.validate_tile_written(d, split=False, **kw)
    split = V.validate_tile_written(d, split=True, group=2, **kw)
    np.testing.assert_allclose(split.data["phi_spice"], whole.data["phi_spice"], atol=2e-4)
    np.testing.assert_array_equal(split.data["spice"], whole.data["spice"])
    assert split.data["decks"] == 4 and whole.data["decks"] == 1


# --- the GF180 amplifier, its macro-model, the converter energies ---------------------------

@pytest.mark.spice
def test_gf180_amplifier_characterization_and_conversion_energy(kit):
    from gaincell.spice.characterize import (
        OTA_IB_A,
        conversion_energy,
        ota_characterization,
    )
    from gaincell.spice.kits import GF180_BL_CAP_PER_CELL

    d = load_gf180().device
    o = ota_characterization(d, kit)
    assert 30 < o["gain_db"] < 60                       # a single-stage OTA
    assert o["gbw_hz"] > 3 / d.t_max                    # fast enough for T_max
    assert o["vlo_v"] < d.v_weight_zero - 1.0 and o["vhi_v"] > d.v_weight_zero + 0.3
    assert o["i_supply_a"] == pytest.approx(1.5 * OTA_IB_A, rel=0.05)   # tail + diode
    m = o["macro"]
    assert m["gm"] * m["ro"] == pytest.approx(o["a0"])
    assert m["gm"] / (2 * np.pi * m["co"]) == pytest.approx(o["gbw_hz"])
    e = conversion_energy(d, kit, 64 * GF180_BL_CAP_PER_CELL)
    # a class-A amplifier: the conversion costs about VDD x I_supply x 2 T_max
    est = d.vdd * o["i_supply_a"] * 2 * d.t_max
    assert 0.9 * est < e["conversion_j"] < 1.3 * est
    assert abs(e["integrator_balance_v"]) < 5e-3       # the charge in is the charge out
    # a minimum gate's switched energy is a few fF x VDD^2
    assert 1e-15 * d.vdd ** 2 < e["gate_cycle_j"] < 20e-15 * d.vdd ** 2


@pytest.mark.spice
def test_column_on_the_amplifier_macro_model(kit):
    from gaincell.spice.characterize import ota_characterization
    from gaincell.spice.kits import GF180_BL_CAP_PER_CELL

    d = load_gf180().device
    ped = C.condition_pedestal(gf180_preset_path(), "tt", 27.0)
    amp = ota_characterization(d, kit)["macro"]
    kw = dict(seed=3, n_cases=1, n_cells=16, n_reads=1, kit=kit, pedestal=ped,
              c_bl=16 * GF180_BL_CAP_PER_CELL)
    ideal = V.validate_column_written(d, **kw)
    real = V.validate_column_written(d, amplifier=amp, **kw)
    assert "macro-model" in real.notes and real.passed, real.summary()
    # finite gain moves the result, by well under the budget
    assert 0 < abs(real.errors - ideal.errors).max() < 0.01
    with pytest.raises(ValueError, match="amplifier"):
        B.column_written_bench([1.0], [[0.5]], d, kit, amplifier={"gm": 1e-3})


def test_shipped_design_energies_are_measured():
    text = gf180_preset_path().read_text()
    src = text[text.index("[system.spice_energy]"):]
    assert "ESTIMATES" not in src and "transistor-level GF180 amplifier" in src
    assert "ASSUMED gates per counter step" in src
