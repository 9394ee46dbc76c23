import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from gaincell.device import counter, dac, pwm, quantize, quantize_codes, quantizer_step
from gaincell.params import DeviceParams


def quantize_twin(x, lo, hi, levels):
    x = np.clip(np.asarray(x, float), lo, hi)
    if levels is None:
        return x
    step = (hi - lo) / (levels - 1)
    return np.round(x / step) * step


finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
ranges = st.tuples(st.floats(-2, 1), st.floats(0.01, 3)).map(lambda t: (t[0], t[0] + t[1]))
levels = st.one_of(st.none(), st.integers(2, 300))


@given(arrays(np.float64, st.integers(0, 50), elements=finite), ranges, levels)
def test_kernel_matches_numpy_twin(x, rng, L):
    lo, hi = rng
    assert np.array_equal(quantize(x, lo, hi, L), quantize_twin(x, lo, hi, L))


@given(arrays(np.float64, st.integers(1, 50), elements=finite), ranges, levels)
def test_idempotent_and_in_range(x, rng, L):
    lo, hi = rng
    y = quantize(x, lo, hi, L)
    assert np.array_equal(quantize(y, lo, hi, L), y)
    step = quantizer_step(lo, hi, L)
    # the grid is anchored at zero: values stay within half a step of the range
    assert np.all(y >= lo - step / 2 - 1e-12) and np.all(y <= hi + step / 2 + 1e-12)


@given(arrays(np.float64, st.integers(2, 50), elements=finite), ranges, levels)
def test_monotone(x, rng, L):
    lo, hi = rng
    xs = np.sort(x)
    assert np.all(np.diff(quantize(xs, lo, hi, L)) >= 0)


def test_preset_grids():
    d = DeviceParams()
    assert np.unique(pwm(np.linspace(-1, 2, 1001), d)).size == 16
    assert np.unique(dac(np.linspace(-1, 2, 1001), d)).size == 8
    out = np.unique(counter(np.linspace(-2, 2, 10001), d))
    assert out.size == 33 and out.max() == pytest.approx(32 / 31)   # the paper's +-32/31
    x = np.array([0.0, 0.3, 0.45, 0.9])
    codes = quantize_codes(x, 0, 0.9, 8)
    assert np.array_equal(codes, np.round(x / (0.9 / 7)))
    assert np.array_equal(codes * (0.9 / 7), dac(x, d))   # code x step: the DAC value, exactly


def test_ties_to_even():
    assert quantize([0.5, 1.5, 2.5], 0, 10, 11).tolist() == [0.0, 2.0, 2.0]


@pytest.mark.parametrize("bad", [[np.nan], [np.inf], "abc"])
def test_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="x"):
        quantize(bad, 0, 1, 4)


def test_rejects_bad_levels_and_range():
    with pytest.raises(ValueError, match="levels"):
        quantize([0.1], 0, 1, 1)
    with pytest.raises(ValueError, match="lo"):
        quantize([0.1], 1, 0, 4)


@given(arrays(np.float64, st.integers(1, 50), elements=finite), st.floats(0.0, 0.4),
       st.floats(0.1, 0.5), st.integers(2, 64))
def test_dac_and_pwm_grids_start_at_lo_and_stay_in_range(x, lo, span, L):
    d = DeviceParams(kv_lo=lo, kv_hi=lo + span, kv_levels=L, q_lo=lo, q_hi=lo + span,
                     q_levels=L)
    for y in (dac(x, d), pwm(x, d)):
        assert np.all(y >= lo) and np.all(y <= lo + span + 1e-12)
        k = (y - lo) / (span / (L - 1))
        np.testing.assert_allclose(k, np.round(k), atol=1e-9)


def test_anchor_is_validated():
    with pytest.raises(ValueError, match="anchor"):
        quantize([0.1], 0, 1, 4, anchor=np.nan)


def test_validated_grid_path_equals_the_checked_quantizer():
    """quantize_on (the per-token path, parameters validated once in a Grid) gives the same
    numbers as quantize, and pwm/dac (which use it) the same as quantize with their grid."""
    from gaincell.device.quantize import dac, grid, pwm, quantize, quantize_on

    rng = np.random.default_rng(4)
    x = rng.uniform(-0.3, 1.3, (3, 5, 7))
    for lo, hi, levels, anchor in [(0.0, 1.0, 16, 0.0), (0.1, 0.8, 7, 0.1), (-1, 1, 32, 0),
                                   (0.0, 0.9, None, 0.0), (0.0, 0.9, 300, 0.0)]:
        ref = quantize(x, lo, hi, levels, anchor)
        np.testing.assert_array_equal(quantize_on(x, grid(lo, hi, levels, anchor)), ref)
        np.testing.assert_array_equal(quantize_on(x[:, ::2], grid(lo, hi, levels, anchor)),
                                      quantize(x[:, ::2], lo, hi, levels, anchor))
    d = DeviceParams.leroux2025().replace(q_lo=0.05, kv_lo=0.1, kv_levels=6)
    np.testing.assert_array_equal(pwm(x, d), quantize(x, d.q_lo, d.q_hi, d.q_levels, d.q_lo))
    np.testing.assert_array_equal(dac(x, d), quantize(x, d.kv_lo, d.kv_hi, d.kv_levels,
                                                      d.kv_lo))


@pytest.mark.parametrize("args, match", [
    ((1.0, 0.0, 8), "lo"), ((0.0, 1.0, 1), "levels"), ((True, 2.0, 8), "lo"),
    ((0.0, np.inf, 8), "hi"), ((np.zeros(2), 1.0, 8), "lo"), ((0.0, 1.0, 8.0), "levels"),
])
def test_grid_validates_as_quantize(args, match):
    """The cached grid refuses what quantize refuses, also after an equal valid grid was
    cached (True is not 1, 8.0 is not 8)."""
    from gaincell.device.quantize import grid, quantize

    grid(0.0, 1.0, 8)    # valid grids equal to the bad ones cached first
    grid(1, 2.0, 8)
    with pytest.raises(ValueError, match=match):
        grid(*args)
    with pytest.raises(ValueError, match=match):
        quantize(np.zeros(3), *args)
