"""From model tensors to hardware units: per-head affine input maps, fitted from data.

The simulator's inputs are in hardware units: ``q`` is a pulse width (fraction of T_max) that
the PWM clips to ``[q_lo, q_hi]``; ``k`` and ``v`` are voltages that the DAC clips to
``[kv_lo, kv_hi]`` (V). The activations of a trained model (e.g. about N(0, 1)) are not: fed
as they are, most of them are clipped. The paper maps each head's float projections with a
per-head affine scaler ``x_hw = a[h] x + b[h]`` for each of q, k and v (CODE ``range_scaler``;
its trainable twin is :class:`gaincell.nn.AffineScaler`). :func:`fit_input_map` fits these
scalers from data; :func:`clipped_fraction` measures what the converters would clip, and
:class:`GainCellAttention <gaincell.array.attention.GainCellAttention>` warns
(:class:`InputClippedWarning`) when an input's clipped fraction exceeds
:data:`CLIP_WARN_FRACTION` (2 %).

Fit rule (per head h, over every other axis of the head's data): the ``coverage`` central
range ``[P_lo, P_hi]`` of the values, ``P_lo`` the ``100 (1 - coverage) / 2`` percentile and
``P_hi`` the ``100 (1 + coverage) / 2`` one (coverage 0.99: ``[p0.5, p99.5]``), is mapped onto
the hardware range, so that at most ``1 - coverage`` of the fitted data is clipped:

- ``q``, ``q_mode = "offset"`` (default; the paper's scaler offset ``b``): ``[P_lo, P_hi]``
  onto ``[q_lo, q_hi]``. The PWM is one-sided (a pulse width is >= 0), so a signed query is
  shifted: ``q_hw = a q + b`` with ``b = q_lo - a P_lo``. The score a column integrates,
  ``q_hw . w_j = a (q . w_j) + b sum_r w_j,r``, then carries a per-key term
  ``b sum_r w_j,r`` that is the same for every query (a model trained or adapted with its
  scalers absorbs it, as the paper's does);
- ``q``, ``q_mode = "positive"``: model zero onto ``q_lo`` and ``P_hi`` onto ``q_hi``; negative
  queries are clipped to ``q_lo`` (a ReLU on q; for signed data about half of q is clipped and
  the warning says so);
- ``k``, ``v``, ``kv_mode = "current"`` (default): model zero onto the stored voltage
  ``z = v_weight_zero + delta`` and the largest gain ``a`` that keeps ``[P_lo, P_hi]`` inside
  ``[kv_lo, kv_hi]`` around it, ``delta`` chosen so that over the fitted data the cell's mean
  read current equals that of the design's linear-equivalent cell:
  ``mean_i I(z + a x_i) = g a mean_i x_i`` (``I`` the design's own read current,
  :meth:`gaincell.device.CellTransfer.read_current`; ``g`` below). The cell's even-order terms
  (the paper's cubic has ``I(w = 0) = 0.52 uA`` and ``-2.6 uA/V^2 w^2``) then average out
  instead of adding ``sum_j phi_j (a0 + a2 w_j^2)``, a common mode of every output of a query
  that grows with the window; for a linear cell ``delta = 0`` (up to the clipped tail).
  Measured on N(0, 1) inputs (2 heads, the preset): correlation with ideal float
  HardSigmoid attention 0.90 (window 64) and 0.89 (window 1024) against 0.84 and 0.46 with
  ``"zero"`` (0.21 and 0.52 unmapped), the reference being the same tensors with model
  zero on ``v_weight_zero`` (what the map intends);
- ``k``, ``v``, ``kv_mode = "zero"`` (the paper's initialization ``b = VDD/2``): model zero onto
  ``v_weight_zero`` (the zero of the signed weight ``w = V_store - v_weight_zero``) with the
  largest gain that keeps ``[P_lo, P_hi]`` inside ``[kv_lo, kv_hi]``, so the sign of every
  weight is kept and ``q . k`` maps to a multiple of ``q . w``;
- ``k``, ``v``, ``kv_mode = "range"``: ``[P_lo, P_hi]`` onto ``[kv_lo, kv_hi]`` (uses the whole
  DAC range for one-signed data; model zero no longer maps to ``w = 0``).

A head whose data has no spread (a constant) keeps the gain ``a = 1`` and is shifted to the
middle of the range (``q``, ``"range"``), to ``v_weight_zero`` (``"zero"``) or to the
voltage of zero read current (``"current"``).

Outputs: with an ideal linear cell of gain ``g`` (the design's own,
:func:`gaincell.device.linear_equivalent_gain_ua_per_v`, uA/V) and no clipping, the head's
output is ``y = g a_v sum_j phi_j (v_j - c_v) / S_fs2`` (units of one counter's full scale,
``S_fs2`` the second stage's saturation charge in uA x T_max, ``c_v`` the model value mapped to
``v_weight_zero``: 0 in ``"zero"`` mode, ``-delta / a_v`` in ``"current"`` mode).
:meth:`InputMap.output` returns ``y S_fs2 / (g a_v)`` = ``sum_j phi_j (v_j - c_v)``, in the
model units of v (exact for the linear cell only; the HardSigmoid weights ``phi_j`` are not
normalized, so ``c_v`` cannot be added back from ``y`` alone).
"""

