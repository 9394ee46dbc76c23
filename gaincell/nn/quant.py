"""Quantizers with straight-through gradients (torch twins of :mod:`gaincell.device.quantize`).

Forward: ``round((clip(x, lo, hi) - anchor) / step) * step + anchor`` with
``step = (hi - lo) / (levels - 1)``, ties to even (``torch.round``, like ``numpy.rint``):
bit-identical to the NumPy quantizer in float64 (``anchor`` 0, the paper's grid, or ``lo`` for
the PWM and DAC, :func:`gaincell.device.quantize.pwm` / ``dac``). ``levels=None`` clips only.

Backward (straight-through estimator, as the paper's ``quantization_custom`` after its clamp):
the gradient passes unchanged inside ``[lo, hi]`` and is zero where the input was clipped.
"""

from __future__ import annotations

from gaincell._checks import check_range
from gaincell.device.quantize import quantizer_step
from gaincell.nn._torch import torch

__all__ = ["quantize_ste"]


class _QuantizeSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, lo: float, hi: float, step: float, anchor: float):
        inside = (x >= lo) & (x <= hi)
        ctx.save_for_backward(inside)
        y = torch.clamp(x, lo, hi)
        if step > 0.0:
            if anchor == 0.0:
                y = torch.round(y / step) * step
            else:
                y = torch.round((y - anchor) / step) * step + anchor
        return y

    @staticmethod
    def backward(ctx, grad):
        (inside,) = ctx.saved_tensors
        return grad * inside.to(grad.dtype), None, None, None, None


def quantize_ste(x: torch.Tensor, lo: float, hi: float, levels: int | None,
                 anchor: float = 0.0) -> torch.Tensor:
    """Clip to ``[lo, hi]`` and round to the grid (ties to even); straight-through gradient.

    Parameters
    ----------
    x : torch.Tensor
        Values in the converter's unit (fraction of T_max, V, or full scale).
    lo, hi : float
        Converter range, ``lo < hi``.
    levels : int or None
        Number of levels (>= 2), or None for an ideal converter (clip only).
    anchor : float
        A point of the grid (0, or ``lo`` for a converter anchored at its lowest level).
    """
    lo, hi = check_range("lo", lo, "hi", hi)
    return _QuantizeSTE.apply(x, lo, hi, quantizer_step(lo, hi, levels), float(anchor))
