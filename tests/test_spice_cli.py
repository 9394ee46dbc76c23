"""``gaincell characterize`` and ``gaincell validate``: files written, budgets, clear errors."""

import json

import pytest
from spice_support import require_spice

from gaincell.cli import main

pytestmark = pytest.mark.spice


@pytest.fixture(autouse=True)
def _spice():
    require_spice()


def test_validate_writes_the_report(tmp_path, capsys):
    out = tmp_path / "rep"
    rc = main(["validate", "--out", str(out), "--checks", "cell", "c2p", "--seed", "5"])
    assert rc == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["all_passed"] and {c["name"] for c in rep["checks"]} == {"cell", "c2p"}
    assert rep["speed"]["ratio"] > 1
    md = (out / "report.md").read_text()
    assert "| cell |" in md and "speed ratio" in md
    for f in ("scatter.png", "error_histograms.png", "waveforms.png"):
        assert (out / f).stat().st_size > 1000
    assert not list(out.glob("*.part"))
    assert (out / "netlists" / "cell_points.cir").exists() and "netlists" in rep
    assert "pass" in capsys.readouterr().out


def test_characterize_writes_design_and_data(tmp_path, capsys):
    out = tmp_path / "ch"
    rc = main(["characterize", "--out", str(out), "--v-store-points", "10",
               "--v-in-points", "3", "--t-float", "10"])
    assert rc == 0
    assert (out / "characterization.npz").exists() and (out / "characterization.toml").exists()
    text = capsys.readouterr().out
    assert "tau =" in text and "Q_sat" in text


def test_missing_model_card_file_is_one_line_not_a_traceback(tmp_path, capsys):
    rc = main(["validate", "--out", str(tmp_path / "r"), "--checks", "cell", "--models",
               str(tmp_path / "missing_pdk.lib")])
    assert rc == 1
    err = capsys.readouterr().err
    assert "ModelCardError" in err and "missing_pdk.lib" in err and "cell_dc.cir:" in err
    assert "Traceback" not in err
    assert not (tmp_path / "r" / "report.json").exists()
