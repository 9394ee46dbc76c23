"""PyTorch twin of the gain-cell attention head (:class:`gaincell.GainCellAttention`).

Exactly the reference semantics of docs/design.md (the ``leroux2025`` preset and any overrides of
the same :class:`~gaincell.params.AttentionConfig`), per head, window W, head dim D:

1. ``q = PWM(q)`` (fraction of T_max), ``k, v = DAC(k), DAC(v)`` (V); ``w = V - v_weight_zero``;
2. ``d[t, j] = exp(-(t - j) * leak_per_step)`` for ``t - W < j <= t``, nothing stored outside;
3. ``S[t, j] = sum_i a_i d^i (q_t . w_k[j]^i)`` with the cubic ``a_i`` (uA) of
   ``CellTransfer(device).read_poly_ua()``: charge in uA x T_max;
4. ``phi = clip(S / stage1_sat_ua_tmax, 0, 1)`` (HardSigmoid pulse, fraction of T_max);
5. per 64-column sub-array g (ring buffer: g = (j mod W) // array_cols):
   ``A_g[t] = sum_{j in g} sum_i a_i phi[t, j] d^i w_v[j]^i``, counter
   ``quantize(A_g / stage2_sat_ua_tmax, out_lo, out_hi, out_levels)``;
6. output = digital sum over the sub-arrays (units of one counter's full scale).

Gradients: quantizers are straight-through (zero where clipped); HardSigmoid passes the
gradient where it is not saturated; the ``poly`` (nonlinear) cell's two dot products use the
paper's surrogate, the gradient of the linear fit ``I = g w`` with ``g =
device.linear_gain_ua_per_v`` (19.3 uA/V, CODE: DRAM_MAC_temporal_encoding_surrogate_*); the
``linear`` cell model is differentiated exactly. Noise and mismatch are not modelled here: a
config with a non-zero ``sigma_*`` is refused; evaluate those with the NumPy simulator
(:func:`gaincell.nn.evaluate_with_simulator`).
"""

from __future__ import annotations

import math

from gaincell.device.transfer import CellTransfer
from gaincell.nn._torch import torch
from gaincell.nn.quant import quantize_ste
from gaincell.params import AttentionConfig

nn = torch.nn

__all__ = ["GainCellAttention", "softmax_attention", "window_decay", "check_hw_inputs"]


def window_decay(T: int, window: int, leak_per_step: float, dtype=torch.float64,
                 device=None, n_pow: int = 4) -> torch.Tensor:
    """Masked decay powers ``mask * d^i``, shape ``(n_pow, T, T)`` (query t, key j).

    ``d = exp(-(t - j) * leak_per_step)`` (dimensionless) inside the causal sliding window
    ``t - window < j <= t`` and 0 outside (``i = 0`` gives the window mask itself). Computed in
    float64, then cast.
    """
    t = torch.arange(T, dtype=torch.float64).view(T, 1)
    j = torch.arange(T, dtype=torch.float64).view(1, T)
    age = t - j
    inside = (age >= 0) & (age < window)
    d = torch.exp(-age.clamp(min=0) * float(leak_per_step))
    out = torch.stack([torch.where(inside, d**i, torch.zeros_like(d)) for i in range(n_pow)])
    return out.to(dtype=dtype, device=device)


def _group_masks(T: int, window: int, array_cols: int, dtype, device) -> torch.Tensor:
    """``(G, 1, T)`` 0/1 masks: key column j belongs to sub-array ``(j mod W) // array_cols``."""
    G = window // array_cols
    g_of_j = (torch.arange(T) % window) // array_cols
    m = (g_of_j.view(1, T) == torch.arange(G).view(G, 1)).to(dtype=dtype, device=device)
    return m.view(G, 1, T)


