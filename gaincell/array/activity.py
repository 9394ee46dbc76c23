"""Activity counts of a simulation: what the hardware did, for data-dependent energy.

A :class:`Activity` sums over every batch element, head and token of a run. The system layer
turns it into energy (``gaincell.system``); the array layer fills it from the exact pulse
widths, stored values and counter codes it simulated.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

__all__ = ["Activity"]


@dataclass
class Activity:
    """Counts and physical sums of one simulation (all batch elements and heads together).

    Attributes
    ----------
    tokens : int
        Token steps simulated per sequence.
    batch : int
        Sequences simulated side by side.
    n_heads : int
        Heads per layer.
    queries : int
        Query reads performed: tokens x batch x heads.
    cells_written : int
        K and V cells written (2 x head_dim per token, head and sequence).
    write_voltage_sum : float
        Sum of the written storage voltages, V (after the DAC), over ``cells_written``.
    q_pulses : int
        Non-zero query pulses applied to K-array word lines (one per row and query read).
    q_pulse_width_sum : float
        Sum of those pulse widths, in units of T_max.
    k_cells_read : int
        K cells whose word line pulsed while their column held a token (row pulses x columns
        in the window).
    k_charge_abs : float
        Sum over K cells of |I_cell| x pulse width, C: charge moved on the K bit lines.
    stage1_conversions : int
        First-stage charge-to-pulse conversions (one per query and stored column).
    phi_pulses : int
        Non-zero first-stage output pulses driving V-array word lines.
    phi_pulse_width_sum : float
        Sum of those pulse widths, in units of T_max.
    phi_saturated : int
        First-stage conversions that saturated at T_max.
    v_cells_read : int
        V cells read (phi pulses x head_dim columns).
    v_charge_abs : float
        Sum over V cells of |I_cell| x pulse width, C.
    stage2_conversions : int
        Signed second-stage conversions (one per query, sub-array and output dimension).
    counter_counts_abs : float
        Sum of |counter code| over those conversions (counter increments).
    counter_saturated : int
        Second-stage conversions clipped at the counter's range.
    """

    tokens: int = 0
    batch: int = 0
    n_heads: int = 0
    queries: int = 0
    cells_written: int = 0
    write_voltage_sum: float = 0.0
    q_pulses: int = 0
    q_pulse_width_sum: float = 0.0
    k_cells_read: int = 0
    k_charge_abs: float = 0.0
    stage1_conversions: int = 0
    phi_pulses: int = 0
    phi_pulse_width_sum: float = 0.0
    phi_saturated: int = 0
    v_cells_read: int = 0
    v_charge_abs: float = 0.0
    stage2_conversions: int = 0
    counter_counts_abs: float = 0.0
    counter_saturated: int = 0

    def __add__(self, other: "Activity") -> "Activity":
        if not isinstance(other, Activity):
            return NotImplemented
        out = Activity(**asdict(self))
        for f in fields(self):
            if f.name in ("batch", "n_heads"):
                setattr(out, f.name, max(getattr(self, f.name), getattr(other, f.name)))
            else:
                setattr(out, f.name, getattr(self, f.name) + getattr(other, f.name))
        return out

    def per_query(self) -> dict[str, float]:
        """Every sum divided by ``queries`` (averages per head and token)."""
        n = max(self.queries, 1)
        return {f.name: getattr(self, f.name) / n for f in fields(self)
                if f.name not in ("tokens", "batch", "n_heads", "queries")}

    def to_dict(self) -> dict[str, float]:
        """Plain dict (JSON-ready)."""
        return asdict(self)