from __future__ import annotations

import json
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from gaincell._checks import as_finite
from gaincell.device import CellTransfer, linear_equivalent_gain_ua_per_v
from gaincell.params import _UA, AttentionConfig

__all__ = ["InputMap", "fit_input_map", "clipped_fraction", "hardware_ranges",
           "InputClippedWarning", "CLIP_WARN_FRACTION", "Q_MODES", "KV_MODES"]

#: Clipped fraction of an input above which the simulator warns: 2 % (assumption: a few
#: percent, a level at which clipping starts to cost correlation with float attention;
#: the default fit clips at most 1 %).
CLIP_WARN_FRACTION = 0.02
Q_MODES = ("offset", "positive")
KV_MODES = ("current", "zero", "range")
#: values per head used to solve the current-centred offset (a fixed random subsample)
_CURRENT_SAMPLE = 4096
#: values within this fraction of the range's span outside it count as inside (round-off of
#: a mapped edge; the converters treat them as the edge)
_EDGE_TOL = 1e-9
_NAMES = ("q", "k", "v")


class InputClippedWarning(UserWarning):
    """More than :data:`CLIP_WARN_FRACTION` of an input lies outside its converter's range."""


def hardware_ranges(cfg: AttentionConfig) -> dict[str, tuple[float, float, str]]:
    """``{"q": (q_lo, q_hi, "x T_max"), "k": (kv_lo, kv_hi, "V"), "v": (...)}``: the input
    ranges of the design's PWM and DAC."""
    if not isinstance(cfg, AttentionConfig):
        raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
    d = cfg.device
    return {"q": (d.q_lo, d.q_hi, "x T_max"), "k": (d.kv_lo, d.kv_hi, "V"),
            "v": (d.kv_lo, d.kv_hi, "V")}


def _edges(lo: float, hi: float) -> tuple[float, float]:
    """The bounds outside which a value counts as clipped (``_EDGE_TOL`` of the span out)."""
    tol = _EDGE_TOL * (hi - lo)
    return lo - tol, hi + tol


def clip_bounds(cfg: AttentionConfig) -> np.ndarray:
    """(4,) the clipped-count bounds of the PWM (q) and of the DAC (k, v), in the inputs'
    units: a value below ``[0]`` / above ``[1]`` (q) or below ``[2]`` / above ``[3]`` (k, v)
    counts as clipped in :func:`clipped_fraction` (for kernels that count in one pass)."""
    d = cfg.device
    return np.array([*_edges(d.q_lo, d.q_hi), *_edges(d.kv_lo, d.kv_hi)])


def _fraction_outside(x: np.ndarray, lo: float, hi: float) -> float:
    if x.size == 0:
        return 0.0
    lo_t, hi_t = _edges(lo, hi)
    if x.min() >= lo_t and x.max() <= hi_t:   # the common, in-range case: two reductions
        return 0.0
    return float(np.count_nonzero((x < lo_t) | (x > hi_t))) / x.size


