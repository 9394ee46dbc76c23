"""The report and sweep commands: exit codes, one-line errors, nothing written on bad input."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gaincell.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_help_everywhere(capsys):
    for argv in (["--help"], ["report", "--help"], ["sweep", "--help"]):
        with pytest.raises(SystemExit) as ei:
            main(argv)
        assert ei.value.code == 0
    out = capsys.readouterr().out
    assert "report" in out and "--config" in out and "--set" in out


def test_fresh_clone_report_without_arguments(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    r = subprocess.run([sys.executable, "-m", "gaincell", "report"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    files = {p.name for p in (tmp_path / "report").iterdir()}
    assert {"report.md", "report.json", "energy_breakdown.png", "energy_breakdown.svg",
            "gpu_comparison.svg", "scaling_window.png"} <= files
    assert "65 ns per token per layer" in r.stdout
    # the paper's design: the three columns side by side
    head = [ln for ln in r.stdout.splitlines() if "calibrated" in ln and "published" in ln]
    assert head and "predicted" in head[0]
    energy = [ln for ln in r.stdout.splitlines() if ln.strip().startswith("energy per token")]
    assert energy and "6.15 nJ" in energy[0] and energy[0].count("nJ") == 3


def test_report_with_example_design(tmp_path, capsys):
    cfg = ROOT / "examples" / "designs" / "long_window_4096.toml"
    rc = main(["report", "--config", str(cfg), "--out", str(tmp_path / "r"), "--no-figures",
               "--n-layers", "6"])
    assert rc == 0
    assert (tmp_path / "r" / "report.md").exists()
    assert "| layers | 6 |" in (tmp_path / "r" / "report.md").read_text()


@pytest.mark.parametrize("text, needle", [
    ("[system]\nn_layerz = 12\n", "n_layerz"),
    ("[system]\nn_layers = 1.5\n", "n_layers = 1.5"),
    ("[attention]\nhead_dim = -64\n", "head_dim"),
    ("[device]\nkv_levels = \"many\"\n", "kv_levels"),
])
def test_bad_design_exit_2_one_line_no_output(tmp_path, capsys, text, needle):
    p = tmp_path / "design.toml"
    p.write_text(text)
    out = tmp_path / "out"
    rc = main(["report", "--config", str(p), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert len(err.strip().splitlines()) == 1
    assert "design.toml" in err and needle in err and "allowed" in err
    assert not out.exists()
    assert sorted(x.name for x in tmp_path.iterdir()) == ["design.toml"]


def test_bad_option_values_exit_2(tmp_path, capsys):
    rc = main(["report", "--n-layers", "0", "--out", str(tmp_path / "o")])
    assert rc == 2 and "n_layers" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_bad_activity_file(tmp_path, capsys):
    a = tmp_path / "act.json"
    a.write_text('{"queries": 4, "bogus": 1}')
    rc = main(["report", "--activity", str(a), "--out", str(tmp_path / "o")])
    assert rc == 2 and "bogus" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_activity_file_gives_data_dependent_energy(tmp_path):
    a = tmp_path / "act.json"
    a.write_text('{"n_heads": 12, "queries": 2, "cells_written": 256, "write_voltage_sum": 100.0, '
                 '"k_charge_abs": 4e-9, "stage1_conversions": 2048, "v_charge_abs": 1e-9, '
                 '"stage2_conversions": 2048, "counter_counts_abs": 8000}')
    rc = main(["report", "--activity", str(a), "--out", str(tmp_path / "o"), "--no-figures"])
    assert rc == 0
    assert "data-dependent" in (tmp_path / "o" / "report.md").read_text()


def test_sweep_command(tmp_path, capsys):
    out = tmp_path / "s.csv"
    rc = main(["sweep", "--set", "window=512,1024", "--set", "n_layers=6,12", "--out",
               str(out), "--no-progress"])
    assert rc == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4
    assert {r["window"] for r in rows} == {"512", "1024"}
    bad = tmp_path / "bad.csv"
    rc = main(["sweep", "--set", "windw=512", "--out", str(bad), "--no-progress"])
    assert rc == 2 and "windw" in capsys.readouterr().err
    assert not bad.exists()
    rc = main(["sweep", "--set", "window", "--out", str(bad), "--no-progress"])
    assert rc == 2 and not bad.exists()


def _act(n_heads):
    return (f'{{"n_heads": {n_heads}, "queries": 2, "cells_written": 256, '
            '"write_voltage_sum": 100.0, "k_charge_abs": 4e-9, "stage1_conversions": 2048, '
            '"v_charge_abs": 1e-9, "stage2_conversions": 2048, "counter_counts_abs": 8000}')


def test_activity_of_another_head_count_is_refused(tmp_path, capsys):
    a = tmp_path / "act8.json"
    a.write_text(_act(8))
    rc = main(["report", "--activity", str(a), "--out", str(tmp_path / "o"), "--no-figures"])
    err = capsys.readouterr().err
    assert rc == 2 and "8-head" in err and "n_heads = 12" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
    b = tmp_path / "act_none.json"
    b.write_text(_act(12).replace('"n_heads": 12, ', ""))
    rc = main(["report", "--activity", str(b), "--out", str(tmp_path / "o"), "--no-figures"])
    assert rc == 2 and "n_heads" in capsys.readouterr().err


def test_report_mode_option_and_other_design(tmp_path, capsys):
    rc = main(["report", "--mode", "predicted", "--no-figures", "--out", str(tmp_path / "p")])
    out = capsys.readouterr().out
    assert rc == 0 and "(predicted)" in out and "calibrated" in out   # still three columns
    md = (tmp_path / "p" / "report.md").read_text()
    assert "**Mode: predicted.**" in md and "Derived circuit quantities" in md
    cfg = ROOT / "examples" / "designs" / "long_window_4096.toml"
    rc = main(["report", "--config", str(cfg), "--no-figures", "--out", str(tmp_path / "q")])
    out = capsys.readouterr().out
    assert rc == 0 and "(predicted)" in out and "published" not in out
