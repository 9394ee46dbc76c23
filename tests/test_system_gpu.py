"""GPU baselines: stored with provenance, and the paper's ratios with its normalization."""

import json
from pathlib import Path

import pytest

import gaincell.system as gs
from gaincell.params import AttentionConfig

SHARED = Path(__file__).resolve().parents[2] / "shared" / "reference" / "gpu_baseline_h100.json"


@pytest.fixture(scope="module")
def est():
    return gs.estimate(AttentionConfig.leroux2025(), n_layers=12)


def _cmp(est, name):
    (c,) = [c for c in est.gpu if c.baseline.name == name]
    return c


def test_baselines_have_method_and_source():
    bs = gs.gpu_baselines()
    names = [b.name for b in bs]
    assert "RTX 4090 (paper)" in names and "Jetson Nano (paper)" in names
    assert sum(b.device.startswith("NVIDIA H100") for b in bs) == 8
    for b in bs:
        assert b.method and b.source
        assert b.latency_per_token_s > 0 and b.energy_per_token_j > 0
        assert (b.n_heads, b.head_dim, b.window) == (12, 64, 1024)


def test_paper_figures_are_the_published_ones():
    b = {b.name: b for b in gs.gpu_baselines()}
    assert b["RTX 4090 (paper)"].latency_per_token_s == pytest.approx(22.37e-6, rel=1e-3)
    assert b["RTX 4090 (paper)"].energy_per_token_j == pytest.approx(7.178e-3, rel=1e-3)
    assert b["Jetson Nano (paper)"].latency_per_token_s == pytest.approx(488.9e-6, rel=1e-3)
    assert b["Jetson Nano (paper)"].energy_per_token_j == pytest.approx(3.246e-3, rel=1e-3)


def test_rtx4090_ratios_match_the_paper(est):
    c = _cmp(est, "RTX 4090 (paper)")
    assert c.latency_ratio == pytest.approx(344, rel=0.01)
    assert c.energy_ratio == pytest.approx(97_000, rel=0.01)
    assert c.matched


def test_jetson_ratios(est):
    c = _cmp(est, "Jetson Nano (paper)")
    assert c.latency_ratio == pytest.approx(7_500, rel=0.01)
    assert c.energy_ratio == pytest.approx(44_000, rel=0.01)


def test_h100_ratios_use_dynamic_energy(est):
    c = _cmp(est, "H100 fp16 sdpa B=64")
    assert c.latency_ratio == pytest.approx(1.3294691452756524e-06 / est.latency_layer_s)
    assert c.energy_ratio == pytest.approx(0.000530864421497436 / (12 * est.energy_head_j))
    assert c.baseline.energy_total_per_token_j > c.baseline.energy_per_token_j


@pytest.mark.skipif(not SHARED.exists(), reason="shared reference folder not present")
def test_package_copy_equals_the_shared_reference():
    pkg = Path(gs.__file__).resolve().parent.parent / "data" / "gpu_baseline_h100.json"
    assert json.loads(pkg.read_text()) == json.loads(SHARED.read_text())


def test_unmatched_design_is_flagged():
    e = gs.estimate(AttentionConfig.leroux2025(window=2048))
    assert not any(c.matched for c in e.gpu)


def test_benchmark_script_skips_cleanly_without_a_gpu():
    import subprocess
    import sys

    try:
        import torch

        if torch.cuda.is_available():
            pytest.skip("a GPU is present: the benchmark would run for minutes")
    except ImportError:
        pass
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_attention_baseline.py"
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stdout
