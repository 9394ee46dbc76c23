"""Behavioural model vs SPICE: the issue's error budgets on random cases (fixed seeds)."""

import numpy as np
import pytest
from spice_support import require_spice, spice_iv

import gaincell as gc
from gaincell.spice import validate as V

pytestmark = pytest.mark.spice


@pytest.fixture(autouse=True)
def _spice():
    require_spice()


def test_cell_within_two_percent_of_full_scale():
    iv = spice_iv()
    c = V.validate_cell(iv.fit.device(), iv.fit.full_scale, seed=1, n_points=40)
    assert c.n_cases == 40
    assert c.error <= V.BUDGETS["cell"] == 0.02, c.summary()


def test_cell_check_fails_for_a_wrong_model():
    # the paper's measured cell is a different device: the check must catch it
    iv = spice_iv()
    c = V.validate_cell(gc.DeviceParams(), iv.fit.full_scale, seed=1, n_points=10)
    assert not c.passed


def test_column_of_64_cells_within_two_percent_over_20_cases():
    iv = spice_iv()
    c = V.validate_column(iv.fit.device(), iv.fit.full_scale, seed=2, n_cases=20,
                          n_cells=64, workers=2)
    assert c.n_cases == 20 and c.data["spice"].shape == (20,)
    assert c.error <= V.BUDGETS["column"] == 0.02, c.summary()
    # the cases are not trivial: charges of both signs, a sizeable fraction of full scale
    q = c.data["spice"] / c.data["full_scale"]
    assert q.min() < 0 < q.max() and np.abs(q).max() > 0.01


def test_charge_to_pulse_zero_linear_and_saturated_within_two_percent_of_tmax():
    iv = spice_iv()
    c = V.validate_c2p(iv.fit.device(), seed=3, n_per_region=8)
    d = c.data
    assert c.error <= V.BUDGETS["c2p"] == 0.02, c.summary()
    assert np.all(d["phi_spice"][:8] < 1e-3)            # zero region (negative charge)
    assert np.all(d["phi_spice"][16:] > 1 - 0.02)       # saturation at T_max
    assert np.all(d["count_error_lsb"] < 1 + 1e-9)      # signed counter


def test_tile_end_to_end_within_one_output_lsb():
    iv = spice_iv()
    c = V.validate_tile(iv.fit.device(), seed=4, n_cases=8, workers=2)
    assert c.error <= V.BUDGETS["tile"] == 1.0, (c.summary(), c.data["spice"], c.data["model"])
    # first-stage pulses agree too (same seed, same cases)
    assert np.abs(c.data["phi_spice"] - c.data["phi_model"]).max() < 0.1
    assert np.any(c.data["model"] != 0)


def test_tile_config_rejects_bad_sizes():
    with pytest.raises(ValueError):
        V.tile_config(gc.DeviceParams(), n=0)


def test_written_column_on_the_generic_kit_needs_its_pedestal_correction():
    from gaincell.spice.fitdata import write_pedestal
    from gaincell.spice.kits import generic_kit

    iv = spice_iv()
    dev = iv.fit.device()
    kit = generic_kit()
    lv, ped = write_pedestal(dev, kit)
    assert np.all((-0.04 < ped) & (ped < -0.01))  # charge injection of the write device
    c = V.validate_column_written(dev, seed=1, n_cases=1, n_cells=32, n_reads=2, kit=kit,
                                  pedestal=(lv, ped))
    assert c.passed, c.summary()
    raw = V.validate_column_written(dev, seed=1, n_cases=1, n_cells=32, n_reads=2, kit=kit)
    assert not raw.passed  # the uncorrected DAC leaves the pedestal in every cell
