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
