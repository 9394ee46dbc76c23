"""Retention: the token period from the latency and tau give the leak per step."""

import math

import pytest

import gaincell.system as gs
from gaincell.params import AttentionConfig


@pytest.fixture(scope="module")
def link():
    return gs.estimate(AttentionConfig.leroux2025(tau=5e-3), n_layers=12).retention


def test_twelve_layers_and_5ms_land_near_the_paper(link):
    assert link.token_period_s == pytest.approx(12 * 65e-9, rel=0.01)
    assert link.leak_per_step == pytest.approx(1.6e-4, rel=0.03)
    assert link.config_leak_per_step == 1.6e-4
    assert abs(link.mismatch) < 0.03
    assert link.implied_token_period_s == pytest.approx(800e-9)
    assert link.retained_after_window == pytest.approx(math.exp(-link.leak_per_step * 1023))


def test_slower_token_rate_and_shorter_tau(link):
    assert link.with_(token_period_s=2 * link.token_period_s).leak_per_step == pytest.approx(
        2 * link.leak_per_step)
    assert link.with_(tau_s=2.5e-3).leak_per_step == pytest.approx(2 * link.leak_per_step)
    assert link.with_(token_rate_hz=1e6).leak_per_step == pytest.approx(1e-6 / 5e-3)
    with pytest.raises(ValueError, match="token_rate_hz"):
        link.with_(token_rate_hz=0.0)
    with pytest.raises(ValueError, match="tau"):
        link.with_(tau_s=0.0)


def test_overhead_and_layers_enter_the_token_period():
    spec = gs.SystemSpec(overhead_per_layer_s=35e-9)
    e = gs.estimate(AttentionConfig.leroux2025(), n_layers=12, spec=spec)
    assert e.token_period_s == pytest.approx(12 * 100e-9, rel=0.01)
    assert e.retention.leak_per_step == pytest.approx(1.2e-6 / 5e-3, rel=0.01)
    e24 = gs.estimate(AttentionConfig.leroux2025(), n_layers=24)
    assert e24.retention.leak_per_step == pytest.approx(2 * 780e-9 / 5e-3, rel=0.01)
