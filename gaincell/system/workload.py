"""What one query read does to the hardware, per head and token: the input of the energy model.

A :class:`Workload` holds the same counts and physical sums as
:class:`gaincell.array.activity.Activity`, divided by the number of query reads. Two sources:

- :meth:`Workload.from_activity`: the activity of a real simulation (data-dependent energy:
  the actual pulse widths, stored values, saturations and counter codes);
- :meth:`Workload.average_case`: the preset's average case, i.i.d. data uniform over the
  converter levels (queries over the PWM levels, K and V over the DAC levels), a full window
  whose stored values have leaked for 0..W-1 steps, and the two dot products approximated as
  Gaussian sums (central limit theorem over head_dim rows and array_cols tokens).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from gaincell._checks import check_number
from gaincell.device import CellTransfer, quantize
from gaincell.params import AttentionConfig

__all__ = ["Workload", "UNQUANTIZED_LEVELS"]

#: Level count used to cost a converter the design leaves unquantized (levels = None).
#: Source: assumption (an ideal converter is costed as an 8-bit one).
UNQUANTIZED_LEVELS = 256
#: Grid points of the Gaussian quadrature of the average case. Source: numerical choice
#: (the expectations converge to < 1e-6 relative).
_QUAD_POINTS = 4001
#: Token ages sampled when averaging leakage over a window (evenly spaced).
_MAX_AGES = 1024


def levels_of(levels: int | None) -> int:
    """Level count to cost a converter with: ``levels``, or 256 when unquantized."""
    return UNQUANTIZED_LEVELS if levels is None else int(levels)


def _grid(lo: float, hi: float, levels: int | None) -> np.ndarray:
    """The values a converter produces for inputs uniform over its range."""
    if levels is None:
        return np.linspace(lo, hi, 257)
    return np.unique(quantize(np.linspace(lo, hi, levels), lo, hi, levels))


def _clip_moments(mu: float, sigma: float, scale: float, lo: float, hi: float,
                  step: float = 0.0) -> tuple[float, float, float, float]:
    """For X ~ N(mu, sigma^2) and y = clip(X / scale, lo, hi): E[y], E[y^2], P(y > 0) and
    E[|round(y / step)|] (0 when ``step`` is 0)."""
    if sigma <= 0:
        x = np.array([mu])
        w = np.array([1.0])
    else:
        x = np.linspace(mu - 8 * sigma, mu + 8 * sigma, _QUAD_POINTS)
        w = np.exp(-0.5 * ((x - mu) / sigma) ** 2)
        w /= w.sum()
    y = np.clip(x / scale, lo, hi)
    counts = np.abs(np.round(y / step)) if step > 0 else np.zeros_like(y)
    return (float(w @ y), float(w @ y ** 2), float(w @ (y > 0)), float(w @ counts))


@dataclass(frozen=True)
class Workload:
    """Hardware activity of one query read (one token of one head); SI units.

    Attributes mirror :class:`~gaincell.array.activity.Activity` divided by ``queries``:

    q_pulses : non-zero query pulses (count).
    q_pulse_width_sum : their widths summed, units of T_max.
    k_cells_read : K cells read (count).
    k_charge_abs : sum of |I| x pulse width over K cells, C.
    stage1_conversions : first-stage conversions (count).
    phi_pulses : non-zero first-stage output pulses (count).
    phi_pulse_width_sum : their widths summed, units of T_max.
    v_cells_read : V cells read (count).
    v_charge_abs : sum of |I| x pulse width over V cells, C.
    stage2_conversions : signed second-stage conversions (count).
    counter_counts_abs : counter increments (count).
    cells_written : K and V cells written (count).
    write_voltage_sum : written voltages summed, V.
    source : ``"average case"`` or ``"activity"`` (where the numbers come from).
    """

    q_pulses: float
    q_pulse_width_sum: float
    k_cells_read: float
    k_charge_abs: float
    stage1_conversions: float
    phi_pulses: float
    phi_pulse_width_sum: float
    v_cells_read: float
    v_charge_abs: float
    stage2_conversions: float
    counter_counts_abs: float
    cells_written: float
    write_voltage_sum: float
    source: str = "average case"

    def __post_init__(self) -> None:
        for f in fields(self):
            if f.name == "source":
                continue
            check_number(f"Workload.{f.name}", getattr(self, f.name), 0.0,
                         allowed="a finite number >= 0")

    def to_dict(self) -> dict[str, float | str]:
        """Plain dict (JSON-ready)."""
        return asdict(self)

    @classmethod
    def from_activity(cls, activity) -> "Workload":
        """Per-query averages of a simulation's :class:`~gaincell.array.activity.Activity`."""
        from gaincell.array.activity import Activity

        if not isinstance(activity, Activity):
            raise ValueError(f"activity must be a gaincell.array.activity.Activity, got "
                             f"{type(activity).__name__}")
        if activity.queries <= 0:
            raise ValueError(f"activity.queries = {activity.queries!r} is invalid: allowed "
                             f">= 1 (an empty trace has no energy per token)")
        pq = activity.per_query()
        names = [f.name for f in fields(cls) if f.name != "source"]
        return cls(**{n: float(pq[n]) for n in names}, source="activity")

    @classmethod
    def average_case(cls, cfg: AttentionConfig) -> "Workload":
        """The preset's average case for design ``cfg`` (see the module docstring)."""
        if not isinstance(cfg, AttentionConfig):
            raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
        d = cfg.device
        t_max = d.t_max
        q = _grid(d.q_lo, d.q_hi, d.q_levels)
        v = _grid(d.kv_lo, d.kv_hi, d.kv_levels)
        n_ages = min(cfg.window, _MAX_AGES)
        ages = np.linspace(0.0, cfg.window - 1, n_ages)
        decay = np.exp(-ages * cfg.leak_per_step)
        w = (v - d.v_weight_zero)[:, None] * decay[None, :]
        i_cell = CellTransfer(d).current(w + d.v_weight_zero)  # A, uniform over (level, age)
        e_i, e_i2, e_abs = float(i_cell.mean()), float((i_cell ** 2).mean()), \
            float(np.abs(i_cell).mean())
        e_q, e_q2, p_q = float(q.mean()), float((q ** 2).mean()), float((q > 0).mean())

        # first dot product: one column sums head_dim cells, S = sum_i q_i T_max I_i (C)
        D, W, C = cfg.head_dim, cfg.window, cfg.array_cols
        mu_s = D * e_q * t_max * e_i
        var_s = D * t_max ** 2 * max(e_q2 * e_i2 - (e_q * e_i) ** 2, 0.0)
        e_phi, e_phi2, p_phi, _ = _clip_moments(mu_s, var_s ** 0.5, d.stage1_q_sat, 0.0, 1.0)

        # second dot product: one sub-array output sums array_cols tokens, A = sum phi T_max I
        mu_a = C * e_phi * t_max * e_i
        var_a = C * t_max ** 2 * max(e_phi2 * e_i2 - (e_phi * e_i) ** 2, 0.0)
        out_levels = levels_of(d.out_levels)
        step = (d.out_hi - d.out_lo) / (out_levels - 1)
        _, _, _, e_counts = _clip_moments(mu_a, var_a ** 0.5, d.stage2_q_sat, d.out_lo,
                                          d.out_hi, step)
        n_sub = cfg.n_subarrays
        return cls(
            q_pulses=D * p_q,
            q_pulse_width_sum=D * e_q,
            k_cells_read=D * W * p_q,
            k_charge_abs=D * W * e_q * t_max * e_abs,
            stage1_conversions=W,
            phi_pulses=W * p_phi,
            phi_pulse_width_sum=W * e_phi,
            v_cells_read=W * D * p_phi,
            v_charge_abs=W * D * e_phi * t_max * e_abs,
            stage2_conversions=n_sub * D,
            counter_counts_abs=n_sub * D * e_counts,
            cells_written=2 * D,
            write_voltage_sum=2 * D * float(v.mean()),
            source="average case",
        )