class _CellQK(torch.autograd.Function):
    """First dot product with the cubic cell; backward: linear surrogate ``g q.w d``."""

    @staticmethod
    def forward(ctx, q, w, dpow, a, gain):
        ctx.save_for_backward(q, w, dpow[1])
        ctx.gain = gain
        return _qk_forward(q, w, dpow, a)

    @staticmethod
    def backward(ctx, grad):
        q, w, d1 = ctx.saved_tensors
        gd = ctx.gain * grad * d1
        return gd @ w, gd.transpose(-1, -2) @ q, None, None, None


class _CellAV(torch.autograd.Function):
    """Second dot product (per sub-array) with the cubic cell; backward: linear surrogate."""

    @staticmethod
    def forward(ctx, phi, w, dpow_g, a, gain):
        ctx.save_for_backward(phi, w, dpow_g[1])
        ctx.gain = gain
        return _av_forward(phi, w, dpow_g, a)

    @staticmethod
    def backward(ctx, grad):
        phi, w, p1 = ctx.saved_tensors  # grad: (B, H, G, T, D); p1: (G, T, Tk)
        gain = ctx.gain
        g_phi = gain * ((grad @ w.unsqueeze(2).transpose(-1, -2)) * p1).sum(2)
        pp = phi.unsqueeze(2) * p1
        g_w = gain * (pp.transpose(-1, -2) @ grad).sum(2)
        return g_phi, g_w, None, None, None


def _qk_forward(q, w, dpow, a):
    S = None
    for i, ai in enumerate(a):
        if ai == 0.0:
            continue
        if i == 0:
            term = q.sum(-1, keepdim=True) * dpow[0]
        else:
            term = (q @ (w**i).transpose(-1, -2)) * dpow[i]
        S = ai * term if S is None else S + ai * term
    return S if S is not None else torch.zeros_like(q @ w.transpose(-1, -2))


def _av_forward(phi, w, dpow_g, a):
    A = None
    wg = w.unsqueeze(2)  # (B, H, 1, Tk, D)
    for i, ai in enumerate(a):
        if ai == 0.0:
            continue
        term = (phi.unsqueeze(2) * dpow_g[i]) @ (wg**i)  # (B, H, G, T, D)
        A = ai * term if A is None else A + ai * term
    if A is None:
        A = (phi.unsqueeze(2) * dpow_g[0]) @ (wg * 0)
    return A


def check_hw_inputs(cfg: AttentionConfig, q, k, v) -> None:
    """Shape checks shared with the simulator's: (B, H, T, D) with H, D from ``cfg``."""
    for name, x in (("q", q), ("k", k), ("v", v)):
        if x.dim() != 4:
            raise ValueError(f"{name} has shape {tuple(x.shape)}: allowed (B, H, T, D)")
    if not (q.shape == k.shape == v.shape):
        raise ValueError(f"q, k, v shapes differ: {tuple(q.shape)}, {tuple(k.shape)}, "
                         f"{tuple(v.shape)}: allowed one (B, H, T, D) shape")
    _, H, _, D = q.shape
    if D != cfg.head_dim:
        raise ValueError(f"head dim D = {D} of the inputs does not match the config's "
                         f"head_dim = {cfg.head_dim}: allowed D == head_dim")
    if H != cfg.n_heads:
        raise ValueError(f"H = {H} heads in the inputs do not match the config's "
                         f"n_heads = {cfg.n_heads}: allowed H == n_heads")
    for name, x in (("q", q), ("k", k), ("v", v)):
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} contains NaN or infinite values: allowed finite values")


