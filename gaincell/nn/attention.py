"""PyTorch twin of the gain-cell attention head (:class:`gaincell.GainCellAttention`).

Exactly the reference semantics of docs/design.md and of the simulator's reference engine
(:mod:`gaincell.array._reference`), per head h, window W, head dim D, for the same
:class:`~gaincell.params.AttentionConfig` and the same seed:

1. ``q = PWM(q)`` (fraction of T_max); ``k, v = DAC(k), DAC(v)`` (V), plus write noise, held
   in ``[0, vdd]`` (on the simulator's uint16 grid, or float32, when there is write noise);
2. key/value token j lives in ring-buffer slot ``s = j mod W``; the cell in row r of slot s
   of head h holds, after ``age = t - j`` steps (``0 <= age < W``, nothing stored outside),
   ``V_node = v_rest + (V_stored - v_rest) exp(-age * leak[h, s, r])`` and reads
   ``w = V_node - v_weight_zero``; ``leak`` is ``leak_per_step``, or the per-cell
   ``ChipDraws.leak_k/leak_v`` (retention spread) of the simulator's seed;
3. ``S[t, j] = sum_r q_t,r gain[h, s, r] I(w)`` with the read current's cubic ``a_i`` (uA) of
   ``CellTransfer(device).read_poly_ua()`` (read disturb and the read current's temperature
   factor are inside it), in uA x T_max, plus first-stage read noise of slot s at query t;
4. ``phi = clip((S - off1[h, s]) / stage1_sat_ua_tmax, 0, 1)`` inside the window, else 0;
5. per 64-column sub-array g = s // array_cols:
   ``A_g[t] = sum_{j in g} phi[t, j] gain_v I(w_v)`` plus second-stage read noise, counter
   ``quantize((A_g - off2[h, g]) / stage2_sat_ua_tmax, out_lo, out_hi, out_levels)``;
6. output = digital sum over the sub-arrays (units of one counter's full scale).

The static draws (gain mismatch, retention spread, comparator offsets) are the simulator's
(:func:`gaincell.array._draws.draw_chip` of the seed), held as fixed per-cell tensors. Noise
per forward (write noise, read noise of both stages) is, by default, the simulator's per-token
noise of the same seed (:func:`gaincell.array._draws.token_noise`), so that the twin's forward
equals the simulator's; with ``noise_aware = True`` a module in training mode samples fresh
noise at every forward from ``generator`` (noise-aware fine-tuning), and in eval mode uses the
simulator's again.

Gradients: quantizers are straight-through (zero where clipped); the write clip and
HardSigmoid pass the gradient where they do not clip; the ``poly`` (nonlinear) cell's two dot
products use the paper's surrogate, the gradient of the linear fit ``I = g gain w`` with ``g =
device.linear_gain_ua_per_v`` (19.3 uA/V, CODE: DRAM_MAC_temporal_encoding_surrogate_*) and
``w = v_rest - v_weight_zero + (V_stored - v_rest) d`` at the nominal decay
``d = exp(-age * leak_per_step)``; the ``linear`` cell model is differentiated exactly; the
``table`` cell (the simulator's dense read table, :meth:`CellTransfer.read_lut`) uses the same
surrogate with its least-squares slope
(:func:`gaincell.device.linear_equivalent_gain_ua_per_v`). With a retention table the
surrogate's decay is the nominal exponential one.

Cost: with uniform retention the dot products are matrix products over (T, T); with the
per-cell retention spread the decay differs per cell, and the twin evaluates it on
(B, H, T, T, D) blocks of queries (exact, no gradient stored for the ``poly`` cell).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gaincell.array._draws import ChipDraws, draw_chip, seed_entropy, token_noise
from gaincell.array._state import Writer
from gaincell.device.retention_table import RetentionInterp, seconds_per_leak
from gaincell.device.transfer import CellTransfer, linear_equivalent_gain_ua_per_v
from gaincell.nn._torch import torch
from gaincell.nn.quant import quantize_ste
from gaincell.params import AttentionConfig

nn = torch.nn

__all__ = ["GainCellAttention", "softmax_attention", "window_decay", "check_hw_inputs"]

_UA = 1e-6
#: elements of one (B, H, queries, T, D) block of the per-cell retention path
_BLOCK_ELEMS = 2**21


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


def _fold(a, c):
    """Coefficients ``b_m`` of ``I(c + x) = sum_m b_m x^m`` for the cubic ``a`` (uA / V^i);
    ``c`` (V) a float or a per-cell tensor. ``c == 0`` returns ``a`` exactly."""
    if not torch.is_tensor(c) and c == 0.0:
        return list(a)
    return [sum(a[i] * math.comb(i, m) * c ** (i - m) for i in range(m, 4)) for m in range(4)]


def _zero(b) -> bool:
    return not torch.is_tensor(b) and b == 0.0


@dataclass
class _Cells:
    """Per-key view of one array's cells, gathered by slot ``j mod W``: ``gain`` (H, T, D) or
    None; ``c`` (V) the constant part of w, ``v_rest - v_weight_zero`` plus the threshold
    offsets ``vth`` (H, T, D) when there are any; ``b`` the read coefficients folded around
    ``c`` (floats or (H, T, D) tensors); ``leak`` (H, T, D) per-cell leak or None (uniform);
    ``vth`` (H, T, D) or None; ``table`` the retention table's tensors or None; ``lut``
    True for the table cell (not a polynomial)."""

    gain: torch.Tensor | None
    c: float | torch.Tensor
    b: list
    leak: torch.Tensor | None
    vth: torch.Tensor | None = None
    table: "_Table | None" = None
    lut: bool = False
    leak_per_step: float = 0.0

    @property
    def per_cell_decay(self) -> bool:
        """True when the decay differs per cell (retention spread), is not exponential
        (retention table), or the cell is not a polynomial (table cell): the dot products
        then run cell by cell on (B, H, T, T, D) blocks."""
        return self.leak is not None or self.table is not None or self.lut


class _LUT:
    """The table cell's dense read-current table (:meth:`CellTransfer.read_lut`) in torch:
    linear interpolation on ``w0 + k dw``, end values held, as
    :func:`gaincell.device.transfer.interp_lut`."""

    def __init__(self, lut):
        self.w0, self.dw = float(lut.w0), float(lut.dw)
        self.i_ua = torch.from_numpy(np.asarray(lut.i_ua, dtype=np.float64))

    def __call__(self, w):
        lut = self.i_ua.to(device=w.device, dtype=w.dtype)
        n = lut.numel()
        u = (w - self.w0) / self.dw
        k = torch.clamp(torch.floor(u.detach()), 0, n - 2).long()
        f = u - k.to(u.dtype)
        mid = lut[k] + f * (lut[k + 1] - lut[k])
        return torch.where(u <= 0.0, lut[0], torch.where(u >= n - 1, lut[n - 1], mid))


class _Table:
    """:class:`gaincell.device.retention_table.RetentionInterp` in torch (float64): the
    stored voltage ``V_w + drop(V_w, t)``, linear in V_w and in ``log(1 + t / t_s[1])``."""

    def __init__(self, interp: RetentionInterp, s_per_leak: float, leak: float, device):
        self.x = torch.from_numpy(interp.x).to(device)
        self.t1 = interp.t1
        self.v0 = torch.from_numpy(interp.v0).to(device)
        self.drop = torch.from_numpy(interp.drop).to(device)
        self.s_per_leak = float(s_per_leak)
        self.leak = float(leak)

    def __call__(self, vw, t):
        xt, D = self.x, self.drop
        x = torch.log1p(t / self.t1)
        j = torch.clamp(torch.searchsorted(xt, x.contiguous(), right=True) - 1, 0, xt.numel() - 2)
        fx = torch.clamp((x - xt[j]) / (xt[j + 1] - xt[j]), 0.0, 1.0)
        if self.v0.numel() == 1:
            return vw + ((1.0 - fx) * D[0, j] + fx * D[0, j + 1])
        v0 = self.v0
        i = torch.clamp(torch.searchsorted(v0, vw.detach().contiguous(), right=True) - 1, 0,
                        v0.numel() - 2)
        fv = torch.clamp((vw - v0[i]) / (v0[i + 1] - v0[i]), 0.0, 1.0)
        lo = (1.0 - fx) * D[i, j] + fx * D[i, j + 1]
        hi = (1.0 - fx) * D[i + 1, j] + fx * D[i + 1, j + 1]
        return vw + ((1.0 - fv) * lo + fv * hi)


@dataclass
class _Noise:
    write_k: torch.Tensor | None = None   # (B, H, T, D) V
    write_v: torch.Tensor | None = None
    read1: torch.Tensor | None = None     # (B, H, T, T) uA x T_max, 0 outside the window
    read2: torch.Tensor | None = None     # (B, H, G, T, D) uA x T_max


def _stage1_uniform(q, u, cl: _Cells, dpow):
    """``S[t, j] = sum_m b_m d^m sum_r q_t,r gain u_j,r^m`` (uniform leak)."""
    S = None
    for m, bm in enumerate(cl.b):
        if _zero(bm):
            continue
        inner = torch.is_tensor(bm)   # per-cell coefficient: inside the dot product
        if m == 0 and cl.gain is None and not inner:
            term = q.sum(-1, keepdim=True) * dpow[0]
        else:
            key = u**m if m > 0 else torch.ones_like(u)
            if cl.gain is not None:
                key = key * cl.gain
            if inner:
                key = key * bm
            term = (q @ key.transpose(-1, -2)) * dpow[m]
        if not inner:
            term = bm * term
        S = term if S is None else S + term
    return S if S is not None else torch.zeros_like(q @ u.transpose(-1, -2))


def _stage2_uniform(phi, u, cl: _Cells, dpow_g):
    """``A_g[t] = sum_m b_m sum_{j in g} phi_t,j d^m gain u_j^m`` (uniform leak),
    (B, H, G, T, D)."""
    A = None
    for m, bm in enumerate(cl.b):
        if _zero(bm):
            continue
        inner = torch.is_tensor(bm)
        val = u**m if m > 0 else torch.ones_like(u)
        if cl.gain is not None:
            val = val * cl.gain
        if inner:
            val = val * bm
        term = (phi.unsqueeze(2) * dpow_g[m]) @ val.unsqueeze(2)
        if not inner:
            term = bm * term
        A = term if A is None else A + term
    if A is None:
        A = (phi.unsqueeze(2) * dpow_g[0]) @ (u.unsqueeze(2) * 0)
    return A


def _cell_current_block(vs, cl: _Cells, a_ua, dev, age, valid, t0, t1):
    """Currents (uA) of every key's cells for queries t0..t1, evaluated cell by cell as the
    reference engine does: the node voltage after ``age`` steps (exponential toward v_rest
    with the cell's leak, or the retention table at ``age x leak x s_per_leak`` s), plus the
    threshold offset, ``w = V_node + vth - v_weight_zero``, ``gain I(w)``;
    (B, H, t1 - t0, T, D), 0 outside the window. ``vs``: stored voltages (B, H, T, D), V."""
    a = age[t0:t1].unsqueeze(-1)                                     # (n, T, 1)
    vw = vs.unsqueeze(2)                                             # (B, H, 1, T, D)
    if cl.table is None:
        leak = cl.leak.unsqueeze(1) if cl.leak is not None else cl.leak_per_step
        dec = torch.exp(-a * leak).to(vs.dtype)                        # (H, n, T, D)
        w = (dev.v_rest - dev.v_weight_zero) + (vw - dev.v_rest) * dec
    else:
        tb = cl.table
        leak = cl.leak.unsqueeze(1) if cl.leak is not None else tb.leak
        tsec = a * (leak * tb.s_per_leak)
        w = tb(vw.to(torch.float64), tsec).to(vs.dtype) - dev.v_weight_zero
    if cl.vth is not None:
        w = w + cl.vth.unsqueeze(1)
    if isinstance(a_ua, _LUT):
        cur = a_ua(w)
    else:
        cur = a_ua[3]
        for ai in (a_ua[2], a_ua[1], a_ua[0]):   # Horner, as the reference engine
            cur = ai + w * cur
    cur = cur * valid[t0:t1].to(vs.dtype).unsqueeze(-1)
    if cl.gain is not None:
        cur = cur * cl.gain.unsqueeze(1)
    return cur


def _blocks(B, H, T, D):
    n = max(1, _BLOCK_ELEMS // max(1, B * H * T * D))
    return [(t0, min(T, t0 + n)) for t0 in range(0, T, n)]


def _stage1_cells(q, vs, cl: _Cells, a_ua, dev, age, valid):
    B, H, T, D = q.shape
    out = []
    for t0, t1 in _blocks(B, H, T, D):
        cur = _cell_current_block(vs, cl, a_ua, dev, age, valid, t0, t1)   # (B, H, n, T, D)
        out.append(torch.einsum("bhtr,bhtjr->bhtj", q[:, :, t0:t1], cur))
    return torch.cat(out, dim=2)


def _stage2_cells(phi, vs, cl: _Cells, a_ua, dev, age, valid, groups):
    B, H, T, D = vs.shape
    gm = groups[:, 0, :]                                            # (G, T)
    out = []
    for t0, t1 in _blocks(B, H, T, D):
        cur = _cell_current_block(vs, cl, a_ua, dev, age, valid, t0, t1)
        out.append(torch.einsum("bhtj,gj,bhtjd->bhgtd", phi[:, :, t0:t1], gm, cur))
    return torch.cat(out, dim=3)


def _with_surrogate(exact, lin):
    """Forward value ``exact`` (bit for bit), gradient that of ``lin``."""
    return exact.detach() + (lin - lin.detach())


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


def _t64(x) -> torch.Tensor | None:
    return None if x is None else torch.from_numpy(np.asarray(x, dtype=np.float64))


class GainCellAttention(nn.Module):
    """Gain-cell attention heads in PyTorch, equal to the NumPy simulator's ``forward``.

    Parameters
    ----------
    cfg : AttentionConfig
        The design (e.g. ``AttentionConfig.leroux2025(n_heads=4, window=128)``). The
        ``poly`` cell model is the nonlinear gain cell (surrogate gradient), ``linear`` the
        paper's intermediate linear model (exact gradient), ``table`` the interpolated I-V sweep
        (evaluated cell by cell; surrogate gradient with the cell's least-squares slope).
    seed : int, tuple of int or numpy.random.SeedSequence
        The simulator's seed (:class:`gaincell.GainCellAttention`): the chip's static draws
        and the per-token noise streams are the simulator's for this seed.

    Attributes
    ----------
    noise_aware : bool
        In training mode, sample write and read noise afresh at every forward from
        ``generator`` (a ``torch.Generator``, or torch's default one when None) instead of
        the simulator's noise of the seed. Default False.

    ``forward(q, k, v)`` takes hardware units, shape (B, H, T, D): ``q`` pulse widths as a
    fraction of T_max, ``k`` and ``v`` stored voltages in V; it returns the digital head
    outputs (units of one sub-array counter's full scale), shape (B, H, T, D).
    """

    def __init__(self, cfg: AttentionConfig, seed=0):
        super().__init__()
        if not isinstance(cfg, AttentionConfig):
            raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
        dev = cfg.device
        self.cfg = cfg
        self.seed = seed
        self.entropy = seed_entropy(seed)
        tr = CellTransfer(dev)
        if tr.is_polynomial:
            self.a_ua = tuple(float(x) for x in tr.read_poly_ua())
            self.cell = self.a_ua
        else:   # the table cell: its dense read table, cell by cell
            self.a_ua = (0.0, 0.0, 0.0, 0.0)
            self.cell = _LUT(tr.read_lut())
        #: poly and table cells: the linear surrogate's gradient, gain ``surrogate_gain``
        self.surrogate = dev.cell_model != "linear"
        #: uA/V: the paper's 19.3 for the poly cell, the table cell's least-squares slope
        self.surrogate_gain = (linear_equivalent_gain_ua_per_v(dev) if dev.cell_model == "table"
                               else dev.linear_gain_ua_per_v)
        self.noise_aware = False
        self.generator: torch.Generator | None = None
        chip = draw_chip(cfg, self.entropy) if dev.has_noise else ChipDraws()
        for name in ("gain_k", "gain_v", "leak_k", "leak_v", "off1", "off2", "vth_k", "vth_v"):
            t = _t64(getattr(chip, name))
            # not persistent: the draws follow from (cfg, seed), checkpoints stay portable
            self.register_buffer(name, t, persistent=False)
        self._retention = (None if dev.retention_table is None else
                           (RetentionInterp(dev.retention_table), seconds_per_leak(dev)))
        self._tables: dict = {}
        self._sim_noise: dict = {}

    @property
    def variant(self) -> str:
        """``"nonlinear"`` (poly or table cell) or ``"linear"``."""
        return "nonlinear" if self.surrogate else "linear"

    # -- constant tables --------------------------------------------------------------------
    def _decay_tables(self, T: int, dtype, device):
        key = (T, dtype, device)
        if key not in self._tables:
            c = self.cfg
            dpow = window_decay(T, c.window, c.leak_per_step, dtype, device)
            groups = _group_masks(T, c.window, c.array_cols, dtype, device)
            dpow_g = dpow.unsqueeze(1) * groups.unsqueeze(0)  # (4, G, T, T)
            t = torch.arange(T, device=device).view(T, 1)
            j = torch.arange(T, device=device).view(1, T)
            age = (t - j).clamp(min=0).to(torch.float64)
            valid = (t >= j) & (t - j < c.window)
            slots = torch.arange(T, device=device) % c.window
            self._tables = {key: (dpow, dpow_g, groups, age, valid, slots)}
        return self._tables[key]

    def _cells(self, which: str, slots, dtype) -> _Cells:
        d = self.cfg.device
        gain = getattr(self, f"gain_{which}")
        leak = getattr(self, f"leak_{which}")
        vth = getattr(self, f"vth_{which}")
        c = d.v_rest - d.v_weight_zero
        if vth is not None:
            vth = vth[:, slots, :].to(dtype)
            c = c + vth
        table = None
        if self._retention is not None:
            table = _Table(*self._retention, self.cfg.leak_per_step, slots.device)
        return _Cells(
            gain=None if gain is None else gain[:, slots, :].to(dtype),
            c=c, b=_fold(self.a_ua, c),
            leak=None if leak is None else leak[:, slots, :].to(torch.float64),
            vth=vth, table=table, lut=isinstance(self.cell, _LUT),
            leak_per_step=self.cfg.leak_per_step)

    # -- noise --------------------------------------------------------------------------------
    def _noise(self, B: int, T: int, dtype, device, valid, slots) -> _Noise:
        cfg, d = self.cfg, self.cfg.device
        sw = d.write_noise_sigma
        sr = d.sigma_read_noise / (_UA * d.t_max)
        if sw == 0 and sr == 0:
            return _Noise()
        H, D, G = cfg.n_heads, cfg.head_dim, cfg.n_subarrays
        if self.noise_aware and self.training:
            def randn(*shape):
                return torch.randn(shape, generator=self.generator, dtype=dtype,
                                   device=device)
            n = _Noise()
            if sw > 0:
                n.write_k, n.write_v = sw * randn(B, H, T, D), sw * randn(B, H, T, D)
            if sr > 0:
                n.read1 = sr * randn(B, H, T, T) * valid.to(dtype)
                n.read2 = sr * randn(B, H, G, T, D)
            return n
        key = (B, T, dtype, device)
        if key not in self._sim_noise:
            tn = token_noise(cfg, self.entropy, 0, T, B)
            n = _Noise()
            if tn.write_k is not None:
                n.write_k = _t64(tn.write_k).permute(1, 2, 0, 3).to(device, dtype)
                n.write_v = _t64(tn.write_v).permute(1, 2, 0, 3).to(device, dtype)
            if tn.read1 is not None:
                r1 = _t64(tn.read1).permute(1, 2, 0, 3).to(device)       # (B, H, T, W)
                n.read1 = (r1[..., slots] * valid.to(r1.dtype)).to(dtype)
                n.read2 = _t64(tn.read2).permute(1, 2, 3, 0, 4).to(device, dtype)
            self._sim_noise = {key: n}
        return self._sim_noise[key]

    # -- write path ---------------------------------------------------------------------------
    def _store(self, x, noise):
        """Stored voltages (V): DAC level ``v``, plus the write pedestal ``p(v)`` and the
        write noise, held in [0, vdd] (rounded like the simulator's store when there is write
        noise: to its uint16 grid, or to float32). The pedestal's gradient is exact,
        ``1 + p'(v)``."""
        d = self.cfg.device
        v = quantize_ste(x, d.kv_lo, d.kv_hi, d.kv_levels, anchor=d.kv_lo)
        if d.has_pedestal:
            c = [float(ci) for ci in d.write_pedestal_coef_v]
            p = torch.full_like(v, c[-1])
            for ci in reversed(c[:-1]):   # Horner, as gaincell.device.pedestal
                p = p * v + ci
            v = v + p
            if noise is not None:
                v = v + noise
            v = torch.clamp(v, 0.0, d.vdd)
        elif noise is not None:
            v = torch.clamp(v + noise, 0.0, d.vdd)
        grid = Writer(self.cfg).grid
        if noise is not None and grid is not None:
            v = v + (torch.round(v * (1.0 / grid)) * grid - v).detach()
        elif noise is not None and v.dtype == torch.float64:
            v = v + (v.float().double() - v).detach()
        return v

    # -- the two dot products -----------------------------------------------------------------
    def _lin_const(self, cl: _Cells, like):
        """``gain c`` of the linear surrogate's constant part (None when 0), (H, T, D)."""
        if not torch.is_tensor(cl.c) and cl.c == 0.0:
            return None
        g = torch.ones_like(like) if cl.gain is None else cl.gain.expand_as(like)
        return g * cl.c

    def _dot1(self, q, vs, cl: _Cells, dpow, age, valid):
        """First dot product S (B, H, T, T), uA x T_max, from stored voltages ``vs`` (V)."""
        dev = self.cfg.device
        u = vs - dev.v_rest
        if not cl.per_cell_decay and not self.surrogate:
            return _stage1_uniform(q, u, cl, dpow)
        if not self.surrogate:   # linear cell, per-cell decay: exact gradient
            return _stage1_cells(q, vs, cl, self.cell, dev, age, valid)
        with torch.no_grad():
            exact = (_stage1_cells(q, vs, cl, self.cell, dev, age, valid) if cl.per_cell_decay
                     else _stage1_uniform(q, u, cl, dpow))
        key = u if cl.gain is None else u * cl.gain
        lin = (q @ key.transpose(-1, -2)) * dpow[1]
        const = self._lin_const(cl, u)
        if const is not None:
            lin = lin + (q @ const.transpose(-1, -2)) * dpow[0]
        return _with_surrogate(exact, self.surrogate_gain * lin)

    def _dot2(self, phi, vs, cl: _Cells, dpow_g, age, valid, groups):
        """Second dot product per sub-array A (B, H, G, T, D), uA x T_max."""
        dev = self.cfg.device
        u = vs - dev.v_rest
        if not cl.per_cell_decay and not self.surrogate:
            return _stage2_uniform(phi, u, cl, dpow_g)
        if not self.surrogate:
            return _stage2_cells(phi, vs, cl, self.cell, dev, age, valid, groups)
        with torch.no_grad():
            exact = (_stage2_cells(phi, vs, cl, self.cell, dev, age, valid, groups)
                     if cl.per_cell_decay else _stage2_uniform(phi, u, cl, dpow_g))
        val = u if cl.gain is None else u * cl.gain
        lin = (phi.unsqueeze(2) * dpow_g[1]) @ val.unsqueeze(2)
        const = self._lin_const(cl, u)
        if const is not None:
            lin = lin + (phi.unsqueeze(2) * dpow_g[0]) @ const.unsqueeze(2)
        return _with_surrogate(exact, self.surrogate_gain * lin)

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
                return_phi: bool = False):
        c, dev = self.cfg, self.cfg.device
        check_hw_inputs(c, q, k, v)
        B, H, T, D = q.shape
        dt = q.dtype
        dpow, dpow_g, groups, age, valid, slots = self._decay_tables(T, dt, q.device)
        noise = self._noise(B, T, dt, q.device, valid, slots)
        qh = quantize_ste(q, dev.q_lo, dev.q_hi, dev.q_levels, anchor=dev.q_lo)
        vk = self._store(k, noise.write_k)
        vv = self._store(v, noise.write_v)
        S = self._dot1(qh, vk, self._cells("k", slots, dt), dpow, age, valid)
        if noise.read1 is not None:
            S = S + noise.read1
        if self.off1 is not None:
            off1 = self.off1[:, slots].to(dt).view(1, H, 1, T)
            phi = torch.where(valid, torch.clamp((S - off1) / dev.stage1_sat_ua_tmax, 0.0, 1.0),
                              torch.zeros_like(S))
        else:
            phi = torch.clamp(S / dev.stage1_sat_ua_tmax, 0.0, 1.0)
        A = self._dot2(phi, vv, self._cells("v", slots, dt), dpow_g, age, valid, groups)
        if noise.read2 is not None:
            A = A + noise.read2
        if self.off2 is not None:
            A = A - self.off2.to(dt).view(1, H, -1, 1, D)
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