def clipped_fraction(q, k, v, cfg: AttentionConfig) -> dict[str, float]:
    """Fraction of the elements of ``q`` (pulse widths, x T_max), ``k`` and ``v`` (V) that
    lie outside the design's PWM range ``[q_lo, q_hi]`` and DAC range ``[kv_lo, kv_hi]``,
    i.e. that the converters clip: ``{"q": f_q, "k": f_k, "v": f_v}``, each in [0, 1]."""
    return _clipped(*(as_finite(n, x) for n, x in zip(_NAMES, (q, k, v))), cfg)


def _clipped(q: np.ndarray, k: np.ndarray, v: np.ndarray, cfg: AttentionConfig
             ) -> dict[str, float]:
    """:func:`clipped_fraction` of arrays already checked (finite float arrays)."""
    d = cfg.device
    return {"q": _fraction_outside(q, d.q_lo, d.q_hi),
            "k": _fraction_outside(k, d.kv_lo, d.kv_hi),
            "v": _fraction_outside(v, d.kv_lo, d.kv_hi)}


def clip_warning(name: str, fraction: float, cfg: AttentionConfig) -> str:
    """The one-line message of an :class:`InputClippedWarning`."""
    lo, hi, unit = hardware_ranges(cfg)[name]
    conv = "PWM" if name == "q" else "DAC"
    return (f"{name}: {fraction * 100:.1f} % of the values lie outside the {conv} range "
            f"[{lo:g}, {hi:g}] ({unit}) and are clipped (warning above "
            f"{CLIP_WARN_FRACTION * 100:g} %): inputs are in hardware units; map model tensors "
            f"with gaincell.fit_input_map(q, k, v, cfg).apply(q, k, v)")


def warn_clipped(fractions: dict[str, float], cfg: AttentionConfig, stacklevel: int = 2,
                 skip: set | None = None) -> list[str]:
    """Warn once per input whose clipped fraction exceeds :data:`CLIP_WARN_FRACTION`; returns
    the names warned about (those in ``skip`` are not)."""
    warned = []
    for name in _NAMES:
        f = fractions[name]
        if f > CLIP_WARN_FRACTION and not (skip and name in skip):
            warnings.warn(clip_warning(name, f, cfg), InputClippedWarning,
                          stacklevel=stacklevel + 1)
            warned.append(name)
    return warned


def _per_head(x: np.ndarray) -> np.ndarray:
    """(H, N): the head axis (axis 1 of (B, H, T, D) or (B, H, D)) first, the rest flattened."""
    return np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)


def _check_coverage(coverage) -> float:
    if isinstance(coverage, bool) or not isinstance(coverage, numbers.Real):
        raise ValueError(f"coverage = {coverage!r} is invalid: allowed a number in (0, 1]")
    c = float(coverage)
    if not (0.0 < c <= 1.0):
        raise ValueError(f"coverage = {coverage!r} is invalid: allowed a number in (0, 1] "
                         f"(the central fraction of each head's values mapped inside the "
                         f"hardware range; 0.99: [p0.5, p99.5])")
    return c


def _fit_range(lo: np.ndarray, hi: np.ndarray, r_lo: float, r_hi: float):
    """Per head: [lo, hi] onto [r_lo, r_hi] (a constant head: a = 1, to the middle)."""
    span = hi - lo
    flat = span <= 0
    a = np.where(flat, 1.0, (r_hi - r_lo) / np.where(flat, 1.0, span))
    b = np.where(flat, 0.5 * (r_lo + r_hi) - lo, r_lo - a * lo)
    return a, b


