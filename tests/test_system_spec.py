"""Design files: examples load; bad files name the file, key and allowed values."""

from pathlib import Path

import pytest

import gaincell.system as gs

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples" / "designs").glob("*.toml"))


def test_there_are_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_load_and_estimate(path):
    cfg, spec = gs.load_design(path)
    est = gs.estimate(cfg, spec=spec)
    assert est.energy_head_j > 0 and est.area_head_m2 > 0


def test_leroux2025_example_is_the_builtin_design():
    from gaincell.params import AttentionConfig

    path = [p for p in EXAMPLES if p.name == "leroux2025.toml"][0]
    cfg, spec = gs.load_design(path)
    assert cfg == AttentionConfig.leroux2025()
    assert spec.n_layers == 12


BAD = [
    ("[system]\nn_layerz = 12\n", ["n_layerz", "[system]", "allowed", "n_layers"]),
    ("[system]\nn_layers = \"twelve\"\n", ["n_layers", "'twelve'", "an integer"]),
    ("[system]\nn_layers = 0\n", ["n_layers = 0", "[1, 10000]"]),
    ("[system]\ntechnology_nm = 1000.0\n", ["technology_nm", "[3.0, 180.0]"]),
    ("[system.array]\ncell_aera = 1e-12\n", ["cell_aera", "[system.array]", "cell_area"]),
    ("[system.array]\ncell_area = -1e-12\n", ["system.array", "cell_area", "allowed"]),
    ("[system.flux]\nx = 1\n", ["system.flux", "allowed"]),
    ("[attention]\nwindow = 1000\n", ["window", "array_cols"]),
    ("[attention]\nwindw = 1024\n", ["windw", "[attention]"]),
    ("[device]\nvdd = \"high\"\n", ["vdd"]),
    ("[hardware]\nx = 1\n", ["hardware", "allowed"]),
    ("not toml = = \n", ["not valid TOML"]),
]


@pytest.mark.parametrize("text, needles", BAD, ids=[b[0][:20] for b in BAD])
def test_bad_design_files(tmp_path, text, needles):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ValueError) as ei:
        gs.load_design(p)
    msg = str(ei.value)
    assert "bad.toml" in msg
    assert "\n" not in msg
    for n in needles:
        assert n in msg, (n, msg)


def test_missing_file(tmp_path):
    with pytest.raises(ValueError, match="no such design file"):
        gs.load_design(tmp_path / "nope.toml")


def test_spec_round_trip_and_replace():
    s = gs.SystemSpec(n_layers=6, components={"routing": {"activity": 0.25}})
    s2 = gs.SystemSpec.from_dict(s.to_dict())
    assert s2 == s
    with pytest.raises(ValueError, match="unknown SystemSpec field"):
        s.replace(layers=3)


SPICE = '''
[system]
mode = "predicted"
gating = "clock"
cap_type = "mos"

[system.circuit]
gm_over_id = 12

[system.technology]
c_mim = 1e-3

[system.spice_energy]
cell_read_j = 2.1e-15
conversion_j = 18e-12
source = "gf180 characterization (hand-written for this test)"
'''


def test_predicted_tables_and_spice_energy_load_and_round_trip(tmp_path):
    p = tmp_path / "d.toml"
    p.write_text(SPICE)
    cfg, spec = gs.load_design(p)
    assert (spec.mode, spec.gating, spec.cap_type) == ("predicted", "clock", "mos")
    assert spec.circuit == {"gm_over_id": 12} and spec.technology == {"c_mim": 1e-3}
    assert spec.spice_energy["conversion_j"] == 18e-12
    assert gs.SystemSpec.from_dict(spec.to_dict()) == spec.replace(name="")
    e = gs.estimate(cfg, spec=spec)
    assert e.mode == "predicted" and e.analytic_energy is not None
    assert e.energy.by_item()["stage-1 integrator amplifiers"] == pytest.approx(1024 * 18e-12)


@pytest.mark.parametrize("table, needle", [
    ('cell_read_j = 2e-15\n', "source"),
    ('source = "x"\n', "no energy"),
    ('source = "x"\ncell_read_j = -1e-15\n', "cell_read_j = -1e-15"),
    ('source = "x"\ncell_read_j = 2.0\n', "(0, 1e-6) J"),
    ('source = "x"\ncell_red_j = 2e-15\n', "cell_red_j"),
])
def test_bad_spice_tables_name_the_key(tmp_path, table, needle):
    p = tmp_path / "d.toml"
    p.write_text("[system.spice_energy]\n" + table)
    with pytest.raises(ValueError, match="d.toml") as ei:
        gs.load_design(p)
    assert needle in str(ei.value) and "allowed" in str(ei.value)


@pytest.mark.parametrize("text, needle", [
    ('[system]\nmode = "exact"\n', "mode = 'exact'"),
    ('[system]\ngating = 1\n', "gating = 1"),
    ('[system.circuit]\ngm_over_idd = 3\n', "gm_over_idd"),
    ('[system.circuit]\ngm_over_id = -3\n', "gm_over_id"),
    ('[system.technology]\nfo4 = 0\n', "fo4"),
])
def test_bad_predicted_settings(tmp_path, text, needle):
    p = tmp_path / "d.toml"
    p.write_text(text)
    with pytest.raises(ValueError, match="d.toml") as ei:
        gs.load_design(p)
    assert needle in str(ei.value)
