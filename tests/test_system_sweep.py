"""Sweep helper: grids, override dicts, CSV output."""

import csv

import pytest

import gaincell.system as gs
from gaincell.params import AttentionConfig
from gaincell.system.sweep import grid, sweep, write_csv


def test_grid_is_a_cartesian_product():
    g = grid(window=[512, 1024], n_heads=[8, 12, 16])
    assert len(g) == 6 and {"window": 1024, "n_heads": 16} in g
    with pytest.raises(ValueError, match="window"):
        grid(window=[])


def test_sweep_rows_follow_the_designs(tmp_path):
    ests = sweep(list(grid(window=[256, 512], tokens=[100])) + [AttentionConfig.leroux2025()],
                 progress=False, out_csv=tmp_path / "s.csv")
    assert [e.cfg.window for e in ests] == [256, 512, 1024]
    assert ests[0].spec.tokens == 100
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert len(rows) == 3
    assert float(rows[2]["energy_head_J"]) == pytest.approx(6.15e-9, rel=0.01)
    assert float(rows[1]["latency_layer_s"]) < float(rows[2]["latency_layer_s"])


def test_sweep_errors_name_the_design(tmp_path):
    with pytest.raises(ValueError, match=r"designs\[1\]"):
        sweep([{"window": 512}, {"window": 1000}], progress=False, out_csv=tmp_path / "x.csv")
    assert not (tmp_path / "x.csv").exists()
    with pytest.raises(ValueError, match="non-empty"):
        write_csv([], tmp_path / "y.csv")


def test_sweep_with_a_spec():
    ests = sweep([{"n_layers": 24}], spec=gs.SystemSpec(technology_nm=14), progress=False)
    assert ests[0].spec.technology_nm == 14 and ests[0].n_layers == 24