def _fit_zero(lo: np.ndarray, hi: np.ndarray, zero: float, r_lo: float, r_hi: float):
    """Per head: model zero onto ``zero``, the largest gain keeping [lo, hi] in range."""
    with np.errstate(divide="ignore"):
        up = np.where(hi > 0, (r_hi - zero) / np.where(hi > 0, hi, 1.0), np.inf)
        down = np.where(lo < 0, (zero - r_lo) / np.where(lo < 0, -lo, 1.0), np.inf)
    a = np.minimum(up, down)
    a = np.where(np.isfinite(a), a, 1.0)       # all-zero head
    return a, np.full_like(a, zero)


def _fit_current(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, device, g: float,
                 rounds: int = 3, steps: int = 36):
    """Per head: the ``"current"`` rule (module docstring). ``x`` is (H, N) model values,
    ``g`` the linear-equivalent gain, uA/V. The offset ``delta`` is found by bisection on a
    fixed random subsample of the head's data (4096 values; the mean current grows with the
    stored voltage), alternated with the gain for the new centre, ``rounds`` times (``delta``
    is a few tens of mV: two or three rounds settle it; 36 halvings of the DAC range leave
    it within 0.1 nV)."""
    tr = CellTransfer(device)
    r_lo, r_hi, v0 = device.kv_lo, device.kv_hi, device.v_weight_zero
    H = x.shape[0]
    a_out, b_out = np.empty(H), np.empty(H)
    pick = np.random.default_rng(0).choice(x.shape[1], min(x.shape[1], _CURRENT_SAMPLE),
                                           replace=False)   # fixed: the fit is deterministic
    for h in range(H):
        xs = x[h] if x.shape[1] <= _CURRENT_SAMPLE else x[h, pick]
        target = g * float(xs.mean())                                # uA per unit gain

        def excess(z, a, xs=xs, target=target):
            i_ua = tr.read_current(np.clip(z + a * xs, r_lo, r_hi)) / _UA
            return float(i_ua.mean()) - a * target

        z = v0
        a = float(_fit_zero(lo[h:h + 1], hi[h:h + 1], z, r_lo, r_hi)[0][0])
        for _ in range(rounds):
            lo_z, hi_z = r_lo, r_hi
            if excess(lo_z, a) > 0 or excess(hi_z, a) < 0:
                break                   # no centre in range balances the current: keep z
            for _ in range(steps):
                mid = 0.5 * (lo_z + hi_z)
                lo_z, hi_z = (mid, hi_z) if excess(mid, a) < 0 else (lo_z, mid)
            z = 0.5 * (lo_z + hi_z)
            if not r_lo < z < r_hi:
                break
            a = float(_fit_zero(lo[h:h + 1], hi[h:h + 1], z, r_lo, r_hi)[0][0])
        a_out[h], b_out[h] = a, z
    return a_out, b_out