class GainCellAttention(nn.Module):
    """Gain-cell attention heads in PyTorch, equal to the NumPy simulator's ``forward``.

    Parameters
    ----------
    cfg : AttentionConfig
        The design (e.g. ``AttentionConfig.leroux2025(n_heads=4, window=128)``). The
        ``poly`` cell model is the nonlinear gain cell (surrogate gradient), ``linear`` the
        paper's intermediate linear model (exact gradient). ``table`` and noise are refused.

    ``forward(q, k, v)`` takes hardware units, shape (B, H, T, D): ``q`` pulse widths as a
    fraction of T_max, ``k`` and ``v`` stored voltages in V; it returns the digital head
    outputs (units of one sub-array counter's full scale), shape (B, H, T, D).
    """

    def __init__(self, cfg: AttentionConfig):
        super().__init__()
        if not isinstance(cfg, AttentionConfig):
            raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
        dev = cfg.device
        if dev.v_rest != dev.v_weight_zero or dev.q_lo != 0.0 or dev.kv_lo != 0.0:
            raise ValueError(
                f"v_rest = {dev.v_rest}, q_lo = {dev.q_lo}, kv_lo = {dev.kv_lo} are not "
                f"modelled by the torch twin: allowed v_rest == v_weight_zero "
                f"({dev.v_weight_zero} V) and q_lo == kv_lo == 0; use the NumPy simulator")
        if dev.cell_model == "table":
            raise ValueError("cell_model = 'table' is not available in the torch twin: "
                             "allowed 'poly' or 'linear' (use gaincell.GainCellAttention)")
        if dev.has_noise:
            raise ValueError("noise/mismatch (sigma_*) is not modelled by the torch twin: "
                             "allowed all sigma_* = 0; evaluate noise with the NumPy simulator "
                             "(gaincell.nn.evaluate_with_simulator)")
        self.cfg = cfg
        self.a_ua = tuple(float(x) for x in CellTransfer(dev).read_poly_ua())
        self.surrogate = dev.cell_model == "poly"
        self._tables: dict = {}

    @property
    def variant(self) -> str:
        """``"nonlinear"`` (poly cell) or ``"linear"``."""
        return "nonlinear" if self.surrogate else "linear"

    def _decay_tables(self, T: int, dtype, device):
        key = (T, dtype, device)
        if key not in self._tables:
            c = self.cfg
            dpow = window_decay(T, c.window, c.leak_per_step, dtype, device)
            groups = _group_masks(T, c.window, c.array_cols, dtype, device)
            dpow_g = dpow.unsqueeze(1) * groups.unsqueeze(0)  # (4, G, T, T)
            self._tables = {key: (dpow, dpow_g)}
        return self._tables[key]

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                return_phi: bool = False):
        c, dev = self.cfg, self.cfg.device
        check_hw_inputs(c, q, k, v)
        T = q.shape[2]
        dpow, dpow_g = self._decay_tables(T, q.dtype, q.device)
        qh = quantize_ste(q, dev.q_lo, dev.q_hi, dev.q_levels)
        wk = quantize_ste(k, dev.kv_lo, dev.kv_hi, dev.kv_levels) - dev.v_weight_zero
        wv = quantize_ste(v, dev.kv_lo, dev.kv_hi, dev.kv_levels) - dev.v_weight_zero
        a = self.a_ua
        if self.surrogate:
            S = _CellQK.apply(qh, wk, dpow, a, dev.linear_gain_ua_per_v)
        else:
            S = _qk_forward(qh, wk, dpow, a)
        phi = torch.clamp(S / dev.stage1_sat_ua_tmax, 0.0, 1.0)
        if self.surrogate:
            A = _CellAV.apply(phi, wv, dpow_g, a, dev.linear_gain_ua_per_v)
        else:
            A = _av_forward(phi, wv, dpow_g, a)
        out = quantize_ste(A / dev.stage2_sat_ua_tmax, dev.out_lo, dev.out_hi, dev.out_levels)
        y = out.sum(2)
        return (y, phi) if return_phi else y


def softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                      window: int) -> torch.Tensor:
    """Software baseline: causal sliding-window softmax attention, scale ``1/sqrt(D)``.

    Shapes (B, H, T, D); key j is visible from query t when ``t - window < j <= t``.
    """
    T, D = q.shape[-2], q.shape[-1]
    mask = window_decay(T, window, 0.0, torch.float64, q.device, n_pow=1)[0] > 0
    att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(D))
    att = att.masked_fill(~mask, float("-inf"))
    return torch.softmax(att, dim=-1) @ v
