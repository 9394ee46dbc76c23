"""Record the q, k, v a trained model feeds its attention hardware, as a workload file.

``record_qkv(model, idx, layer)`` runs the model on token ids ``idx`` (B, T) and returns the
outputs of layer ``layer``'s per-head scalers: q as pulse widths (fraction of T_max), k and v
as stored voltages (V), each (B, H, T, D) float64, i.e. exactly what the hardware receives.
``save_qkv`` writes them as the ``.npz`` that ``gaincell explore --workload`` reads.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from gaincell.nn._torch import torch

__all__ = ["record_qkv", "save_qkv"]


@torch.no_grad()
def record_qkv(model, idx, layer: int = 0) -> dict[str, np.ndarray]:
    """``{"q", "k", "v"}`` of layer ``layer`` (hardware units, (B, H, T, D) float64)."""
    atts = model.attentions()
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(atts):
        raise ValueError(f"layer = {layer!r} is invalid: allowed an integer in "
                         f"[0, {len(atts) - 1}]")
    att = atts[layer]
    if att.core is None:
        raise ValueError("the model's attention is softmax: allowed a hardware model "
                         "('linear' or 'nonlinear'), whose scalers map into hardware units")
    rec: dict[str, np.ndarray] = {}
    hooks = [att.scalers[n].register_forward_hook(
        lambda m, i, o, n=n: rec.__setitem__(n, o.detach().to("cpu", torch.float64).numpy()))
        for n in ("q", "k", "v")]
    was_training = model.training
    try:
        model.eval()
        model(idx)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rec


def save_qkv(path: str | os.PathLike, qkv: dict[str, np.ndarray]) -> Path:
    """Write ``qkv`` as an ``.npz`` (atomically)."""
    from gaincell._io import atomic_write_with

    missing = sorted({"q", "k", "v"} - set(qkv))
    if missing:
        raise ValueError(f"qkv lacks {missing}: allowed a dict with q, k, v")

    def w(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez(f, **{n: np.asarray(qkv[n], dtype=np.float64) for n in ("q", "k", "v")})
    return atomic_write_with(path, w)
