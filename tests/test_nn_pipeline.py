"""The end-to-end pipeline on a tiny synthetic corpus: stages, report, resume, CLI, import
hygiene (gaincell and its CLI work without torch)."""

import json
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared 2-core machine

from gaincell.nn.pipeline import PipelineSettings, run_pipeline  # noqa: E402


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    import numpy as np

    rng = np.random.default_rng(0)
    words = ["the ", "king ", "and ", "queen ", "of ", "a ", "storm\n", "ROMEO:\n", "is ",
             "sweet ", "night, ", "love. "]
    text = "".join(rng.choice(words, size=6000))
    p = tmp_path_factory.mktemp("data") / "corpus.txt"
    p.write_text(text, encoding="utf-8")
    return str(p)


def _settings(corpus, **kw):
    base = dict(data_path=corpus, softmax_iters=20, linear_iters=6, nonlinear_iters=6,
                ckpt_every=5, eval_every=5, seeds=1)
    base.update(kw)
    return PipelineSettings.tiny(**base)


def test_pipeline_end_to_end(corpus, tmp_path):
    sweeps = ["retention", "read_noise", "temperature", "token_period"]
    st = run_pipeline(_settings(corpus, seeds=2, noise_aware=True, sweeps=sweeps),
                      tmp_path / "run", progress=False)
    stages = st["stages"]
    for k in ("softmax", "linear_init", "linear", "nonlinear_unadapted",
              "nonlinear_adapted", "nonlinear", "softmax_long", "nonlinear_noisy",
              "nonlinear_noise_aware"):
        assert 0 < stages[k]["val_loss"] < 10, k
    assert st["adaptation"]["history"]
    sens = st["sensitivity"]
    assert abs(sens["torch_loss"] - sens["simulator_loss"]) < 5e-3
    assert list(sens["sweeps"]) == sweeps
    # the losses under noise are the simulator's (the twin uses its draws and noise)
    nz = sens["noise"]
    for k in ("nonlinear_noisy", "nonlinear_noise_aware"):
        assert nz[k]["simulator"] == pytest.approx(nz[k]["torch"], abs=5e-3), k
    assert nz["nonlinear_noisy"]["simulator"] != sens["simulator_loss"]   # noise matters
    # attention error: ~0 at the design's own point, grows with temperature and token period
    for name in ("temperature", "token_period"):
        err = sens["sweeps"][name]["attn_err"]
        assert err[0] < 1e-3 and err[-1] > max(err[0], 1e-3), (name, err)
    # seeds: the spread of the headline
    sd = st["seeds"]
    assert sd["seeds"] == [0, 1] and sd["gap_pct"]["n"] == 2
    assert sd["stages"]["nonlinear"]["values"][0] == stages["nonlinear"]["val_loss"]
    assert (tmp_path / "run" / "seeds" / "seed1" / "state.json").exists()
    for f in ("report/report.md", "report/report.json", "report/stages.png",
              "report/adaptation.png", "report/sensitivity.png", "report/environment.png",
              "softmax.pt", "nonlinear.pt", "nonlinear_noise_aware.pt"):
        assert (tmp_path / "run" / f).exists(), f
    md = (tmp_path / "run" / "report" / "report.md").read_text()
    assert "nonlinear_adapted" in md and "Generated text" in md
    assert "over 2 seeds (0, 1)" in md and "per seed" in md and "noise-aware" in md
    json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    assert (tmp_path / "run" / "report" / "MANIFEST.json").exists()   # one atomic set
    assert not list((tmp_path / "run").glob("*.ckpt.pt"))  # cleaned after each stage


