import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gaincell.metrics import compare


def test_exact_and_affine_cases():
    r = np.linspace(-1, 1, 101)
    c = compare(r, r)
    assert c.rel_rms == 0 and c.corr == pytest.approx(1) and c.fitted_rel_rms == pytest.approx(0)
    c = compare(3 * r + 0.5, r)           # a pure scale and offset gap
    assert c.rel_rms > 2 and c.corr == pytest.approx(1)
    assert (c.gain, c.offset) == (pytest.approx(3), pytest.approx(0.5))
    assert c.fitted_rel_rms == pytest.approx(0, abs=1e-12)


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 10**6), noise=st.floats(0.01, 3.0))
def test_fitted_error_is_sqrt_one_minus_corr_squared(seed, noise):
    rng = np.random.default_rng(seed)
    r = rng.normal(size=500)
    y = 0.7 * r + 0.2 + noise * rng.normal(size=500)
    c = compare(y, r)
    assert c.fitted_rel_rms == pytest.approx(np.sqrt(1 - c.corr**2), rel=1e-9, abs=1e-12)
    assert c.corr == pytest.approx(np.corrcoef(y, r)[0, 1], abs=1e-12)
    a, b = np.polyfit(r, y, 1)
    assert (c.gain, c.offset) == (pytest.approx(a), pytest.approx(b, abs=1e-12))


def test_degenerate_and_bad_inputs():
    c = compare(np.ones(5), np.zeros(5))
    assert np.isnan(c.rel_rms) and np.isnan(c.corr)
    with pytest.raises(ValueError, match="one shape"):
        compare(np.ones(3), np.ones(4))
    with pytest.raises(ValueError, match="finite"):
        compare([np.nan], [1.0])


def test_a_prepared_reference_gives_compares_numbers():
    from gaincell.metrics import Reference

    rng = np.random.default_rng(2)
    r = rng.normal(size=(3, 40))
    ref = Reference(r)
    for y in (0.8 * r + 0.1 * rng.normal(size=r.shape), r, -r + 2.0):
        c = compare(y, r)
        rel, corr = ref.rel_rms_corr(y)
        assert (rel, corr) == (pytest.approx(c.rel_rms, rel=1e-14, abs=1e-15),
                               pytest.approx(c.corr, rel=1e-14))
        assert ref.compare(y) == c
    assert ref.rel_rms_corr(r) == (0.0, pytest.approx(1.0))
    assert np.isnan(ref.rel_rms_corr(np.ones_like(r))[1])       # a constant output
    assert np.isnan(Reference(np.zeros(4)).rel_rms_corr(np.ones(4))[0])   # a zero reference
    with pytest.raises(ValueError, match="one shape"):
        ref.rel_rms_corr(r.ravel())
    with pytest.raises(ValueError, match="finite"):
        ref.rel_rms_corr(np.full(r.shape, np.inf))
    with pytest.raises(ValueError, match="non-empty finite"):
        Reference([1.0, np.nan])
