"""Per-head affine mappings ``a x + b`` between float activations and hardware units.

The paper's ``range_scaler`` (CODE, modules/model_gpt.py): one ``(a, b)`` per head for each of
q, k, v (float projection -> pulse width / stored voltage) and the output (digital counter sum
-> float). They are trainable during fine-tuning and are the knobs of the adaptation
algorithm (:mod:`gaincell.nn.adapt`), which needs the mean and standard deviation of the
scaler's output per head over (batch, token, feature): :attr:`AffineScaler.recording` makes
the forward pass store them.
"""

from __future__ import annotations

from gaincell.nn._torch import torch

nn = torch.nn


__all__ = ["AffineScaler"]


class AffineScaler(nn.Module):
    """``y = a[h] x + b[h]`` on (B, H, T, D) tensors.

    Parameters
    ----------
    n_heads : int
        Number of heads H.
    a_init, b_init : float
        Initial gain (unit of y per unit of x) and offset (unit of y).
    trainable : bool
        Whether ``a`` and ``b`` take gradients.
    """

    def __init__(self, n_heads: int, a_init: float = 1.0, b_init: float = 0.0,
                 trainable: bool = True):
        super().__init__()
        self.a = nn.Parameter(torch.full((n_heads,), float(a_init)), requires_grad=trainable)
        self.b = nn.Parameter(torch.full((n_heads,), float(b_init)), requires_grad=trainable)
        self.recording = False
        self.last_mean: torch.Tensor | None = None
        self.last_std: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        H = self.a.numel()
        y = self.a.view(1, H, 1, 1).to(x.dtype) * x + self.b.view(1, H, 1, 1).to(x.dtype)
        if self.recording:
            with torch.no_grad():
                yt = y.detach().transpose(0, 1).reshape(H, -1).double()
                self.last_mean = yt.mean(1)
                self.last_std = yt.std(1)
        return y

    def extra_repr(self) -> str:
        return f"n_heads={self.a.numel()}"