def test_pipeline_resumes_after_interruption(corpus, tmp_path):
    s = _settings(corpus, sensitivity=False)
    ref = run_pipeline(s, tmp_path / "ref", progress=False, write_report=False)

    def interrupt(stage, step):
        if stage == "softmax" and step == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_pipeline(s, tmp_path / "run", progress=False, callback=interrupt,
                     write_report=False)
    ck = torch.load(tmp_path / "run" / "softmax.ckpt.pt", weights_only=False)
    assert ck["iter"] == 5  # last checkpoint before the interruption
    seen = []
    st = run_pipeline(s, tmp_path / "run", progress=False, write_report=False,
                      callback=lambda stage, step: seen.append((stage, step)))
    assert seen[0] == ("softmax", 6)  # resumed from the checkpoint, not from scratch
    for k, v in ref["stages"].items():
        assert st["stages"][k]["val_loss"] == pytest.approx(v["val_loss"], abs=1e-6), k
    # a finished run resumes without training again
    seen.clear()
    run_pipeline(s, tmp_path / "run", progress=False, write_report=False,
                 callback=lambda stage, step: seen.append((stage, step)))
    assert seen == []


def test_pipeline_refuses_other_settings_in_same_folder(corpus, tmp_path):
    s = _settings(corpus, sensitivity=False, softmax_iters=5, linear_iters=2,
                  nonlinear_iters=2)
    run_pipeline(s, tmp_path, progress=False, write_report=False)
    with pytest.raises(ValueError, match="other settings"):
        run_pipeline(_settings(corpus, sensitivity=False, softmax_iters=6, linear_iters=2,
                               nonlinear_iters=2), tmp_path, progress=False)


def test_cli_model_demo_tiny(corpus, tmp_path):
    from gaincell.cli import main

    rc = main(["model-demo", "--tiny", "--data", corpus, "--out", str(tmp_path),
               "--no-sensitivity", "--softmax-iters", "4", "--seeds", "1"])
    assert rc == 0
    assert (tmp_path / "report" / "report.md").exists()
    assert main(["model-demo", "--tiny", "--data", corpus, "--out", str(tmp_path / "y"),
                 "--seeds", "0"]) == 2
    assert main(["model-demo", "--tiny", "--data", str(tmp_path / "missing.txt"),
                 "--out", str(tmp_path / "x")]) == 2


def test_bad_window_fails_fast_in_pipeline(corpus, tmp_path):
    with pytest.raises(ValueError, match="larger than the context"):
        run_pipeline(_settings(corpus, window=128), tmp_path, progress=False)
    with pytest.raises(ValueError, match="seeds"):
        run_pipeline(_settings(corpus, seeds=0), tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="sweeps"):
        run_pipeline(_settings(corpus, sweeps=["humidity"]), tmp_path / "b", progress=False)
    with pytest.raises(ValueError, match="no read or write noise"):
        run_pipeline(_settings(corpus, noise_aware=True,
                               noise_overrides={"sigma_gain_mismatch": 0.1}),
                     tmp_path / "c", progress=False)
    assert not (tmp_path / "a").exists()   # refused before any file is written


def test_seed_summary_mean_and_sample_std():
    from gaincell.nn.pipeline import seed_summary

    runs = {s: {"nonlinear": {"val_loss": nl}, "softmax_long": {"val_loss": c}}
            for s, nl, c in ((0, 1.1, 1.0), (1, 1.3, 1.0), (2, 1.2, 1.0))}
    sd = seed_summary(runs)
    assert sd["stages"]["nonlinear"]["mean"] == pytest.approx(1.2)
    assert sd["stages"]["nonlinear"]["std"] == pytest.approx(0.1)   # n - 1
    assert sd["gap_pct"]["mean"] == pytest.approx(20.0)
    assert sd["gap_pct"]["values"] == pytest.approx([10.0, 30.0, 20.0])


_BLOCK_TORCH = "import sys; sys.modules['torch'] = None; "


def test_gaincell_and_cli_do_not_need_torch():
    code = (_BLOCK_TORCH + "import gaincell, gaincell.nn; from gaincell.cli import build_parser;"
            " h = build_parser().format_help(); assert 'model-demo' in h, h")
    subprocess.run([sys.executable, "-c", code], check=True)
    code = "import sys, gaincell; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_torch_gives_install_hint():
    code = "\n".join([
        _BLOCK_TORCH, "import gaincell.nn", "try:", "    gaincell.nn.GPT",
        "except ImportError as e:", "    assert 'pip install gaincell[torch]' in str(e)",
        "else:", "    raise SystemExit('no ImportError')"])
    subprocess.run([sys.executable, "-c", code], check=True)
