"""Validation loss of a trained hardware model against device parameters, evaluated with the
NumPy simulator (:class:`gaincell.GainCellAttention`) plugged into inference.

Every attention layer's hardware core is replaced by ``gaincell.GainCellAttention(cfg', seed)``
where ``cfg'`` is the layer's :class:`~gaincell.params.AttentionConfig` with the swept
parameter overridden; the float parts of the model (projections, scalers, MLPs) stay in torch.
So the accuracy numbers come from the same physics as the rest of gaincell, including what the
torch twin does not model (read noise, mismatch, write noise, comparator offsets).

Default sweeps (each one parameter, the rest at the preset):

- ``leak_per_step`` (dt / tau per token): the retention; tau = dt / leak for a token period dt.
  The preset's 1.6e-4 is tau = 5 ms at dt = 0.8 us (derived from paper_numbers.md);
- ``kv_levels``, ``q_levels``, ``out_levels``: quantization of the K/V DAC, the query PWM and
  the sub-array counters (None = ideal);
- ``sigma_read_noise`` (C, additive on both stages' bit-line charges), given as fractions of
  the first-stage saturation charge ``stage1_q_sat`` (1.2 pC in the preset);
- ``sigma_gain_mismatch`` (relative per-cell current spread).
"""

from __future__ import annotations

import math

from gaincell.array import GainCellAttention
from gaincell.nn._torch import torch
from gaincell.nn.model import GPT
from gaincell.nn.train import evaluate

__all__ = ["evaluate_with_simulator", "default_sweeps", "sensitivity_sweeps",
           "PRESET_TOKEN_PERIOD_S"]

#: Token period implied by the preset: leak 1.6e-4 per step with tau = 5 ms gives
#: dt = 0.8 us (derived from shared/reference/paper_numbers.md; tau is unconfirmed there),
#: close to GPT-2's 12 layers x 65 ns = 0.78 us of gaincell.system's retention link.
PRESET_TOKEN_PERIOD_S = 1.6e-4 * 5e-3


@torch.no_grad()
def evaluate_with_simulator(model: GPT, batches, overrides: dict | None = None,
                            seed: int = 0) -> float:
    """Mean validation loss (nats/char) with every attention layer run by the NumPy simulator.

    Parameters
    ----------
    model : GPT
        A hardware-variant model (``linear`` or ``nonlinear``).
    batches : list of (x, y)
        Fixed evaluation batches.
    overrides : dict
        ``AttentionConfig.replace`` keywords applied to every layer (device fields by name).
    seed : int
        Layer ``l`` uses ``gaincell.GainCellAttention(cfg, seed=seed + l)``.
    """
    if model.cfg.attention == "softmax":
        raise ValueError("model.cfg.attention = 'softmax' has no hardware to simulate: "
                         "allowed 'linear' or 'nonlinear'")
    atts = model.attentions()
    try:
        for li, att in enumerate(atts):
            cfg = att.core.cfg.replace(**(overrides or {}))
            att.simulator = GainCellAttention(cfg, seed=int(seed) + li)
        return evaluate(model, batches)
    finally:
        for att in atts:
            att.simulator = None


def default_sweeps(stage1_q_sat: float = 1.2e-12) -> dict:
    """The default one-parameter sweeps ``{name: {"param", "values", "label", "x"}}``.

    ``x`` are the plotted abscissae (e.g. tau in s, noise as a fraction of ``stage1_q_sat``).
    """
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
    }


def sensitivity_sweeps(model: GPT, batches, sweeps: dict | None = None, seed: int = 0,
                       progress: bool = True) -> dict:
    """Run each sweep; returns ``{name: {... sweep ..., "loss": [nats/char per value]}}``."""
    if sweeps is None:
        sweeps = default_sweeps(model.attentions()[0].core.cfg.device.stage1_q_sat)
    n = sum(len(s["values"]) for s in sweeps.values())
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=n, desc="sensitivity", leave=True)
    out = {}
    for name, sw in sweeps.items():
        losses = []
        for val in sw["values"]:
            losses.append(evaluate_with_simulator(model, batches, {sw["param"]: val}, seed))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(sweep=name)
        out[name] = dict(sw, loss=losses)
    if bar is not None:
        bar.close()
    return out
