import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gaincell.device import hardsigmoid, pulse_width, signed_readout

charges = arrays(np.float64, st.integers(1, 50), elements=st.floats(-500, 500))


@given(charges, st.floats(1e-3, 200))
def test_hardsigmoid_matches_twin_and_stays_in_range(q, sat):
    phi = hardsigmoid(q, sat)
    np.testing.assert_array_equal(phi, np.clip(q / sat, 0, 1))
    t = pulse_width(q, sat, 15e-9)
    assert np.all(t >= 0) and np.all(t <= 15e-9)


def test_paper_eq3_regions():
    np.testing.assert_allclose(hardsigmoid([-5, 0, 40, 80, 200], 80), [0, 0, 0.5, 1, 1])
    np.testing.assert_allclose(hardsigmoid([40], 80, offset=8), [0.4])


def test_signed_readout_is_counter_of_normalized_charge():
    out = signed_readout([-100, -20, 0, 20, 39.9, 100], 40)
    step = 2 / 31
    np.testing.assert_allclose(out, np.round(np.clip(np.array([-100, -20, 0, 20, 39.9, 100]) / 40,
                                                     -1, 1) / step) * step)


def test_bad_input():
    with pytest.raises(ValueError, match="q_sat"):
        hardsigmoid([1.0], 0.0)
    with pytest.raises(ValueError, match="charge"):
        hardsigmoid([np.nan], 1.0)
    with pytest.raises(ValueError, match="t_max"):
        pulse_width([1.0], 1.0, -1.0)