@dataclass(frozen=True)
class InputMap:
    """Per-head affine maps from model tensors to hardware units, ``x_hw = a[h] x + b[h]``.

    Attributes
    ----------
    a_q, b_q : numpy.ndarray, (H,)
        Query gain (T_max fraction per model unit) and offset (fraction of T_max).
    a_k, b_k, a_v, b_v : numpy.ndarray, (H,)
        Key and value gains (V per model unit) and offsets (V).
    out_scale : numpy.ndarray, (H,)
        ``S_fs2 / (g a_v)``: model units of v per counter full scale (see :meth:`output`).
    coverage : float
        Central fraction of each head's values fitted inside the range (1.0: min to max).
    q_mode, kv_mode : str
        The fit rules (module docstring).
    """

    a_q: np.ndarray
    b_q: np.ndarray
    a_k: np.ndarray
    b_k: np.ndarray
    a_v: np.ndarray
    b_v: np.ndarray
    out_scale: np.ndarray
    coverage: float = 0.99
    q_mode: str = "offset"
    kv_mode: str = "current"

    def __post_init__(self) -> None:
        arrs = {}
        for name in ("a_q", "b_q", "a_k", "b_k", "a_v", "b_v", "out_scale"):
            a = as_finite(name, getattr(self, name), ndim=1).copy()
            a.setflags(write=False)
            arrs[name] = a
            object.__setattr__(self, name, a)
        n = {a.shape[0] for a in arrs.values()}
        if len(n) != 1 or 0 in n:
            raise ValueError(f"InputMap arrays have lengths {sorted(n)}: allowed one length "
                             f"H >= 1 (one value per head)")
        for name in ("a_q", "a_k", "a_v", "out_scale"):
            if not (arrs[name] > 0).all():
                raise ValueError(f"InputMap {name} = {arrs[name].tolist()} is invalid: allowed "
                                 f"gains > 0")
        if self.q_mode not in Q_MODES or self.kv_mode not in KV_MODES:
            raise ValueError(f"q_mode = {self.q_mode!r}, kv_mode = {self.kv_mode!r}: allowed "
                             f"q_mode in {list(Q_MODES)}, kv_mode in {list(KV_MODES)}")
        object.__setattr__(self, "coverage", _check_coverage(self.coverage))

    @property
    def n_heads(self) -> int:
        return int(self.a_q.shape[0])

    def _check(self, name: str, x) -> np.ndarray:
        a = as_finite(name, x)
        if a.ndim not in (3, 4) or a.shape[1] != self.n_heads:
            raise ValueError(f"{name} has shape {a.shape}: allowed (B, H, T, D) or (B, H, D) "
                             f"with H = {self.n_heads} (the map's heads)")
        return a

    @staticmethod
    def _bc(p: np.ndarray, ndim: int) -> np.ndarray:
        return p.reshape((1, -1) + (1,) * (ndim - 2))

    def apply(self, q, k, v) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Model tensors (B, H, T, D) or (B, H, D) to hardware units: pulse widths (x T_max)
        and voltages (V), float64. Nothing is clipped here: the converters clip, and
        :func:`clipped_fraction` says how much."""
        out = []
        for name, x, a, b in (("q", q, self.a_q, self.b_q), ("k", k, self.a_k, self.b_k),
                              ("v", v, self.a_v, self.b_v)):
            x = self._check(name, x)
            out.append(self._bc(a, x.ndim) * x + self._bc(b, x.ndim))
        return tuple(out)

    def invert(self, q_hw, k_hw, v_hw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Hardware units back to model units (the exact inverse of :meth:`apply`; a value
        the converters clipped comes back as the clipped one)."""
        out = []
        for name, x, a, b in (("q", q_hw, self.a_q, self.b_q), ("k", k_hw, self.a_k, self.b_k),
                              ("v", v_hw, self.a_v, self.b_v)):
            x = self._check(name, x)
            out.append((x - self._bc(b, x.ndim)) / self._bc(a, x.ndim))
        return tuple(out)

    def output(self, y) -> np.ndarray:
        """Simulator outputs (units of one counter's full scale) to model units of v:
        ``y S_fs2 / (g a_v)`` per head, which for an ideal linear cell equals
        ``sum_j phi_j (v_j - c_v)`` (module docstring)."""
        y = self._check("y", y)
        return y * self._bc(self.out_scale, y.ndim)

    def to_dict(self) -> dict:
        """Plain JSON-ready description (gains and offsets per head, with units)."""
        return {"coverage": self.coverage, "q_mode": self.q_mode, "kv_mode": self.kv_mode,
                "units": {"a_q": "x T_max per model unit", "b_q": "x T_max",
                          "a_k": "V per model unit", "b_k": "V", "a_v": "V per model unit",
                          "b_v": "V", "out_scale": "model units of v per counter full scale"},
                **{n: getattr(self, n).tolist() for n in
                   ("a_q", "b_q", "a_k", "b_k", "a_v", "b_v", "out_scale")}}

    @classmethod
    def from_dict(cls, d: dict) -> InputMap:
        """The inverse of :meth:`to_dict` (e.g. a saved ``input_map.json``)."""
        if not isinstance(d, dict):
            raise ValueError(f"an input map must be a JSON object, got {type(d).__name__}")
        keys = ("a_q", "b_q", "a_k", "b_k", "a_v", "b_v", "out_scale")
        missing = [n for n in keys if n not in d]
        if missing:
            raise ValueError(f"input map: missing key(s) {missing}: allowed the keys of "
                             f"InputMap.to_dict()")
        return cls(**{n: d[n] for n in keys}, coverage=d.get("coverage", 0.99),
                   q_mode=d.get("q_mode", "offset"), kv_mode=d.get("kv_mode", "current"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n"


def fit_input_map(q, k, v, cfg: AttentionConfig, coverage: float = 0.99,
                  q_mode: str = "offset", kv_mode: str = "current") -> InputMap:
    """Fit per-head affine maps sending model tensors ``q``, ``k``, ``v`` into the design's
    hardware ranges (rules in the module docstring).

    Parameters
    ----------
    q, k, v : array_like, (B, H, T, D) or (B, H, D)
        Model tensors (any float units) with H = ``cfg.n_heads``; e.g. a calibration batch of
        a trained model's projections.
    cfg : AttentionConfig
        The design: ``q_lo``, ``q_hi`` (x T_max), ``kv_lo``, ``kv_hi``, ``v_weight_zero`` (V).
    coverage : float in (0, 1]
        Central fraction of each head's values mapped inside the range; at most
        ``1 - coverage`` of the fitted data is clipped (default 0.99: ``[p0.5, p99.5]``).
    q_mode : {"offset", "positive"}
    kv_mode : {"current", "zero", "range"}
    """
    rng = hardware_ranges(cfg)
    c = _check_coverage(coverage)
    if q_mode not in Q_MODES:
        raise ValueError(f"q_mode = {q_mode!r} is invalid: allowed one of {list(Q_MODES)}")
    if kv_mode not in KV_MODES:
        raise ValueError(f"kv_mode = {kv_mode!r} is invalid: allowed one of {list(KV_MODES)}")
    d = cfg.device
    if kv_mode in ("zero", "current") and not (d.kv_lo < d.v_weight_zero < d.kv_hi):
        raise ValueError(f"kv_mode = {kv_mode!r} needs v_weight_zero = {d.v_weight_zero:g} V "
                         f"inside the DAC range ({d.kv_lo:g}, {d.kv_hi:g}) V: allowed kv_mode = "
                         f"'range' for this design")
    g = linear_equivalent_gain_ua_per_v(d)
    if not g > 0:
        raise ValueError(f"the design's linear-equivalent cell gain is {g:g} uA/V: allowed > 0 "
                         f"(a cell whose current grows with the stored voltage)")
    arrs = []
    for name, x in zip(_NAMES, (q, k, v)):
        a = as_finite(name, x)
        if a.ndim not in (3, 4) or a.shape[1] != cfg.n_heads or a.shape[-1] != cfg.head_dim:
            raise ValueError(f"{name} has shape {a.shape}: allowed (B, H, T, D) or (B, H, D) "
                             f"with H = n_heads = {cfg.n_heads}, D = head_dim = {cfg.head_dim}")
        if a.size == 0:
            raise ValueError(f"{name} is empty: allowed at least one value per head")
        arrs.append(a)
    pct = (100.0 * (1.0 - c) / 2.0, 100.0 * (1.0 + c) / 2.0)
    params = {}
    for name, x in zip(_NAMES, arrs):
        lo, hi = np.percentile(_per_head(x), pct, axis=1)
        r_lo, r_hi, _ = rng[name]
        if name == "q":
            if q_mode == "offset":
                a, b = _fit_range(lo, hi, r_lo, r_hi)
            else:
                a, b = _fit_zero(np.zeros_like(lo), hi, r_lo, r_lo, r_hi)
        elif kv_mode == "zero":
            a, b = _fit_zero(lo, hi, d.v_weight_zero, r_lo, r_hi)
        elif kv_mode == "current":
            a, b = _fit_current(_per_head(x), lo, hi, d, g)
        else:
            a, b = _fit_range(lo, hi, r_lo, r_hi)
        params[name] = (a, b)
    out_scale = d.stage2_sat_ua_tmax / (g * params["v"][0])
    return InputMap(*params["q"], *params["k"], *params["v"], out_scale=out_scale,
                    coverage=c, q_mode=q_mode, kv_mode=kv_mode)
