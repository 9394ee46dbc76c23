"""The paper's training recipe, end to end, at a scale 2 CPU cores can run.

Stages (each checkpointed; a re-run with the same settings and folder resumes):

1. ``softmax``: train the software baseline from scratch (sliding-window softmax attention);
2. ``linear``: copy it into the linear hardware model (the paper's intermediate model), set
   the scalers from the float statistics (:func:`gaincell.nn.adapt.init_from_float`; loss
   reported as ``linear_init``) and fine-tune;
3. ``nonlinear_unadapted``: copy the linear model into the nonlinear gain-cell model as is;
4. ``nonlinear_adapted``: run the adaptation algorithm (statistics of the linear model as
   targets, :func:`gaincell.nn.adapt.adapt`);
5. ``nonlinear``: fine-tune the nonlinear model (surrogate gradient); ``softmax_long``
   (control, ``control=True``): the softmax model trained for as many more steps as the two
   hardware stages together, so that the comparison is at equal total training;
5c. noise (``noise_aware=True``): the design with ``noise_overrides`` (read noise, kT/C write
   noise, mismatch; the chips of ``ModelConfig.hw_seed``): ``nonlinear_noisy`` is the
   fine-tuned nonlinear model evaluated under that noise; ``nonlinear_noise_aware`` the
   adapted model fine-tuned as many steps as ``nonlinear`` but with the noise sampled afresh at
   every training forward (noise-aware fine-tuning), evaluated under the same noise. The torch
   twin in eval mode uses the simulator's noise and draws, so these are the simulator's
   numbers (checked against it on the sensitivity batches);
6. sensitivity sweeps of the fine-tuned nonlinear model with the NumPy simulator;
6b. seeds (``seeds`` > 1): the training stages again for seeds ``seed + 1, ...`` (sub-runs in
   ``seeds/seed<N>/``), for the spread of the headline over seeds (mean and sample standard
   deviation of the validation losses and of the equal-steps gap);
7. the report (``report.md``, ``report.json``, figures, generated text samples), written as
   one set into the ``report/`` folder of the run folder.

Validation losses are the mean cross-entropy in nats per character on the same fixed
validation batches for every stage.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gaincell._io import atomic_write_json
from gaincell.nn._torch import torch
from gaincell.nn.adapt import adapt, init_from_float, record_targets
from gaincell.nn.data import CharData
from gaincell.nn.model import GPT, ModelConfig
from gaincell.nn.sensitivity import default_sweeps, evaluate_with_simulator, sensitivity_sweeps
from gaincell.nn.train import TrainSettings, evaluate, load_torch, save_torch, train

__all__ = ["PipelineSettings", "run_pipeline", "STAGES", "DEFAULT_NOISE", "seed_summary"]

STAGES = ("softmax", "linear_init", "linear", "nonlinear_unadapted", "nonlinear_adapted",
          "nonlinear", "softmax_long", "nonlinear_noisy", "nonlinear_noise_aware")
#: Default noise of the noise-aware stage: read noise 2 % of the first stage's saturation charge
#: (24 fC of 1.2 pC), kT/C write noise at the storage capacitance, 5 % cell gain mismatch
#: (assumptions: a plausible analog front end, not measured figures).
DEFAULT_NOISE = {"sigma_read_noise": 0.02 * 1.2e-12, "write_noise_ktc": True,
                 "sigma_gain_mismatch": 0.05}
_SEED_VAL, _SEED_CALIB, _SEED_SENS, _SEED_SAMPLE = 1234, 4321, 777, 99


@dataclass(frozen=True)
class PipelineSettings:
    """Settings of :func:`run_pipeline` (defaults: the ``gaincell model-demo`` run).

    data_path / max_chars: corpus (UTF-8 text; None: the shipped tiny Shakespeare) and an
    optional cut of its beginning;
    n_layer, n_head, n_embd, block_size, window, hw_overrides: see
    :class:`~gaincell.nn.model.ModelConfig`; batch_size: training sequences per step;
    *_iters, *_lr: steps and peak learning rates of the three trained stages (cosine decay to
    a tenth); eval_batches x eval_batch_size: the fixed validation set of the stage table;
    curve_batches: its first batches, used for the curves during training; adapt_batch_size:
    sequences of the calibration batch (training split); sensitivity, sens_batches,
    sens_batch_size: the simulator sweeps and their validation subset; sample_chars: length
    of the generated samples; control: also train the equal-steps softmax control
    (``softmax_long``); seed: model initialization and batch order.
    """

    data_path: str | None = None
    max_chars: int | None = None
    n_layer: int = 3
    n_head: int = 2
    n_embd: int = 128
    block_size: int = 256
    window: int = 128
    hw_overrides: dict = field(default_factory=dict)
    batch_size: int = 16
    softmax_iters: int = 1500
    softmax_lr: float = 2e-3
    linear_iters: int = 500
    linear_lr: float = 1e-3
    nonlinear_iters: int = 500
    nonlinear_lr: float = 5e-4
    warmup: int = 50
    eval_every: int = 100
    ckpt_every: int = 100
    eval_batches: int = 16
    eval_batch_size: int = 16
    curve_batches: int = 4
    adapt_batch_size: int = 16
    sensitivity: bool = True
    sens_batches: int = 2
    sens_batch_size: int = 8
    sample_chars: int = 300
    control: bool = True
    seed: int = 0
    seeds: int = 3
    noise_aware: bool = False
    noise_overrides: dict = field(default_factory=lambda: dict(DEFAULT_NOISE))
    sweeps: tuple | None = None

    @classmethod
    def tiny(cls, **overrides) -> "PipelineSettings":
        """A run of a few seconds (tests, notebook): 1 layer, 64-token context, few steps,
        one seed (``seeds=3`` for the headline's spread)."""
        base = dict(max_chars=60_000, seeds=1, n_layer=1, n_head=1, n_embd=64, block_size=64,
                    window=64, batch_size=8, softmax_iters=30, linear_iters=10,
                    nonlinear_iters=10, warmup=5, eval_every=10, ckpt_every=10,
                    eval_batches=2, eval_batch_size=8, curve_batches=1, adapt_batch_size=8,
                    sens_batches=1, sens_batch_size=4, sample_chars=40)
        base.update(overrides)
        return cls(**base)

    def model_config(self, vocab_size: int) -> ModelConfig:
        return ModelConfig(vocab_size=vocab_size, block_size=self.block_size,
                           n_layer=self.n_layer, n_head=self.n_head, n_embd=self.n_embd,
                           window=self.window, attention="softmax",
                           hw_overrides=dict(self.hw_overrides))

    def train_settings(self, stage: str) -> TrainSettings:
        if stage == "softmax_long":  # control: as many extra steps as the hardware stages
            iters, lr = self.linear_iters + self.nonlinear_iters, self.linear_lr
        elif stage == "nonlinear_noise_aware":
            iters, lr = self.nonlinear_iters, self.nonlinear_lr
        else:
            iters = getattr(self, f"{stage}_iters")
            lr = getattr(self, f"{stage}_lr")
        return TrainSettings(iters=iters, lr=lr, min_lr=lr / 10, warmup=min(self.warmup, iters),
                             batch_size=self.batch_size, eval_every=self.eval_every,
                             ckpt_every=self.ckpt_every, seed=self.seed + {
                                 "softmax": 0, "linear": 1, "nonlinear": 2,
                                 "softmax_long": 3, "nonlinear_noise_aware": 4}[stage])

    def to_dict(self) -> dict:
        """Plain JSON data (tuples as lists, as ``state.json`` holds them)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


class _State:
    """``state.json`` in the run folder: settings and per-stage results (atomic writes)."""

    def __init__(self, out: Path, settings: PipelineSettings, resume: bool):
        self.path = out / "state.json"
        self.data = {"settings": settings.to_dict(), "stages": {}, "adaptation": None,
                     "linear_init_adaptation": None, "sensitivity": None, "samples": {},
                     "histories": {}}
        if resume and self.path.exists():
            try:
                old = json.loads(self.path.read_text(encoding="utf-8"))
                if not isinstance(old, dict):
                    raise ValueError("not a JSON object")
            except (ValueError, UnicodeDecodeError) as e:   # truncated or foreign file
                raise ValueError(f"{self.path}: not a gaincell run state (JSON object with "
                                 f"settings and stages): {e}; use --restart or another "
                                 f"output folder") from None
            if old.get("settings") != self.data["settings"]:
                diff = sorted(k for k in self.data["settings"]
                              if old.get("settings", {}).get(k) != self.data["settings"][k])
                raise ValueError(f"{out} holds a run with other settings (differs in {diff}): "
                                 f"allowed the same settings to resume; use another output "
                                 f"folder or restart")
            self.data = old

    def save(self):
        atomic_write_json(self.path, self.data)

    def stage(self, name):
        return self.data["stages"].get(name)

    def set_stage(self, name, **vals):
        self.data["stages"][name] = vals
        self.save()


def _check_run_folder(out: Path) -> None:
    """A run folder is new, empty, or one a run wrote (it holds ``state.json``): checkpoints
    are replaced and, with ``resume=False``, ``*.pt`` files deleted only there."""
    if not os.path.lexists(out):
        return
    if not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder: allowed a new folder, an empty "
                         f"one, or a run folder (holding state.json)")
    if any(True for _ in out.iterdir()) and not (out / "state.json").is_file():
        raise ValueError(f"{out} is a folder no gaincell run wrote (no state.json): refusing "
                         f"to write checkpoints into it; allowed a new or empty folder, or a "
                         f"run folder")


def _log(progress, msg):
    if progress:
        from tqdm.auto import tqdm
        tqdm.write(msg)


def _chosen_sweeps_names(names) -> None:
    allsw = default_sweeps()
    bad = sorted(set(names) - set(allsw))
    if bad or isinstance(names, str):
        raise ValueError(f"PipelineSettings.sweeps = {names!r}: allowed a list of names from "
                         f"{sorted(allsw)}")


def _chosen_sweeps(model: GPT, names) -> dict:
    allsw = default_sweeps(model.attentions()[0].core.cfg.device.stage1_q_sat)
    return allsw if names is None else {k: allsw[k] for k in names}


def _mean_std(xs: list[float]) -> dict:
    n = len(xs)
    m = sum(xs) / n
    sd = (sum((x - m) ** 2 for x in xs) / (n - 1)) ** 0.5 if n > 1 else 0.0
    return {"mean": m, "std": sd, "n": n, "values": list(xs)}


def seed_summary(runs: dict) -> dict:
    """Spread over seeds: ``runs`` maps seed -> stages (``{stage: {"val_loss": ...}}``);
    returns per stage the mean, sample standard deviation (n - 1) and values of the
    validation loss, and the same for the equal-steps gap ``100 (nonlinear / softmax_long -
    1)`` in %."""
    seeds = sorted(runs)
    out = {"seeds": seeds, "stages": {}}
    for name in STAGES:
        vals = [runs[k][name]["val_loss"] for k in seeds if name in runs[k]]
        if len(vals) == len(seeds):
            out["stages"][name] = _mean_std(vals)
    if all("softmax_long" in runs[k] and "nonlinear" in runs[k] for k in seeds):
        out["gap_pct"] = _mean_std([100 * (runs[k]["nonlinear"]["val_loss"] /
                                           runs[k]["softmax_long"]["val_loss"] - 1)
                                    for k in seeds])
    return out


def run_pipeline(settings: PipelineSettings | None = None, out_dir="runs/model-demo",
                 resume: bool = True, progress: bool = True,
                 callback: Callable[[str, int], None] | None = None,
                 write_report: bool = True) -> dict:
    """Run (or resume) every stage; returns the state dict (also in ``out_dir/state.json``);
    the report goes to ``out_dir/report/``.

    ``callback(stage, step)`` is called after every training step (tests use it to interrupt).
    With ``resume=False`` an existing run in ``out_dir`` is overwritten stage by stage.
    """
    s = settings or PipelineSettings()
    if not isinstance(s, PipelineSettings):
        raise ValueError(f"settings is a {type(s).__name__}: allowed a PipelineSettings")
    s.model_config(vocab_size=1)  # fail fast on bad geometry, before any file is touched
    for name in ("softmax", "linear", "nonlinear", "softmax_long", "nonlinear_noise_aware"):
        s.train_settings(name)
    if s.sweeps is not None:
        _chosen_sweeps_names(s.sweeps)
    if isinstance(s.seeds, bool) or not isinstance(s.seeds, int) or s.seeds < 1:
        raise ValueError(f"PipelineSettings.seeds = {s.seeds!r}: allowed an integer >= 1")
    if s.noise_aware:
        noisy_cfg = s.model_config(vocab_size=1).replace(
            attention="nonlinear", hw_overrides={**s.hw_overrides, **s.noise_overrides})
        d = noisy_cfg.attention_config().device
        if not (d.sigma_read_noise > 0 or d.write_noise_sigma > 0):
            raise ValueError(f"PipelineSettings.noise_overrides = {s.noise_overrides!r} has no "
                             f"read or write noise to sample: allowed sigma_read_noise > 0, "
                             f"sigma_write_noise > 0 or write_noise_ktc = True")
    out = Path(out_dir)
    _check_run_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    if not resume:
        for p in list(out.glob("*.pt")) + [out / "state.json"]:
            if p.exists():
                p.unlink()
    st = _State(out, s, resume)
    st.save()
    data = CharData.from_file(s.data_path, max_chars=s.max_chars)
    mcfg = s.model_config(data.vocab_size)
    bs = s.block_size
    val = data.fixed_batches("val", s.eval_batches, s.eval_batch_size, bs, _SEED_VAL)
    curve = val[:max(1, s.curve_batches)]
    calib = data.fixed_batches("train", 1, s.adapt_batch_size, bs, _SEED_CALIB)[0]

    def trained(name: str, model: GPT, noise_aware: bool = False) -> GPT:
        final = out / f"{name}.pt"
        if st.stage(name) is not None and final.exists():
            model.load_state_dict(load_torch(final)["model"])
            _log(progress, f"[{name}] done earlier: val loss {st.stage(name)['val_loss']:.4f}")
            return model
        t0 = time.time()
        hist = train(model, data, s.train_settings(name), curve, out / f"{name}.ckpt.pt",
                     desc=name, progress=progress, callback=callback, noise_aware=noise_aware)
        v = evaluate(model, val)
        save_torch({"model": model.state_dict(), "model_cfg": model.cfg.to_dict()}, final)
        st.data["histories"][name] = hist
        st.set_stage(name, val_loss=v, wall_s=time.time() - t0,
                     iters=s.train_settings(name).iters)
        (out / f"{name}.ckpt.pt").unlink(missing_ok=True)
        _log(progress, f"[{name}] val loss {v:.4f} ({time.time() - t0:.0f} s)")
        return model

    def measured(name: str, model: GPT, t0: float, **extra):
        if st.stage(name) is None:
            v = evaluate(model, val)
            st.set_stage(name, val_loss=v, wall_s=time.time() - t0, **extra)
            _log(progress, f"[{name}] val loss {v:.4f}")

    # 1. softmax baseline
    soft = trained("softmax", GPT(mcfg, seed=s.seed))

    # 2. linear hardware model
    t0 = time.time()
    lin = soft.with_variant("linear", seed=s.seed)
    rep0 = init_from_float(lin, soft, calib, progress=progress)
    st.data["linear_init_adaptation"] = rep0.to_dict()
    measured("linear_init", lin, t0)
    lin = trained("linear", lin)

    # 3. nonlinear, unadapted
    t0 = time.time()
    nl = lin.with_variant("nonlinear", seed=s.seed)
    measured("nonlinear_unadapted", nl, t0)

    # 4. adaptation
    t0 = time.time()
    targets = record_targets(lin, [calib])
    rep = adapt(nl, targets, calib, progress=progress)
    st.data["adaptation"] = rep.to_dict()
    _log(progress, "[adapt] " + rep.summary())
    measured("nonlinear_adapted", nl, t0, adapt_iterations=rep.iterations,
             adapt_converged=rep.converged)

    # 5. nonlinear fine-tuning (the adapted weights are kept for the noise-aware stage)
    adapted_sd = {k: v.clone() for k, v in nl.state_dict().items()} if s.noise_aware else None
    nl = trained("nonlinear", nl)

    # 5c. noise: the fine-tuned model under noise, and noise-aware fine-tuning
    if s.noise_aware:
        t0 = time.time()
        noisy = nl.with_hardware(s.noise_overrides)
        measured("nonlinear_noisy", noisy, t0)
        na = nl.with_hardware(s.noise_overrides)
        na.load_state_dict(adapted_sd)
        na = trained("nonlinear_noise_aware", na, noise_aware=True)

    # 5b. control: the softmax model trained for as many extra steps as the hardware stages
    soft_long = None
    if s.control:
        soft_long = GPT(mcfg, seed=s.seed)
        soft_long.load_state_dict(soft.state_dict())
        soft_long = trained("softmax_long", soft_long)

    # 6. sensitivity with the NumPy simulator
    if s.sensitivity and st.data.get("sensitivity") is None:
        t0 = time.time()
        sens_b = data.fixed_batches("val", s.sens_batches, s.sens_batch_size, bs, _SEED_SENS)
        torch_loss = evaluate(nl, sens_b)
        sim_loss = evaluate_with_simulator(nl, sens_b)
        sweeps = sensitivity_sweeps(nl, sens_b, _chosen_sweeps(nl, s.sweeps), progress=progress)
        st.data["sensitivity"] = {"torch_loss": torch_loss, "simulator_loss": sim_loss,
                                  "sweeps": sweeps, "wall_s": time.time() - t0,
                                  "tokens": s.sens_batches * s.sens_batch_size * bs}
        if s.noise_aware:
            st.data["sensitivity"]["noise"] = {
                "overrides": dict(s.noise_overrides),
                "nonlinear_noisy": {"torch": evaluate(noisy, sens_b),
                                    "simulator": evaluate_with_simulator(noisy, sens_b)},
                "nonlinear_noise_aware": {"torch": evaluate(na, sens_b),
                                          "simulator": evaluate_with_simulator(na, sens_b)}}
        st.save()
        _log(progress, f"[sensitivity] preset loss torch {torch_loss:.4f}, simulator "
                       f"{sim_loss:.4f} ({time.time() - t0:.0f} s)")

    # 6b. more seeds for the headline's spread
    if s.seeds > 1:
        runs = {s.seed: st.data["stages"]}
        for i in range(1, s.seeds):
            sub = dataclasses.replace(s, seed=s.seed + i, seeds=1, sensitivity=False,
                                      noise_aware=False, sample_chars=1)
            _log(progress, f"[seeds] seed {sub.seed} ({i + 1}/{s.seeds})")
            r = run_pipeline(sub, out / "seeds" / f"seed{sub.seed}", resume=resume,
                             progress=progress, callback=callback, write_report=False)
            runs[sub.seed] = r["stages"]
        st.data["seeds"] = seed_summary(runs)
        st.save()

    # 7. samples and report
    if not st.data["samples"]:
        for name, m in (("softmax", soft), ("linear", lin), ("nonlinear", nl)):
            g = torch.Generator().manual_seed(_SEED_SAMPLE)
            idx = m.generate(data.encode("\n").view(1, 1), s.sample_chars, gen=g)
            st.data["samples"][name] = data.decode(idx[0].tolist())
        st.save()
    if write_report:
        from gaincell.nn.report import write_report as _write
        _write(st.data, out / "report")
    return st.data
