"""Validation loss of a trained hardware model against device parameters, evaluated with the
NumPy simulator (:class:`gaincell.GainCellAttention`) plugged into inference.

Every attention layer's hardware core is replaced by ``gaincell.GainCellAttention(cfg', seed)``
where ``cfg'`` is the layer's :class:`~gaincell.params.AttentionConfig` with the swept
parameter overridden; the float parts of the model (projections, scalers, MLPs) stay in torch.
So the accuracy numbers come from the simulator itself (the torch twin models the same
physics with the same draws, and the attention error below is measured against it).

Default sweeps (each one parameter, the rest at the preset):

- ``leak_per_step`` (dt / tau per token): the retention; tau = dt / leak for a token period dt.
  The preset's 1.6e-4 is tau = 5 ms at dt = 0.8 us (derived from paper_numbers.md);
- ``kv_levels``, ``q_levels``, ``out_levels``: quantization of the K/V DAC, the query PWM and
  the sub-array counters (None = ideal);
- ``sigma_read_noise`` (C, additive on both stages' bit-line charges), given as fractions of
  the first-stage saturation charge ``stage1_q_sat`` (1.2 pC in the preset);
- ``sigma_gain_mismatch`` (relative per-cell current spread);
- ``temperature`` (K, 27 to 85 C): retention tau(T) by Arrhenius
  (``DeviceParams.leak_activation_energy``), hence ``leak_per_step = token_period / tau(T)``,
  and the read current's temperature coefficient when the design has one;
- ``token_period`` (s): ``n_layers x (attention latency + per-layer time outside attention)``,
  the system layer's composition (:attr:`gaincell.system.Estimate.token_period_s`) with its
  calibrated 12 layers x 65 ns of attention (``LAYERS_PER_TOKEN``, ``ATTENTION_LAYER_S``) and
  the per-layer time outside attention (digital projections and MLP) swept from the preset's
  1.7 ns (800 ns in all) to 16 us.

Besides the loss, every point reports the *attention error*: the relative RMS difference
``sqrt(sum (y - y0)^2 / sum y0^2)`` of every layer's attention outputs ``y`` (the simulator
with the swept parameter) from ``y0``, the model's own design (its torch twin) on the same
layer inputs, over the evaluation batches.
"""

from __future__ import annotations

import math

import numpy as np

from gaincell.array import GainCellAttention
from gaincell.nn._torch import torch
from gaincell.nn.model import GPT
from gaincell.nn.train import evaluate
from gaincell.params import LEROUX2025_TOKEN_PERIOD_S

__all__ = ["evaluate_with_simulator", "default_sweeps", "sensitivity_sweeps",
           "PRESET_TOKEN_PERIOD_S", "LAYERS_PER_TOKEN", "ATTENTION_LAYER_S"]

#: Token period of the preset, s: leak 1.6e-4 per step with tau = 5 ms gives dt = 0.8 us
#: (``gaincell.params.LEROUX2025_TOKEN_PERIOD_S``), close to GPT-2's 12 layers x 65 ns =
#: 0.78 us of gaincell.system's retention link.
PRESET_TOKEN_PERIOD_S = LEROUX2025_TOKEN_PERIOD_S
#: Layers evaluated one after another per token: GPT-2's 12 (``gaincell.system``'s default
#: ``SystemSpec.n_layers``).
LAYERS_PER_TOKEN = 12
#: Attention latency of one layer, s: 65 ns, the system layer's calibrated per-layer latency
#: of the paper's design (``gaincell.system.estimate().latency_layer_s``).
ATTENTION_LAYER_S = 65e-9


class _Recording:
    """The simulator of one layer, accumulating the attention error against the layer's
    torch twin (the model's own design) on the same inputs."""

    def __init__(self, sim, core):
        self.sim, self.core = sim, core
        self.num = self.den = 0.0

    def forward(self, q, k, v):
        y = self.sim.forward(q, k, v)
        ref = self.core(*(torch.from_numpy(np.ascontiguousarray(x)) for x in (q, k, v)))
        ref = ref.numpy()
        self.num += float(((y - ref) ** 2).sum())
        self.den += float((ref**2).sum())
        return y


