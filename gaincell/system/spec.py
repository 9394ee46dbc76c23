"""System-level parameters of a design: the ``[system]`` table of a design file (read by
:func:`gaincell.system.load_design`, :mod:`gaincell.system.design_file`).

A design file is the TOML of :func:`gaincell.params.load_toml` (``[attention]``, ``[device]``,
``[meta]``) plus an optional ``[system]`` table::

    [system]
    n_layers = 12              # layers evaluated one after another per token
    tokens = 1024              # tokens generated per sequence (for per-sequence totals)
    technology_nm = 28         # node, nm (predicted mode: within the technology table)
    overhead_per_layer_s = 0   # time per layer outside attention (projections, MLP), s;
                               # omitted: 0 (calibrated) or 12 d_model^2 / mac_rate (predicted)
    mode = "auto"              # "calibrated", "predicted", or "auto" (calibrated for the
                               # paper's design, predicted for any other)
    gating = "power"           # predicted mode: "power", "clock" or "none"
    cap_type = "mim"           # predicted mode: integration capacitors "mim" or "mos"

    [system.array]             # overrides of a component's assumptions (TUNABLE fields)
    cell_area = 1e-12

    [system.circuit]           # predicted mode: CircuitAssumptions overrides
    gm_over_id = 12

    [system.technology]        # predicted mode: technology-table overrides (SI)
    c_mim = 1e-3

    [system.spice_energy]      # predicted mode: per-action energies measured in SPICE, J
    cell_read_j = 2.1e-15      # one cell, one full-T_max read pulse, from the supplies
    cell_write_j = 5e-15       # one cell write incl. DAC output and write bit line
    conversion_j = 18e-12      # one charge-to-pulse conversion
    counter_step_j = 8e-15     # one counter increment
    source = "gf180 characterization, netlist sha ..."

Errors name the file, the table, the key and the allowed values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from gaincell._checks import as_real, check_choice, check_number
from gaincell.system.components import (
    AdderTree,
    ChargeToPulse,
    Controller,
    GainCellArray,
    PWMDriver,
    Routing,
    SignedCounter,
    WriteDAC,
)

__all__ = ["SystemSpec", "COMPONENT_ROLES", "MODES", "SPICE_KEYS"]

#: Estimator modes.
MODES = ("auto", "calibrated", "predicted")
#: Gating modes of the predicted mode (see gaincell.system.predicted).
#: Gating modes of the predicted mode: what is switched off outside a block's active phase.
#: ``power``: analog biases on only in their phases, digital clocks only in the layer's slot;
#: ``clock``: digital clocks gated, analog biases on for the whole token period; ``none``:
#: everything runs for the whole token period. Leakage flows always.
GATING_MODES = ("power", "clock", "none")
#: Integration-capacitor kinds of the predicted mode.
CAP_TYPES = ("mim", "mos")
#: Per-action energies of a ``[system.spice_energy]`` table, J.
SPICE_KEYS = ("cell_read_j", "cell_write_j", "conversion_j", "counter_step_j")
_STRINGS = {"mode": MODES, "gating": GATING_MODES, "cap_type": CAP_TYPES}
#: Tables of the predicted mode (besides the component roles).
_PREDICTED_TABLES = ("circuit", "technology", "spice_energy")

#: Component roles of a head and their classes; ``[system.<role>]`` overrides their
#: ``TUNABLE`` fields.
COMPONENT_ROLES = {
    "array": GainCellArray,
    "dac": WriteDAC,
    "pwm": PWMDriver,
    "stage1": ChargeToPulse,
    "stage2": ChargeToPulse,
    "counter": SignedCounter,
    "adder": AdderTree,
    "controller": Controller,
    "routing": Routing,
}

_SCALARS = {
    # key: (kind, lo, hi, unit, meaning)
    "n_layers": ("int", 1, 10_000, "", "layers per token"),
    "tokens": ("int", 1, 10**9, "", "tokens per sequence"),
    "technology_nm": ("float", 3.0, 180.0, "nm", "digital node"),
    "overhead_per_layer_s": ("float", 0.0, 1.0, "s", "non-attention time per layer"),
}


def _check_scalar(src: str, key: str, value: Any) -> Any:
    if key in _STRINGS:
        return check_choice(f"{src}: [system] {key}", value, _STRINGS[key])
    if key == "overhead_per_layer_s" and value is None:
        return None
    kind, lo, hi, unit, _ = _SCALARS[key]
    return check_number(f"{src}: [system] {key}", value, lo, hi, unit, integer=kind == "int")


@dataclass(frozen=True)
class SystemSpec:
    """System-level parameters of an estimate.

    Attributes
    ----------
    n_layers : int
        Attention layers evaluated one after another per token, in [1, 10000]. Default 12
        (GPT-2, paper).
    tokens : int
        Tokens generated per sequence (per-sequence totals), >= 1. Default 1024 (the paper's
        window and GPU-baseline length).
    technology_nm : float
        Node of the digital blocks, nm, in [3, 180]. Default 28 (assumption, see
        :class:`~gaincell.system.components.Technology`).
    overhead_per_layer_s : float or None
        Time per layer spent outside attention (projections, MLP, LayerNorm), s, in [0, 1].
        Default None: the mode's default, 0 in the calibrated mode (the paper), and
        ``12 d_model^2 / mac_rate`` in the predicted mode (``CircuitAssumptions.mac_rate``).
    mode : str
        ``"calibrated"``, ``"predicted"`` or ``"auto"`` (default: calibrated for the paper's
        design, predicted for any other).
    gating : str
        Predicted mode: ``"power"`` (default), ``"clock"`` or ``"none"`` (what is switched
        off outside a block's phases; see :mod:`gaincell.system.predicted`).
    cap_type : str
        Predicted mode: integration capacitors ``"mim"`` (default) or ``"mos"``.
    circuit : dict
        Predicted mode: :class:`~gaincell.system.circuit.CircuitAssumptions` overrides.
    technology : dict
        Predicted mode: technology-table overrides (quantity -> SI value).
    spice_energy : dict or None
        Predicted mode: per-action energies measured in SPICE (``SPICE_KEYS``, J) and their
        ``source``; they replace the analytic energies of those actions.
    components : dict
        ``role -> {field: value}`` overrides of component assumptions (see
        ``COMPONENT_ROLES`` and each class's ``TUNABLE``).
    name : str
        Design name shown in reports (a design file's ``[meta] name``, else its file name).
    """

    n_layers: int = 12
    tokens: int = 1024
    technology_nm: float = 28.0
    overhead_per_layer_s: float | None = None
    components: dict = field(default_factory=dict)
    name: str = ""
    mode: str = "auto"
    gating: str = "power"
    cap_type: str = "mim"
    circuit: dict = field(default_factory=dict)
    technology: dict = field(default_factory=dict)
    spice_energy: dict | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise ValueError(f"SystemSpec.name = {self.name!r} is invalid: allowed a string")
        for key in (*_SCALARS, *_STRINGS):
            object.__setattr__(self, key, _check_scalar("SystemSpec", key, getattr(self, key)))
        comps = self.components
        if not isinstance(comps, dict):
            raise ValueError(f"SystemSpec.components = {comps!r} is invalid: allowed a table "
                             f"role -> {{field: value}}")
        for role, over in comps.items():
            _check_role("SystemSpec", role, over)
        _check_circuit("SystemSpec", self.circuit)
        _check_technology("SystemSpec", self.technology)
        if self.spice_energy is not None:
            object.__setattr__(self, "spice_energy",
                               _check_spice("SystemSpec", self.spice_energy))

    def replace(self, **changes: Any) -> "SystemSpec":
        """A copy with fields changed (validated)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = sorted(set(changes) - set(d))
        if unknown:
            raise ValueError(f"unknown SystemSpec field(s) {unknown}: allowed {sorted(d)}")
        d.update(changes)
        return SystemSpec(**d)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict as in a design file's ``[system]`` table."""
        d = {k: getattr(self, k) for k in (*_SCALARS, *_STRINGS)
             if getattr(self, k) is not None}
        d.update({role: dict(v) for role, v in self.components.items()})
        for t in ("circuit", "technology"):
            if getattr(self, t):
                d[t] = dict(getattr(self, t))
        if self.spice_energy:
            d["spice_energy"] = dict(self.spice_energy)
        return d

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>") -> "SystemSpec":
        """From a ``[system]`` table; errors name ``source``, the key and the allowed values."""
        if not isinstance(data, dict):
            raise ValueError(f"{source}: [system] must be a table, got {data!r}")
        allowed = sorted(_SCALARS) + sorted(_STRINGS) + sorted(COMPONENT_ROLES) \
            + sorted(_PREDICTED_TABLES)
        kw: dict[str, Any] = {}
        comps: dict[str, dict] = {}
        for key, value in data.items():
            if key in _SCALARS or key in _STRINGS:
                kw[key] = _check_scalar(source, key, value)
            elif key == "circuit":
                kw[key] = _check_circuit(source, value)
            elif key == "technology":
                kw[key] = _check_technology(source, value)
            elif key == "spice_energy":
                kw[key] = _check_spice(source, value)
            elif key in COMPONENT_ROLES:
                _check_role(source, key, value)
                comps[key] = dict(value)
            elif isinstance(value, dict):
                raise ValueError(f"{source}: unknown table [system.{key}]: allowed "
                                 f"{sorted(COMPONENT_ROLES) + sorted(_PREDICTED_TABLES)}")
            else:
                raise ValueError(f"{source}: unknown key {key!r} in [system]: allowed "
                                 f"{allowed}")
        return cls(**kw, components=comps)


def _check_role(src: str, role: str, over: Any) -> None:
    if role not in COMPONENT_ROLES:
        raise ValueError(f"{src}: unknown component table [system.{role}]: allowed "
                         f"{sorted(COMPONENT_ROLES)}")
    if not isinstance(over, dict):
        raise ValueError(f"{src}: [system.{role}] must be a table of field = value")
    cls = COMPONENT_ROLES[role]
    bad = sorted(set(over) - set(cls.TUNABLE))
    if bad:
        raise ValueError(f"{src}: unknown key(s) {bad} in [system.{role}]: allowed "
                         f"{sorted(cls.TUNABLE)}")
    for k, v in over.items():
        as_real(f"{src}: [system.{role}] {k}", v, "a finite number (SI units)")


def _check_table(src: str, name: str, value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{src}: [system.{name}] must be a table of key = value")
    return dict(value)


def _check_circuit(src: str, value: Any) -> dict:
    from gaincell.system.circuit import CircuitAssumptions

    value = _check_table(src, "circuit", value)
    bad = sorted(set(value) - set(CircuitAssumptions.tunable()))
    if bad:
        raise ValueError(f"{src}: unknown key(s) {bad} in [system.circuit]: allowed "
                         f"{sorted(CircuitAssumptions.tunable())}")
    try:
        CircuitAssumptions(**value)
    except ValueError as e:
        raise ValueError(f"{src}: [system.circuit]: {e}") from None
    return value


def _check_technology(src: str, value: Any) -> dict:
    from gaincell.system.technology import node_params

    value = _check_table(src, "technology", value)
    try:
        node_params(28.0, value)
    except ValueError as e:
        raise ValueError(f"{src}: {e}") from None
    return value


def _check_spice(src: str, value: Any) -> dict:
    value = _check_table(src, "spice_energy", value)
    allowed = sorted((*SPICE_KEYS, "source"))
    bad = sorted(set(value) - set(allowed))
    if bad:
        raise ValueError(f"{src}: unknown key(s) {bad} in [system.spice_energy]: allowed "
                         f"{allowed}")
    if not isinstance(value.get("source"), str) or not value["source"].strip():
        raise ValueError(f"{src}: [system.spice_energy] source = {value.get('source')!r} is "
                         f"invalid: allowed a non-empty string saying where the energies "
                         f"come from")
    energies = [k for k in SPICE_KEYS if k in value]
    if not energies:
        raise ValueError(f"{src}: [system.spice_energy] has no energy: allowed at least one "
                         f"of {list(SPICE_KEYS)}")
    for k in energies:
        value[k] = check_number(f"{src}: [system.spice_energy] {k}", value[k], 0.0, 1e-6, "J",
                                lo_open=True, hi_open=True, allowed="a number in (0, 1e-6) J")
    return value
