import numpy as np
import pytest

from gaincell.device import (
    add_read_noise,
    add_write_noise,
    as_rng,
    comparator_offsets,
    gain_mismatch,
)


def test_zero_sigma_is_identity_and_draws_nothing():
    rng = np.random.default_rng(0)
    x = np.arange(5.0)
    assert np.array_equal(add_read_noise(x, 0.0, rng), x)
    assert np.array_equal(add_write_noise(x / 10, 0.0, rng), x / 10)
    assert np.all(comparator_offsets(3, 0.0, rng) == 0)
    assert np.all(gain_mismatch(3, 0.0, rng) == 1)
    assert rng.random() == np.random.default_rng(0).random()


def test_statistics_and_seeding():
    a = add_read_noise(np.zeros(200000), 2e-15, as_rng(3))
    b = add_read_noise(np.zeros(200000), 2e-15, as_rng(3))
    assert np.array_equal(a, b)
    assert np.std(a) == pytest.approx(2e-15, rel=0.01)
    v = add_write_noise(np.full(10000, 0.89), 0.05, as_rng(1), vdd=0.9)
    assert v.max() <= 0.9 and v.min() >= 0
    g = gain_mismatch(100000, 0.1, as_rng(2))
    assert np.mean(g) == pytest.approx(1, abs=0.002) and g.min() >= 0


def test_bad_input():
    with pytest.raises(ValueError, match="sigma"):
        add_read_noise([0.0], -1.0, as_rng(0))
    with pytest.raises(ValueError, match="seed"):
        as_rng(-3)
    with pytest.raises(ValueError, match="seed"):
        as_rng("abc")
    with pytest.raises(ValueError, match="charge"):
        add_read_noise([np.inf], 1.0, as_rng(0))
