import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gaincell.device import decay_factor, leak_per_step, relax, sample_tau


def test_preset_leak_per_step_and_decay():
    assert decay_factor(1023, 1.6e-4) == pytest.approx(0.849, abs=5e-4)  # paper: 0.849
    assert leak_per_step(0.8e-6, 5e-3) == pytest.approx(1.6e-4)


@given(st.floats(0, 0.9), st.floats(0, 0.9), st.floats(1e-6, 1.0),
       st.lists(st.floats(0, 1.0), min_size=2, max_size=20))
def test_relax_is_monotone_toward_rest(v0, v_rest, tau, ts):
    ts = np.sort(ts)
    v = relax(v0, ts, tau, v_rest)
    dist = np.abs(v - v_rest)
    assert np.all(np.diff(dist) <= 1e-15)
    assert np.all(dist <= abs(v0 - v_rest) + 1e-15)


def test_sample_tau_lognormal_and_seeded():
    a = sample_tau(100000, 5e-3, 0.3, np.random.default_rng(1))
    b = sample_tau(100000, 5e-3, 0.3, np.random.default_rng(1))
    assert np.array_equal(a, b)
    assert np.std(np.log(a)) == pytest.approx(0.3, rel=0.02)
    assert np.median(a) == pytest.approx(5e-3, rel=0.02)
    assert np.all(sample_tau(3, 5e-3, 0.0, None) == 5e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: leak_per_step(1e-6, 0.0), "tau"),
    (lambda: decay_factor(-1, 1e-4), "age_steps"),
    (lambda: decay_factor(1, -1e-4), "leak"),
    (lambda: relax(0.5, -1.0, 1e-3, 0.45), "t"),
    (lambda: relax(0.5, 1.0, 0.0, 0.45), "tau"),
    (lambda: relax(np.nan, 1.0, 1e-3, 0.45), "v0"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
