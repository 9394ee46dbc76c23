"""Gain-cell array: the K or V storage of one head, read by word-line pulses, written per token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from gaincell.params import LEROUX2025_V_READ, LEROUX2025_VDD
from gaincell.system.components.base import Action, Component, check_param

__all__ = ["GainCellArray"]


@dataclass(frozen=True)
class GainCellArray(Component):
    """The cells of one head's K (or V) array: ``rows`` x ``cols`` gain cells.

    Read: during a word-line pulse a cell sources or sinks ``I(w)`` between its read word line
    (at ``v_read``) and its bit line, which the integrator holds at ``v_bitline``. The energy
    dissipated is the moved charge times that voltage difference,
    ``E = sum |I| t |v_read - v_bitline|``: it follows the stored values and the pulse widths
    exactly (``Activity.k_charge_abs`` / ``v_charge_abs``). Word-line and bit-line wiring are
    charged by the drivers (:class:`PWMDriver`, :class:`ChargeToPulse`), not here.

    Write: a token's column (K) or row (V) is selected by a write word line spanning the
    cells it writes, and each storage node is charged to its new voltage:
    ``E = c_store vdd sum(V_written) + n_cells c_wwl_per_cell vdd^2``.

    Attributes
    ----------
    rows, cols : int
        Cells along the word line direction (head dimension for K) and across it (window
        tokens for K), >= 1.
    v_read : float
        Read word-line voltage during a pulse, V. Preset 0.9 (paper).
    v_bitline : float
        Bit-line voltage held by the integrator, V. Default 0.45 = VDD/2 (assumption: the
        signed cell current needs a bit line between the rails; the paper's zero-weight point).
    vdd : float
        Supply, V. Preset 0.9 (paper).
    c_store : float
        Storage capacitance per cell, F. Default 1 fF (assumption, as DeviceParams.c_store).
    c_wwl_per_cell : float
        Write word-line capacitance per cell, F. Default 0.1 fF (assumption: ~1 um of
        minimum-width wire at ~0.1 fF/um plus one access-gate load).
    cell_area : float
        Area of one gain cell, m^2. Default 1 um^2 (unconfirmed: the paper's 6T CMOS gain cell).
    """

    rows: int = 64
    cols: int = 1024
    v_read: float = LEROUX2025_V_READ
    v_bitline: float = LEROUX2025_VDD / 2
    vdd: float = LEROUX2025_VDD
    c_store: float = 1e-15
    c_wwl_per_cell: float = 0.1e-15
    cell_area: float = 1e-12

    SOURCES: ClassVar[dict[str, str]] = {
        "rows": "design: head_dim rounded up to whole sub-arrays (K) / window (V)",
        "cols": "design: window (K) / head_dim (V)",
        "v_read": "paper: read word line at 0.9 V during a pulse",
        "v_bitline": "assumption: integrator holds the bit line at VDD/2",
        "vdd": "paper: VDD = 0.9 V",
        "c_store": "assumption: 1 fF storage node (DeviceParams.c_store)",
        "c_wwl_per_cell": "assumption: 0.1 fF per cell of write word line",
        "cell_area": "unconfirmed: about 1 um^2 per 6T CMOS gain cell",
    }
    TUNABLE: ClassVar[tuple[str, ...]] = ("v_bitline", "c_store", "c_wwl_per_cell", "cell_area")

    def __post_init__(self) -> None:
        o = "GainCellArray"
        check_param(o, "rows", self.rows, 1, None, integer=True)
        check_param(o, "cols", self.cols, 1, None, integer=True)
        check_param(o, "vdd", self.vdd, 0.0, None, "V", lo_open=True)
        check_param(o, "v_read", self.v_read, 0.0, self.vdd, "V")
        check_param(o, "v_bitline", self.v_bitline, 0.0, self.vdd, "V")
        check_param(o, "c_store", self.c_store, 0.0, None, "F")
        check_param(o, "c_wwl_per_cell", self.c_wwl_per_cell, 0.0, None, "F")
        check_param(o, "cell_area", self.cell_area, 0.0, None, "m^2", lo_open=True)

    @property
    def read_voltage(self) -> float:
        """Voltage across a reading cell, V: ``|v_read - v_bitline|``."""
        return abs(self.v_read - self.v_bitline)

    def read(self, charge_abs: float) -> Action:
        """Energy (J) of reading cells that moved ``charge_abs`` coulombs in total (|I| t)."""
        return Action(charge_abs * self.read_voltage)

    def write(self, n_cells: float, voltage_sum: float) -> Action:
        """Energy (J) of writing ``n_cells`` cells that receive ``voltage_sum`` volts in
        total (V)."""
        e_nodes = self.c_store * self.vdd * voltage_sum
        e_wwl = n_cells * self.c_wwl_per_cell * self.vdd ** 2
        return Action(e_nodes + e_wwl)

    def area(self) -> float:
        """Cell area, m^2: ``rows cols cell_area`` (periphery is in the other blocks)."""
        return self.rows * self.cols * self.cell_area