@torch.no_grad()
def evaluate_with_simulator(model: GPT, batches, overrides: dict | None = None,
                            seed: int | None = None, return_error: bool = False):
    """Mean validation loss (nats/char) with every attention layer run by the NumPy simulator.

    Parameters
    ----------
    model : GPT
        A hardware-variant model (``linear`` or ``nonlinear``).
    batches : list of (x, y)
        Fixed evaluation batches.
    overrides : dict
        ``AttentionConfig.replace`` keywords applied to every layer (device fields by name).
    seed : int or None
        Layer ``l`` uses ``gaincell.GainCellAttention(cfg, seed=seed + l)``; None: the
        model's own ``ModelConfig.hw_seed`` (the chips its torch twin models).
    return_error : bool
        Also return the attention error (module docstring), dimensionless.

    Returns
    -------
    float (nats/char), or ``(loss, attention_error)``.
    """
    if model.cfg.attention == "softmax":
        raise ValueError("model.cfg.attention = 'softmax' has no hardware to simulate: "
                         "allowed 'linear' or 'nonlinear'")
    seed = model.cfg.hw_seed if seed is None else int(seed)
    atts = model.attentions()
    recs = []
    try:
        for li, att in enumerate(atts):
            cfg = att.core.cfg.replace(**(overrides or {}))
            sim = GainCellAttention(cfg, seed=seed + li)
            if return_error:
                sim = _Recording(sim, att.core)   # evaluate() puts it in eval mode
                recs.append(sim)
            att.simulator = sim
        loss = evaluate(model, batches)
        if not return_error:
            return loss
        den = sum(r.den for r in recs)
        err = math.sqrt(sum(r.num for r in recs) / den) if den > 0 else math.nan
        return loss, err
    finally:
        for att in atts:
            att.simulator = None


def default_sweeps(stage1_q_sat: float = 1.2e-12) -> dict:
    """The default one-parameter sweeps ``{name: {"param", "values", "label", "x"}}``.

    ``x`` are the plotted abscissae (e.g. tau in s, noise as a fraction of ``stage1_q_sat``,
    temperature in C, token period in s).
    """
    temps_c = [27.0, 45.0, 65.0, 85.0]
    other = [PRESET_TOKEN_PERIOD_S / LAYERS_PER_TOKEN - ATTENTION_LAYER_S,
             50e-9, 200e-9, 1e-6, 4e-6, 16e-6]
    periods = [LAYERS_PER_TOKEN * (ATTENTION_LAYER_S + o) for o in other]
    periods[0] = PRESET_TOKEN_PERIOD_S   # exactly the preset (no rounding in the sum)
    leaks = [0.0, 1.6e-4, 1e-3, 4e-3, 1.6e-2, 6.4e-2]
    fracs = [0.0, 0.005, 0.01, 0.02, 0.05, 0.1]
    return {
        "retention": dict(param="leak_per_step", values=leaks,
                          x=[math.inf if lk == 0 else PRESET_TOKEN_PERIOD_S / lk for lk in leaks],
                          label="retention tau, s (dt = 0.8 us; inf = no leakage)"),
        "kv_levels": dict(param="kv_levels", values=[2, 3, 4, 8, 16, 32, None],
                          x=[2, 3, 4, 8, 16, 32, math.inf],
                          label="K/V DAC levels (inf = ideal)"),
        "q_levels": dict(param="q_levels", values=[2, 4, 8, 16, 32, None],
                         x=[2, 4, 8, 16, 32, math.inf], label="query PWM levels (inf = ideal)"),
        "out_levels": dict(param="out_levels", values=[4, 8, 16, 32, 64, None],
                           x=[4, 8, 16, 32, 64, math.inf],
                           label="sub-array counter levels (inf = ideal)"),
        "read_noise": dict(param="sigma_read_noise", values=[f * stage1_q_sat for f in fracs],
                           x=fracs, label="read noise sigma / stage-1 saturation charge"),
        "gain_mismatch": dict(param="sigma_gain_mismatch", values=[0.0, 0.02, 0.05, 0.1, 0.2],
                              x=[0.0, 0.02, 0.05, 0.1, 0.2],
                              label="cell gain mismatch sigma (relative)"),
        "temperature": dict(param="temperature", values=[c + 273.15 for c in temps_c],
                            x=temps_c, label="temperature, C (tau by Arrhenius)"),
        "token_period": dict(param="token_period", values=periods, x=periods,
                             overhead_per_layer_s=other,
                             label=f"token period, s = {LAYERS_PER_TOKEN} x "
                                   f"({ATTENTION_LAYER_S * 1e9:g} ns + time outside attention)"),
    }


def sensitivity_sweeps(model: GPT, batches, sweeps: dict | None = None,
                       seed: int | None = None, progress: bool = True) -> dict:
    """Run each sweep; returns ``{name: {... sweep ..., "loss": [nats/char per value],
    "attn_err": [attention error per value]}}``."""
    if sweeps is None:
        sweeps = default_sweeps(model.attentions()[0].core.cfg.device.stage1_q_sat)
    n = sum(len(s["values"]) for s in sweeps.values())
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n, desc="sensitivity", leave=True)
    out = {}
    for name, sw in sweeps.items():
        losses, errs = [], []
        for val in sw["values"]:
            lv, err = evaluate_with_simulator(model, batches, {sw["param"]: val}, seed,
                                              return_error=True)
            losses.append(lv)
            errs.append(err)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(sweep=name)
        out[name] = dict(sw, loss=losses, attn_err=errs)
    if bar is not None:
        bar.close()
    return out
