"""Parameters: frozen dataclasses with SI units, presets with provenance, TOML load/save.

Everything a simulation depends on is data here. Units are SI (V, A, s, F, C) unless the field
name carries its unit (``poly_c_ua`` is in microamps). Every field is documented in the class
docstring with its unit, meaning and, for the ``leroux2025`` preset, its source.

Sources
-------
PAPER : Leroux et al., "Analog in-memory computing attention mechanism for fast and
        energy-efficient large language models", Nat. Comput. Sci. 5, 813-824 (2025),
        arXiv 2409.19315.
CODE  : the authors' public repository GainCellAttention (MIT licence), file named.
Values marked "unconfirmed" come from a secondary summary of the paper's full text.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import sys
from dataclasses import dataclass, field, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "LEROUX2025_C_UA",
    "IVTable",
    "RetentionTable",
    "DeviceParams",
    "AttentionConfig",
    "ALLOWED",
    "field_docs",
    "leak_per_step_for",
    "load_toml",
    "save_toml",
    "tau_at",
]

# --------------------------------------------------------------------------------------------
# Published constants (provenance beside each)
# --------------------------------------------------------------------------------------------

#: Cell-model coefficients C_ij in microamps per V^(i+j) (i: power of V_store - VDD/2,
#: j: power of the read word-line voltage V_in), i + j <= 3. Source: CODE, modules/model_gpt.py;
#: PAPER Methods Eq. 4. They are a least-squares cubic fit of the measured I-V sweep at
#: V_in = 0.9 V only (hence C_i,j+1 / C_ij = 0.9).
LEROUX2025_C_UA: tuple[tuple[float, ...], ...] = (
    (0.17393044, 0.15653739, 0.14088365, 0.12679529),
    (5.51975209, 4.96777688, 4.4709992, 0.0),
    (-1.44776001, -1.30298401, 0.0, 0.0),
    (46.05483778, 0.0, 0.0, 0.0),
)

#: Saturation charges of the two charge-to-pulse stages, expressed as in the paper's code:
#: microamps x T_max. Source: CODE (DRAMAttention: clip(S / 80), clip(A / 40)); PAPER Eq. 3.
LEROUX2025_STAGE1_SAT_UA_TMAX = 80.0
LEROUX2025_STAGE2_SAT_UA_TMAX = 40.0
#: Maximum pulse width. Source: PAPER, Methods.
LEROUX2025_T_MAX_S = 15e-9
#: Leakage per token step, dt / tau. Source: CODE, configs/ft_dram_gpt2.py.
LEROUX2025_LEAK_PER_STEP = 1.6e-4
#: Retention time constant of the storage node, s. Source: PAPER (unconfirmed in the text).
LEROUX2025_TAU_S = 5e-3
#: Time between two writes of the same layer, s: the period the paper's code implies,
#: leak_per_step x tau = 1.6e-4 x 5 ms = 800 ns (12 layers x 65 ns = 780 ns of attention plus
#: 20 ns). Derived from CODE and PAPER.
LEROUX2025_TOKEN_PERIOD_S = 800e-9
#: Temperature at which the preset's tau and I-V sweep hold, K. Assumption: room temperature,
#: 27 C (SPICE's nominal TNOM); the paper reports measurements without a temperature.
LEROUX2025_T_REF_K = 300.15
#: Activation energy of the storage-node leakage, eV: tau(T) = tau_ref exp(E_a / k (1/T -
#: 1/T_ref)). Assumption: 0.6 eV, between sub-threshold conduction of the write device
#: (~0.3-0.5 eV) and junction generation leakage (E_g / 2 = 0.56 eV in Si); a characterized
#: PDK preset carries its own SPICE-fitted value.
DEFAULT_LEAK_ACTIVATION_EV = 0.6
#: Boltzmann constant, eV/K (CODATA 2018, exact).
K_BOLTZMANN_EV = 8.617333262e-5
#: Boltzmann constant, J/K (SI 2019, exact).
K_BOLTZMANN_J = 1.380649e-23
#: Read device of a cell, width and length, m, for Pelgrom's law. Assumption: 1 um x 1 um
#: (the paper gives no size; only used when ``pelgrom_avt`` is set).
DEFAULT_READ_DEVICE_W_M = 1e-6
DEFAULT_READ_DEVICE_L_M = 1e-6
#: Read word-line voltage during a pulse, V. Source: PAPER, Methods.
LEROUX2025_V_READ = 0.9
#: Gain of the paper's linear intermediate cell model, uA/V. Source: CODE.
LEROUX2025_LINEAR_GAIN_UA_PER_V = 19.3

_UA = 1e-6  # A per microamp


# --------------------------------------------------------------------------------------------
# Validation helpers: every error names the field, the value and the allowed range.
# --------------------------------------------------------------------------------------------


def _fail(owner: str, name: str, value: Any, allowed: str) -> None:
    raise ValueError(f"{owner}.{name} = {value!r} is invalid: allowed {allowed}")


def _is_int(value: Any) -> bool:
    """An integer, Python or NumPy (``np.int64``), but not a bool (``True``; ``np.bool_`` is
    not an ``Integral`` either)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _real(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(owner, name, value, "a real number")
    v = float(value)
    if not math.isfinite(v):
        _fail(owner, name, value, "a finite real number")
    return v


def _positive(owner: str, name: str, value: Any, unit: str) -> None:
    if _real(owner, name, value) <= 0:
        _fail(owner, name, value, f"> 0 {unit}".rstrip())


def _nonneg(owner: str, name: str, value: Any, unit: str) -> None:
    if _real(owner, name, value) < 0:
        _fail(owner, name, value, f">= 0 {unit}".rstrip())


def _levels(owner: str, name: str, value: Any) -> None:
    if value is None:
        return
    if not _is_int(value) or value < 2 or value > 2**16:
        _fail(owner, name, value, "an integer in [2, 65536] or None (no quantization)")


def _range(owner: str, lo_name: str, lo: Any, hi_name: str, hi: Any) -> None:
    lo_v = _real(owner, lo_name, lo)
    hi_v = _real(owner, hi_name, hi)
    if not lo_v < hi_v:
        _fail(owner, f"{lo_name}/{hi_name}", (lo, hi), f"{lo_name} < {hi_name}")


def _int_in(owner: str, name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if not _is_int(value) or value < lo or (
        hi is not None and value > hi
    ):
        rng = f"an integer >= {lo}" if hi is None else f"an integer in [{lo}, {hi}]"
        _fail(owner, name, value, rng)


#: What each field accepts, as the validation below enforces it (design-file comments, the
#: ``gaincell init`` template and error messages say the same).
ALLOWED: dict[str, str] = {
    # AttentionConfig
    "n_heads": "an integer in [1, 4096]",
    "head_dim": "an integer in [1, 65536]",
    "window": "an integer in [1, 2^24], a multiple of array_cols",
    "array_rows": "an integer in [1, 65536]",
    "array_cols": "an integer in [1, 65536]",
    "token_period": "> 0 s; or omit it and give leak_per_step",
    "leak_per_step": ">= 0 (an override of token_period / tau(T); consistent if both given)",
    # DeviceParams
    "vdd": "> 0 V",
    "v_weight_zero": "[0, vdd] V",
    "v_read": "(v_read_idle, vdd] V, inside poly_v_in_range (poly) or the table's V_in",
    "v_read_idle": "[0, v_read) V",
    "cell_model": "'poly', 'linear' or 'table'",
    "poly_c_ua": "4 x 4 finite numbers, uA/V^(i+j), zero where i + j > 3",
    "poly_v_in_range": "(lo, hi) V with 0 <= lo <= hi",
    "linear_gain_ua_per_v": "> 0 uA/V",
    "iv_table": "a [device.iv_table] with v_store (V), v_in (V), i_out (A); needed for 'table'",
    "c_store": "> 0 F",
    "tau": "> 0 s",
    "temperature": "[200, 450] K",
    "t_ref": "[200, 450] K",
    "leak_activation_energy": "[0, 3] eV",
    "v_rest": "[0, vdd] V",
    "t_max": "> 0 s",
    "q_levels": "an integer in [2, 65536], or \"none\" (analog)",
    "q_lo": "[0, 1) (fraction of t_max), < q_hi",
    "q_hi": "(0, 1] (fraction of t_max), > q_lo",
    "kv_levels": "an integer in [2, 65536], or \"none\" (analog)",
    "kv_lo": "[0, vdd) V, < kv_hi",
    "kv_hi": "(0, vdd] V, > kv_lo",
    "stage1_q_sat": "> 0 C",
    "stage2_q_sat": "> 0 C",
    "out_levels": "an integer in [2, 65536], or \"none\" (analog)",
    "out_lo": "a finite number < out_hi (units of full scale)",
    "out_hi": "a finite number > out_lo (units of full scale)",
    "sigma_gain_mismatch": ">= 0 (relative)",
    "sigma_tau_mismatch": ">= 0 (of ln tau)",
    "sigma_read_noise": ">= 0 C",
    "sigma_write_noise": ">= 0 V",
    "sigma_comparator_offset": ">= 0 C",
    "write_noise_ktc": "true or false",
    "read_disturb_coupling": "[-1, 1] (fraction of the word-line swing)",
    "read_current_tempco": "[-0.05, 0.05] 1/K",
    "write_pedestal_coef_v": "up to 8 finite numbers c_i, V / V^i ([] for none); |p| <= vdd "
                             "over [kv_lo, kv_hi]",
    "sigma_vth_mismatch": ">= 0 V (0 when pelgrom_avt is given)",
    "pelgrom_avt": "[0, 1e-6] V m (1 mV um = 1e-9 V m; 0 when sigma_vth_mismatch is given)",
    "read_device_w": "(0, 1e-3] m",
    "read_device_l": "(0, 1e-3] m",
    "retention_table": "a [device.retention_table] with t_s (s, from 0), v0 (V), v (V, "
                       "len(v0) x len(t_s)), t_ref (K, default 300.15), source",
}


# --------------------------------------------------------------------------------------------
# Dataclasses
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IVTable:
    """A measured or simulated DC read-current sweep of one gain cell.

    Attributes
    ----------
    v_store : tuple[float, ...]
        Storage-node voltages, V, strictly increasing (length n_s >= 2).
    v_in : tuple[float, ...]
        Read word-line voltages, V, strictly increasing (length n_i >= 1).
    i_out : tuple[tuple[float, ...], ...]
        Read current, A, indexed ``[v_store][v_in]`` (shape n_s x n_i). Positive current
        charges the bit line.
    source : str
        Where the sweep comes from (paper, measurement, SPICE run with netlist hash).
    """

    v_store: tuple[float, ...]
    v_in: tuple[float, ...]
    i_out: tuple[tuple[float, ...], ...]
    source: str = ""

    def __post_init__(self) -> None:
        o = "IVTable"
        for name, unit in (("v_store", "V"), ("v_in", "V")):
            try:
                object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))
            except (TypeError, ValueError):
                _fail(o, name, getattr(self, name), f"a sequence of voltages ({unit})")
        try:
            object.__setattr__(
                self, "i_out", tuple(tuple(float(x) for x in row) for row in self.i_out))
        except (TypeError, ValueError):
            _fail(o, "i_out", type(self.i_out).__name__, "a 2-D sequence of currents (A)")
        vs, vi, io = self.v_store, self.v_in, self.i_out
        if len(vs) < 2:
            _fail(o, "v_store", len(vs), "at least 2 points")
        if len(vi) < 1:
            _fail(o, "v_in", len(vi), "at least 1 point")
        for name, grid in (("v_store", vs), ("v_in", vi)):
            if not all(math.isfinite(x) for x in grid):
                _fail(o, name, "non-finite entry", "finite voltages")
            if any(b <= a for a, b in zip(grid, grid[1:])):
                _fail(o, name, "not strictly increasing", "a strictly increasing grid")
        if len(io) != len(vs) or any(len(row) != len(vi) for row in io):
            _fail(o, "i_out", "shape mismatch", f"shape ({len(vs)}, {len(vi)})")
        if not all(math.isfinite(x) for row in io for x in row):
            _fail(o, "i_out", "non-finite entry", "finite currents in A")

    @classmethod
    def from_arrays(cls, v_store, v_in, i_out, source: str = "") -> "IVTable":
        """Build from array-likes (``i_out`` shaped ``(len(v_store), len(v_in))``, amperes)."""
        import numpy as np

        i_out = np.asarray(i_out, dtype=float)
        if i_out.ndim != 2:
            raise ValueError(f"IVTable.i_out has shape {i_out.shape}: allowed a 2-D array")
        return cls(
            tuple(np.asarray(v_store, float).ravel()),
            tuple(np.asarray(v_in, float).ravel()),
            tuple(map(tuple, i_out)),
            source,
        )

    @classmethod
    def leroux2025(cls) -> "IVTable":
        """The paper's measured gain-cell I-V sweep (50 V_store x 51 V_in, amperes).

        Source: CODE, notebooks/non-linearity.npy in the repository's first commit.
        """
        import numpy as np

        path = Path(__file__).with_name("data") / "leroux2025_iv_sweep.npz"
        with np.load(path) as d:
            return cls.from_arrays(
                d["v_store"], d["v_in"], d["i_out"],
                source="Leroux et al. 2025, GainCellAttention notebooks/non-linearity.npy",
            )


_CELL_MODELS = ("poly", "linear", "table")
_T_MIN_K, _T_MAX_K = 200.0, 450.0


@dataclass(frozen=True)
class RetentionTable:
    """Stored voltage against time for several initial voltages (SPICE or measurement).

    Used instead of the single exponential relaxation when given as
    ``DeviceParams.retention_table`` (see :mod:`gaincell.device.retention_table` for the
    interpolation, which every engine shares).

    Attributes
    ----------
    t_s : tuple[float, ...]
        Times after the write, s, strictly increasing, ``t_s[0] == 0`` (length N >= 2).
    v0 : tuple[float, ...]
        Initial stored voltages, V, strictly increasing (length M >= 1): the storage-node
        voltage just after the write, the curve's index.
    v : tuple[tuple[float, ...], ...]
        Stored voltage, V, indexed ``[v0][t_s]`` (shape M x N); ``v[m][0]`` is normally
        ``v0[m]`` (the engines apply the change ``v[m][n] - v[m][0]`` to the stored voltage).
    t_ref : float
        Temperature the table was measured at, K (its times are scaled to another
        temperature with the Arrhenius law of ``DeviceParams``).
    source : str
        Where it comes from (SPICE bench and netlist hash, measurement).
    """

    t_s: tuple[float, ...]
    v0: tuple[float, ...]
    v: tuple[tuple[float, ...], ...]
    t_ref: float = LEROUX2025_T_REF_K
    source: str = ""

    def __post_init__(self) -> None:
        o = "RetentionTable"
        for name, unit in (("t_s", "s"), ("v0", "V")):
            try:
                object.__setattr__(self, name, tuple(float(x) for x in getattr(self, name)))
            except (TypeError, ValueError):
                _fail(o, name, getattr(self, name), f"a sequence of numbers ({unit})")
        try:
            object.__setattr__(self, "v", tuple(tuple(float(x) for x in row) for row in self.v))
        except (TypeError, ValueError):
            _fail(o, "v", type(self.v).__name__, "a 2-D sequence of voltages (V)")
        t, v0, v = self.t_s, self.v0, self.v
        if len(t) < 2:
            _fail(o, "t_s", len(t), "at least 2 times (s), the first 0")
        if len(v0) < 1:
            _fail(o, "v0", len(v0), "at least 1 initial voltage (V)")
        for name, grid in (("t_s", t), ("v0", v0)):
            if not all(math.isfinite(x) for x in grid):
                _fail(o, name, "non-finite entry", "finite values")
            if any(b <= a for a, b in zip(grid, grid[1:])):
                _fail(o, name, "not strictly increasing", "a strictly increasing grid")
        if t[0] != 0.0:
            _fail(o, "t_s[0]", t[0], "0 s (the table starts at the write)")
        if len(v) != len(v0) or any(len(row) != len(t) for row in v):
            _fail(o, "v", f"shape ({len(v)}, {len(v[0]) if v else 0})",
                  f"shape (len(v0), len(t_s)) = ({len(v0)}, {len(t)})")
        if not all(math.isfinite(x) for row in v for x in row):
            _fail(o, "v", "non-finite entry", "finite voltages in V")
        tr = _real(o, "t_ref", self.t_ref)
        if not _T_MIN_K <= tr <= _T_MAX_K:
            _fail(o, "t_ref", self.t_ref, f"[{_T_MIN_K}, {_T_MAX_K}] K")
        object.__setattr__(self, "t_ref", tr)
        if not isinstance(self.source, str):
            _fail(o, "source", self.source, "a string")

    @classmethod
    def from_arrays(cls, t_s, v0, v, t_ref: float = LEROUX2025_T_REF_K,
                    source: str = "") -> "RetentionTable":
        """Build from array-likes (``v`` shaped ``(len(v0), len(t_s))``, volts)."""
        import numpy as np

        v = np.asarray(v, dtype=float)
        if v.ndim != 2:
            raise ValueError(f"RetentionTable.v has shape {v.shape}: allowed a 2-D array "
                             f"(len(v0), len(t_s))")
        return cls(tuple(np.asarray(t_s, float).ravel()), tuple(np.asarray(v0, float).ravel()),
                   tuple(map(tuple, v)), float(t_ref), source)

    @classmethod
    def exponential(cls, tau: float, v_rest: float, v0, t_s,
                    t_ref: float = LEROUX2025_T_REF_K) -> "RetentionTable":
        """The table of a single exponential, ``v = v_rest + (v0 - v_rest) exp(-t / tau)``
        (tau in s, voltages in V, times in s): what the exponential model does, as a table."""
        import numpy as np

        t = np.asarray(t_s, float)
        v0a = np.asarray(v0, float)
        v = v_rest + (v0a[:, None] - v_rest) * np.exp(-t[None, :] / tau)
        return cls.from_arrays(t, v0a, v, t_ref,
                               f"single exponential, tau = {tau!r} s, v_rest = {v_rest!r} V")

    def scaled_voltages(self, f: float) -> "RetentionTable":
        """The same table with every voltage multiplied by ``f``."""
        return RetentionTable(self.t_s, tuple(x * f for x in self.v0),
                              tuple(tuple(x * f for x in r) for r in self.v), self.t_ref,
                              (self.source + f"; voltages scaled x{f:g}").lstrip("; "))


@dataclass(frozen=True)
class DeviceParams:
    """Device and periphery parameters of one gain-cell attention head.

    Attributes
    ----------
    vdd : float
        Supply voltage, V. Preset 0.9 (PAPER, Methods).
    v_weight_zero : float
        Stored voltage that encodes weight zero, V: the signed weight is
        ``w = V_store - v_weight_zero``. Preset VDD/2 = 0.45 (PAPER, Methods).
    v_read : float
        Read word-line voltage during an input pulse, V. Preset 0.9 (PAPER, Methods).
    v_read_idle : float
        Read word-line voltage between pulses, V; at 0.45 V the cell carries a few pA
        (I-V sweep), which the behavioural model takes as zero.
    cell_model : str
        Cell transfer model: ``"poly"`` (the paper's Eq. 4 polynomial in w and V_in),
        ``"linear"`` (the paper's intermediate model, I = gain * w) or ``"table"``
        (2-D interpolation of ``iv_table``).
    poly_c_ua : tuple of tuples
        C_ij of Eq. 4, microamps per V^(i+j), ``poly_c_ua[i][j]`` multiplies
        ``w**i * V_in**j``; i + j <= 3 (4 x 4, unused entries 0). Preset from CODE,
        modules/model_gpt.py.
    poly_v_in_range : (float, float)
        Read word-line voltages at which ``poly_c_ua`` holds, V: ``(lo, hi)`` of the sweep it
        was fitted on; ``lo == hi`` for a fit at one read voltage. A ``poly`` cell refuses a
        ``v_read`` outside it. Preset (0.9, 0.9): the paper's C_ij are a fit at V_in = 0.9 V
        only (C_i,j+1 / C_ij = 0.9), and at the idle 0.45 V they would give +-8.2 uA where the
        measured cell conducts pA.
    linear_gain_ua_per_v : float
        Gain of the linear cell model, uA/V. Preset 19.3 (CODE).
    iv_table : IVTable or None
        Sweep used when ``cell_model == "table"``.
    c_store : float
        Storage capacitance of one cell, F. Default 1 fF: an assumption (typical of 2T-3T
        gain cells), not a published figure; used only by leakage/charge estimates.
    tau : float
        Retention time constant of the storage node at ``t_ref``, s. Default 5 ms
        (unconfirmed in the paper's text; CMOS gain cell). With
        ``AttentionConfig.token_period`` it sets the simulator's leak per step,
        token_period / tau(temperature) (see :func:`tau_at`); it is also the centre of the
        per-cell retention spread.
    temperature : float
        Operating temperature, K, in [200, 450]. Default 300.15 K, the preset's ``t_ref``.
    t_ref : float
        Temperature at which ``tau`` holds, K, in [200, 450]. Preset 300.15 K (27 C,
        assumption: the paper gives no measurement temperature).
    leak_activation_energy : float
        Activation energy of the storage-node leakage, eV, in [0, 3]:
        ``tau(T) = tau exp(E_a / k (1/T - 1/t_ref))``. Default 0.6 eV (assumption, see
        ``DEFAULT_LEAK_ACTIVATION_EV``); 0 makes retention independent of temperature.
    v_rest : float
        Voltage the storage node relaxes toward, V. Preset 0.45 (VDD/2: the paper's model
        decays the weight deviation toward zero).
    t_max : float
        Longest input pulse (full-scale PWM), s. Preset 15 ns (PAPER, Methods).
    q_levels, q_lo, q_hi : int or None, float, float
        Query PWM: number of levels (None = analog), and range as a fraction of t_max.
        Preset 16 levels on [0, 1] (PAPER, Methods).
    kv_levels, kv_lo, kv_hi : int or None, float, float
        K/V write DAC: number of levels (None = analog), range in V. Preset 8 levels on
        [0, 0.9] V (PAPER, Methods).
    stage1_q_sat : float
        Saturation charge of the first charge-to-pulse stage (HardSigmoid), C. Preset
        80 uA x 15 ns = 1.2 pC (CODE; PAPER Eq. 3).
    stage2_q_sat : float
        Full-scale charge of each sub-array's signed second-stage readout, C. Preset
        40 uA x 15 ns = 0.6 pC (CODE).
    out_levels, out_lo, out_hi : int or None, float, float
        Signed output counter of each sub-array: levels and range in units of full scale.
        Preset 32 levels on [-1, 1] (PAPER, Methods; the code's rounding reaches +-32/31).
    sigma_gain_mismatch : float
        Relative per-cell standard deviation of the cell current (multiplicative
        ``1 + N(0, sigma)``), dimensionless. Default 0.
    sigma_tau_mismatch : float
        Standard deviation of ln(tau) across cells (log-normal retention), dimensionless.
        Default 0.
    sigma_read_noise : float
        Standard deviation of additive read noise on every bit-line charge (both stages),
        C, drawn anew at every read. Default 0.
    sigma_write_noise : float
        Standard deviation of additive noise on every stored voltage at write time, V.
        Default 0.
    sigma_comparator_offset : float
        Standard deviation of the static input-referred offset of every charge-to-pulse
        comparator, C (drawn once per converter). Default 0.
    write_noise_ktc : bool
        Add the thermal (kT/C) noise of the write switch to every stored voltage:
        ``sigma = sqrt(k_B T / c_store)``, in quadrature with ``sigma_write_noise``
        (:attr:`write_noise_sigma`). Default False (the paper's model is noise-free).
    read_disturb_coupling : float
        Fraction of the read word line's swing ``v_read - v_read_idle`` that couples onto the
        floating storage node while a read pulse is on, dimensionless: a cell conducts
        ``I(V_store + k (v_read - v_read_idle))`` during its pulse (the shift reverses when
        the pulse ends). Negative when the node is pulled down. From a read-disturb SPICE
        bench; default 0 (the paper's model).
    read_current_tempco : float
        Linear temperature coefficient of the read current, 1/K:
        ``I(T) = I(t_ref) (1 + tc (T - t_ref))``. Default 0.
    write_pedestal_coef_v : tuple[float, ...]
        Write pedestal, the storage-node shift left by the write (charge injection and clock
        feed-through of the write device when its word line falls), as polynomial
        coefficients c_i in V / V^i: ``p(v) = sum_i c_i v**i`` at the ideal DAC level v (V);
        the cell stores ``v + p(v)`` plus write noise, held within [0, vdd]. From a SPICE
        write bench (``cond_pedestal_v`` of a characterization); default ``()``, no pedestal
        (the paper's model). A design with a pedestal stores voltages, not DAC codes.
    sigma_vth_mismatch : float
        Standard deviation of the static threshold offset of every cell's read device, V:
        the cell conducts as if its stored voltage were ``V_node + dvth`` (drawn once per
        cell; it adds, not multiplies, so it sums along a column). Default 0. Give it or
        ``pelgrom_avt``, not both.
    pelgrom_avt : float
        Pelgrom coefficient of the read device's threshold, V m (1 mV um = 1e-9 V m), as the
        single-device spread ``sigma(V_T) = A_VT / sqrt(W L)`` with W, L below (a foundry's
        A_VT for the difference of a matched pair is sqrt(2) larger). Default 0 (off).
    read_device_w, read_device_l : float
        Width and length of the cell's read device, m, used with ``pelgrom_avt`` only.
        Default 1 um x 1 um: an assumption (the paper gives no read-device size).
    retention_table : RetentionTable or None
        Stored voltage against time for several initial voltages; when given it replaces the
        single exponential relaxation in every engine (``v_rest`` then only feeds reports):
        a cell written to V_w holds ``V_w + V(t; V_w) - V(0; V_w)`` after ``age`` token
        steps, t = age x token_period x tau(t_ref of the table) / tau(temperature) x s_cell
        (= age x leak_cell x tau(table's t_ref), s_cell the per-cell retention spread of
        ``sigma_tau_mismatch``), interpolated linearly in V_w (the change held beyond the
        first and last v0) and linearly in log(1 + t / t_s[1]) (held beyond the last time).
        Default None (the exponential model).
    """

    vdd: float = 0.9
    v_weight_zero: float = 0.45
    v_read: float = LEROUX2025_V_READ
    v_read_idle: float = 0.45
    cell_model: str = "poly"
    poly_c_ua: tuple[tuple[float, ...], ...] = LEROUX2025_C_UA
    poly_v_in_range: tuple[float, float] = (LEROUX2025_V_READ, LEROUX2025_V_READ)
    linear_gain_ua_per_v: float = LEROUX2025_LINEAR_GAIN_UA_PER_V
    iv_table: IVTable | None = None
    c_store: float = 1e-15
    tau: float = LEROUX2025_TAU_S
    temperature: float = LEROUX2025_T_REF_K
    t_ref: float = LEROUX2025_T_REF_K
    leak_activation_energy: float = DEFAULT_LEAK_ACTIVATION_EV
    v_rest: float = 0.45
    t_max: float = LEROUX2025_T_MAX_S
    q_levels: int | None = 16
    q_lo: float = 0.0
    q_hi: float = 1.0
    kv_levels: int | None = 8
    kv_lo: float = 0.0
    kv_hi: float = 0.9
    stage1_q_sat: float = LEROUX2025_STAGE1_SAT_UA_TMAX * _UA * LEROUX2025_T_MAX_S
    stage2_q_sat: float = LEROUX2025_STAGE2_SAT_UA_TMAX * _UA * LEROUX2025_T_MAX_S
    out_levels: int | None = 32
    out_lo: float = -1.0
    out_hi: float = 1.0
    sigma_gain_mismatch: float = 0.0
    sigma_tau_mismatch: float = 0.0
    sigma_read_noise: float = 0.0
    sigma_write_noise: float = 0.0
    sigma_comparator_offset: float = 0.0
    write_noise_ktc: bool = False
    read_disturb_coupling: float = 0.0
    read_current_tempco: float = 0.0
    write_pedestal_coef_v: tuple[float, ...] = ()
    sigma_vth_mismatch: float = 0.0
    pelgrom_avt: float = 0.0
    read_device_w: float = DEFAULT_READ_DEVICE_W_M
    read_device_l: float = DEFAULT_READ_DEVICE_L_M
    retention_table: RetentionTable | None = None

    def __post_init__(self) -> None:
        o = "DeviceParams"
        for name in ("vdd", "t_max", "c_store", "tau", "stage1_q_sat", "stage2_q_sat",
                     "linear_gain_ua_per_v"):
            unit = {"vdd": "V", "t_max": "s", "c_store": "F", "tau": "s",
                    "stage1_q_sat": "C", "stage2_q_sat": "C",
                    "linear_gain_ua_per_v": "uA/V"}[name]
            _positive(o, name, getattr(self, name), unit)
        for name in ("temperature", "t_ref"):
            t = _real(o, name, getattr(self, name))
            if not _T_MIN_K <= t <= _T_MAX_K:
                _fail(o, name, getattr(self, name), f"[{_T_MIN_K}, {_T_MAX_K}] K (kelvin: "
                      f"27 C = 300.15 K, 85 C = 358.15 K)")
            object.__setattr__(self, name, t)
        ea = _real(o, "leak_activation_energy", self.leak_activation_energy)
        if not 0.0 <= ea <= 3.0:
            _fail(o, "leak_activation_energy", ea, "[0, 3] eV")
        for name in ("v_weight_zero", "v_read", "v_read_idle", "v_rest"):
            v = _real(o, name, getattr(self, name))
            if not 0.0 <= v <= self.vdd:
                _fail(o, name, v, f"[0, vdd = {self.vdd}] V")
        if not self.v_read > self.v_read_idle:
            _fail(o, "v_read", self.v_read, f"> v_read_idle = {self.v_read_idle} V (a pulse "
                  f"must raise the read word line above its idle level)")
        if self.cell_model not in _CELL_MODELS:
            _fail(o, "cell_model", self.cell_model, f"one of {_CELL_MODELS}")
        c = self.poly_c_ua
        try:
            rows = [tuple(float(x) for x in r) for r in c]
        except (TypeError, ValueError):
            _fail(o, "poly_c_ua", c, "a 4 x 4 nested sequence of numbers (uA/V^(i+j))")
        if len(rows) != 4 or any(len(r) != 4 for r in rows):
            _fail(o, "poly_c_ua", c, "a 4 x 4 nested sequence of numbers (uA/V^(i+j))")
        if not all(math.isfinite(x) for r in rows for x in r):
            _fail(o, "poly_c_ua", c, "finite coefficients")
        for i in range(4):
            for j in range(4 - i, 4):
                if rows[i][j] != 0.0:
                    _fail(o, f"poly_c_ua[{i}][{j}]", rows[i][j],
                          "0 (Eq. 4 has terms with i + j <= 3 only)")
        object.__setattr__(self, "poly_c_ua", tuple(rows))
        rng = self.poly_v_in_range
        try:
            lo, hi = (float(x) for x in rng)
        except (TypeError, ValueError):
            _fail(o, "poly_v_in_range", rng, "(lo, hi) read voltages, V")
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo <= hi):
            _fail(o, "poly_v_in_range", rng, "finite (lo, hi) with 0 <= lo <= hi, V")
        object.__setattr__(self, "poly_v_in_range", (lo, hi))
        tol = 1e-9  # V
        if self.cell_model == "poly" and not lo - tol <= self.v_read <= hi + tol:
            where = f"V_in = {lo:g} V" if lo == hi else f"V_in in [{lo:g}, {hi:g}] V"
            _fail(o, "v_read", self.v_read,
                  f"{where}, where poly_c_ua was fitted (poly_v_in_range); for another read "
                  f"voltage fit the cell there (gaincell.device.fit_cell, gaincell "
                  f"characterize) or use cell_model = 'table'")
        if self.cell_model == "table" and self.iv_table is None:
            _fail(o, "iv_table", None, "an IVTable when cell_model == 'table'")
        if self.iv_table is not None and not isinstance(self.iv_table, IVTable):
            _fail(o, "iv_table", type(self.iv_table).__name__, "an IVTable or None")
        if self.cell_model == "table":
            t_lo, t_hi = min(self.iv_table.v_in), max(self.iv_table.v_in)
            if not t_lo <= self.v_read <= t_hi:
                _fail(o, "v_read", self.v_read, f"[{t_lo:g}, {t_hi:g}] V, the read voltages "
                      f"of iv_table")
        for lv, lo, hi in (("q_levels", "q_lo", "q_hi"), ("kv_levels", "kv_lo", "kv_hi"),
                           ("out_levels", "out_lo", "out_hi")):
            _levels(o, lv, getattr(self, lv))
            _range(o, lo, getattr(self, lo), hi, getattr(self, hi))
        if self.q_lo < 0.0 or self.q_hi > 1.0:
            _fail(o, "q_lo/q_hi", (self.q_lo, self.q_hi), "a sub-range of [0, 1] (x t_max)")
        if self.kv_lo < 0.0 or self.kv_hi > self.vdd:
            _fail(o, "kv_lo/kv_hi", (self.kv_lo, self.kv_hi),
                  f"a sub-range of [0, vdd = {self.vdd}] V")
        for name, unit in (("sigma_gain_mismatch", ""), ("sigma_tau_mismatch", ""),
                           ("sigma_read_noise", "C"), ("sigma_write_noise", "V"),
                           ("sigma_comparator_offset", "C")):
            _nonneg(o, name, getattr(self, name), unit)
        if not isinstance(self.write_noise_ktc, bool):
            _fail(o, "write_noise_ktc", self.write_noise_ktc, "true or false")
        k = _real(o, "read_disturb_coupling", self.read_disturb_coupling)
        if not -1.0 <= k <= 1.0:
            _fail(o, "read_disturb_coupling", k, "[-1, 1] (fraction of the word-line swing)")
        tc = _real(o, "read_current_tempco", self.read_current_tempco)
        if not -0.05 <= tc <= 0.05:
            _fail(o, "read_current_tempco", tc, "[-0.05, 0.05] 1/K")
        if self.read_current_scale <= 0:
            _fail(o, "read_current_tempco", tc, f"a value that keeps the read current "
                  f"positive at temperature = {self.temperature} K")
        self._check_new_effects(o)

    def _check_new_effects(self, o: str) -> None:
        """Write pedestal, threshold mismatch and retention table."""
        c = self.write_pedestal_coef_v
        try:
            coef = tuple(float(x) for x in c)
        except (TypeError, ValueError):
            _fail(o, "write_pedestal_coef_v", c, "a list of numbers (V / V^i)")
        if len(coef) > 8 or not all(math.isfinite(x) for x in coef):
            _fail(o, "write_pedestal_coef_v", c, "at most 8 finite coefficients (V / V^i)")
        object.__setattr__(self, "write_pedestal_coef_v", coef)
        if coef:
            n = 65
            grid = [self.kv_lo + (self.kv_hi - self.kv_lo) * i / (n - 1) for i in range(n)]
            worst = max(abs(sum(ci * v**i for i, ci in enumerate(coef))) for v in grid)
            if worst > self.vdd:
                _fail(o, "write_pedestal_coef_v", c, f"a pedestal within +-vdd = {self.vdd} V "
                      f"over the DAC range [kv_lo, kv_hi] (it reaches {worst:.4g} V)")
        for name, hi, unit in (("sigma_vth_mismatch", None, "V"),
                               ("pelgrom_avt", 1e-6, "V m (1 mV um = 1e-9 V m)")):
            x = _real(o, name, getattr(self, name))
            if x < 0 or (hi is not None and x > hi):
                _fail(o, name, x, f">= 0 {unit}" if hi is None else f"[0, {hi:g}] {unit}")
        if self.sigma_vth_mismatch > 0 and self.pelgrom_avt > 0:
            _fail(o, "sigma_vth_mismatch/pelgrom_avt", (self.sigma_vth_mismatch,
                  self.pelgrom_avt), "one of them non-zero (the threshold spread is given "
                  "either as a sigma in V or by Pelgrom's A_VT with read_device_w x "
                  "read_device_l)")
        for name in ("read_device_w", "read_device_l"):
            x = _real(o, name, getattr(self, name))
            if not 0.0 < x <= 1e-3:
                _fail(o, name, x, "(0, 1e-3] m (1 um = 1e-6 m)")
        rt = self.retention_table
        if rt is not None and not isinstance(rt, RetentionTable):
            _fail(o, "retention_table", type(rt).__name__, "a RetentionTable or None")

    # -- derived quantities ------------------------------------------------------------------
    @property
    def stage1_sat_ua_tmax(self) -> float:
        """First-stage saturation charge in the paper's units (uA x t_max); preset 80."""
        return self.stage1_q_sat / (_UA * self.t_max)

    @property
    def stage2_sat_ua_tmax(self) -> float:
        """Second-stage full-scale charge in the paper's units (uA x t_max); preset 40."""
        return self.stage2_q_sat / (_UA * self.t_max)

    @property
    def write_noise_sigma(self) -> float:
        """Standard deviation of the noise on every stored voltage, V:
        ``sqrt(sigma_write_noise^2 + k_B T / c_store)`` with kT/C on, else
        ``sigma_write_noise``."""
        if not self.write_noise_ktc:
            return self.sigma_write_noise
        ktc = K_BOLTZMANN_J * self.temperature / self.c_store
        return math.sqrt(self.sigma_write_noise**2 + ktc)

    @property
    def read_disturb_v(self) -> float:
        """Storage-node shift during a read pulse, V:
        ``read_disturb_coupling (v_read - v_read_idle)``."""
        return self.read_disturb_coupling * (self.v_read - self.v_read_idle)

    @property
    def read_current_scale(self) -> float:
        """Factor on the read current at ``temperature``, ``1 + tc (T - t_ref)``."""
        return 1.0 + self.read_current_tempco * (self.temperature - self.t_ref)

    def noiseless(self) -> "DeviceParams":
        """The same device with every noise and mismatch off (the "clean" design that error
        studies compare against)."""
        return dataclasses.replace(self, write_noise_ktc=False, pelgrom_avt=0.0, **{
            f.name: 0.0 for f in fields(self) if f.name.startswith("sigma_")})

    @property
    def has_noise(self) -> bool:
        """True when any noise or mismatch (threshold mismatch included) is on."""
        return self.write_noise_ktc or self.vth_sigma > 0 or any(getattr(self, n) > 0 for n in (
            "sigma_gain_mismatch", "sigma_tau_mismatch", "sigma_read_noise",
            "sigma_write_noise", "sigma_comparator_offset"))

    @property
    def vth_sigma(self) -> float:
        """Standard deviation of the per-cell threshold offset of the read device, V:
        ``sigma_vth_mismatch``, or ``pelgrom_avt / sqrt(read_device_w read_device_l)``."""
        if self.pelgrom_avt > 0:
            return self.pelgrom_avt / math.sqrt(self.read_device_w * self.read_device_l)
        return self.sigma_vth_mismatch

    @property
    def has_pedestal(self) -> bool:
        """True when the write leaves a pedestal (a non-zero ``write_pedestal_coef_v``)."""
        return any(c != 0.0 for c in self.write_pedestal_coef_v)

    @classmethod
    def leroux2025(cls, **overrides: Any) -> "DeviceParams":
        """The device of Leroux et al. 2025 (every default above); keyword overrides."""
        return dataclasses.replace(cls(), **overrides)

    def replace(self, **changes: Any) -> "DeviceParams":
        """A copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    def scaled_to_vdd(self, vdd: float) -> "DeviceParams":
        """The same design at another supply: every voltage scaled by ``s = vdd / self.vdd``.

        Scaled: ``vdd``, ``v_weight_zero``, ``v_read``, ``v_read_idle``, ``v_rest``, ``kv_lo``,
        ``kv_hi``, ``poly_v_in_range``, the tables' voltage axes and the write pedestal
        (``p'(v) = s p(v / s)``); not the spreads (noise and threshold sigmas are device
        statistics, not design voltages). The cell is stretched over
        the new swing with the same currents at corresponding points (``C_ij / s^(i+j)``,
        ``linear_gain / s``), so the converters' saturation charges still fit the cell's
        current range. This is a coherent starting point, not a prediction of another cell:
        replace the cell by a characterization of yours (``gaincell characterize``).
        """
        _positive("DeviceParams.scaled_to_vdd", "vdd", vdd, "V")
        f = float(vdd) / self.vdd
        if f == 1.0:
            return self
        c = tuple(tuple(x / f ** (i + j) for j, x in enumerate(row))
                  for i, row in enumerate(self.poly_c_ua))
        table = self.iv_table
        if table is not None:
            table = IVTable(tuple(v * f for v in table.v_store), tuple(v * f for v in table.v_in),
                            table.i_out, (table.source + f"; voltages scaled x{f:g}").lstrip("; "))
        vdd = float(vdd)

        def sc(v: float) -> float:   # a voltage at the rail stays exactly at the rail
            return vdd if v == self.vdd else min(v * f, vdd)

        return dataclasses.replace(
            self, vdd=vdd, v_weight_zero=sc(self.v_weight_zero), v_read=sc(self.v_read),
            v_read_idle=sc(self.v_read_idle), v_rest=sc(self.v_rest), kv_lo=sc(self.kv_lo),
            kv_hi=sc(self.kv_hi), poly_c_ua=c,
            poly_v_in_range=tuple(sc(v) for v in self.poly_v_in_range),
            linear_gain_ua_per_v=self.linear_gain_ua_per_v / f, iv_table=table,
            write_pedestal_coef_v=tuple(c * f ** (1 - i)
                                        for i, c in enumerate(self.write_pedestal_coef_v)),
            retention_table=(None if self.retention_table is None
                             else self.retention_table.scaled_voltages(f)))


@dataclass(frozen=True)
class AttentionConfig:
    """One gain-cell attention layer: geometry, leakage rate and the device.

    Attributes
    ----------
    n_heads : int
        Attention heads per layer (each its own arrays). Preset 12 (GPT-2).
    head_dim : int
        Head dimension D: rows of the K array driven by the query, columns of the V array.
        Preset 64.
    window : int
        Sliding-window length W in tokens (ring-buffer columns per head). Preset 1024.
    array_rows : int
        Word lines per K sub-array (head-dimension rows). When ``head_dim > array_rows`` the
        K columns span several sub-arrays whose bit-line charges add. Preset 64.
    array_cols : int
        Tokens per sub-array (K columns, V rows); ``window`` must be a multiple of it. The
        second stage reads each sub-array with its own counter. Preset 64 (CODE, array_len).
    token_period : float or None
        Time between two writes of the same layer, s (layers x per-layer time for one token).
        With the device's retention it sets ``leak_per_step``. Preset 800 ns (the paper's
        code: 1.6e-4 x 5 ms). ``None`` when only ``leak_per_step`` is given and it is 0.
    leak_per_step : float
        dt / tau for one token step, dimensionless: the stored deviation is multiplied by
        ``exp(-leak_per_step)`` per token; 0 means no leakage. Derived as
        ``token_period / tau_at(device)`` (:func:`leak_per_step_for`) unless given
        explicitly, as an override. Giving both ``token_period`` and ``leak_per_step``
        inconsistently (relative difference > 1e-9) is an error naming both. Preset 1.6e-4
        (CODE, configs/ft_dram_gpt2.py), which 800 ns / 5 ms gives exactly. After
        construction both hold their resolved values; :meth:`replace` re-derives whichever
        was not given when the other, or the retention, changes.
    device : DeviceParams
        Cell, converters, quantizers and noise.
    """

    n_heads: int = 12
    head_dim: int = 64
    window: int = 1024
    array_rows: int = 64
    array_cols: int = 64
    token_period: float | None = None
    leak_per_step: float | None = None
    device: DeviceParams = field(default_factory=DeviceParams)
    #: which of token_period / leak_per_step the caller gave (the others are derived)
    _given: tuple = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        o = "AttentionConfig"
        _int_in(o, "n_heads", self.n_heads, 1, 4096)
        _int_in(o, "head_dim", self.head_dim, 1, 65536)
        _int_in(o, "array_rows", self.array_rows, 1, 65536)
        _int_in(o, "array_cols", self.array_cols, 1, 65536)
        _int_in(o, "window", self.window, 1, 2**24)
        if self.window % self.array_cols:
            _fail(o, "window", self.window,
                  f"a multiple of array_cols = {self.array_cols} (whole sub-arrays)")
        if not isinstance(self.device, DeviceParams):
            _fail(o, "device", type(self.device).__name__, "a DeviceParams")
        self._resolve_retention()

    def _resolve_retention(self) -> None:
        o = "AttentionConfig"
        tp, lk = self.token_period, self.leak_per_step
        given = tuple(n for n, v in (("token_period", tp), ("leak_per_step", lk))
                      if v is not None)
        if tp is not None:
            _positive(o, "token_period", tp, "s")
            tp = float(tp)
        if lk is not None:
            _nonneg(o, "leak_per_step", lk, "(dt / tau per token)")
            lk = float(lk)
        if tp is None and lk is None:
            tp = LEROUX2025_TOKEN_PERIOD_S
        if tp is not None:
            derived = leak_per_step_for(tp, self.device)
            if lk is None:
                lk = derived
            elif not math.isclose(lk, derived, rel_tol=1e-9, abs_tol=0.0):
                _fail(o, "leak_per_step", lk,
                      f"token_period / tau(T) = {tp:g} s / {tau_at(self.device):.6g} s = "
                      f"{derived:.6g} when token_period = {tp!r} s is also given (give one of "
                      f"leak_per_step and token_period, or consistent values)")
        elif lk > 0:
            tp = float(Decimal(repr(lk)) * Decimal(repr(tau_at(self.device))))
        object.__setattr__(self, "token_period", tp)
        object.__setattr__(self, "leak_per_step", lk)
        object.__setattr__(self, "_given", given)

    @property
    def n_subarrays(self) -> int:
        """Sub-arrays (tile pairs) per head along the window: window / array_cols."""
        return self.window // self.array_cols

    @property
    def n_row_tiles(self) -> int:
        """Sub-arrays stacked along the head dimension: ceil(head_dim / array_rows)."""
        return -(-self.head_dim // self.array_rows)

    @classmethod
    def leroux2025(cls, **overrides: Any) -> "AttentionConfig":
        """The GPT-2 attention layer of Leroux et al. 2025.

        Keyword overrides may name any field of this class or of :class:`DeviceParams`
        (e.g. ``window=2048, kv_levels=None, sigma_read_noise=1e-15``).
        """
        return cls().replace(**overrides)

    def replace(self, **changes: Any) -> "AttentionConfig":
        """A copy with fields changed; device fields may be named directly."""
        own = {f.name for f in fields(self)}
        dev_names = {f.name for f in fields(DeviceParams)}
        mine = {k: v for k, v in changes.items() if k in own}
        dev = {k: v for k, v in changes.items() if k in dev_names and k not in own}
        unknown = sorted(set(changes) - own - dev_names)
        if unknown:
            raise ValueError(
                f"unknown parameter(s) {unknown}: allowed AttentionConfig fields "
                f"{sorted(own)} or DeviceParams fields {sorted(dev_names)}")
        if dev:
            mine["device"] = dataclasses.replace(mine.get("device", self.device), **dev)
        # retention: keep what the caller gave before, re-derive the rest; a newly given
        # token_period or leak_per_step replaces the other unless both are given now
        keep = set(self._given)
        if "token_period" in changes and "leak_per_step" not in changes:
            keep.discard("leak_per_step")
        if "leak_per_step" in changes and "token_period" not in changes:
            keep.discard("token_period")
        for name in ("token_period", "leak_per_step"):
            if name not in changes and name not in keep:
                mine[name] = None
        return dataclasses.replace(self, **mine)

    # scikit-learn style parameter access for sweeps
    def get_params(self) -> dict[str, Any]:
        """All parameters as a flat dict (device fields included)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name != "device" and f.init}
        d.update({f.name: getattr(self.device, f.name) for f in fields(DeviceParams)})
        return d

    def to_dict(self) -> dict[str, Any]:
        """Nested plain-data dict (TOML-ready: None values are omitted on save)."""
        return _to_plain(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> "AttentionConfig":
        """Build from a nested dict as written by :meth:`to_dict`; unknown keys are errors."""
        return _from_plain(data, source)


def field_docs(cls) -> dict[str, str]:
    """``name -> text`` of every field documented in the ``Attributes`` section of a
    NumPy-style class docstring (entries naming several fields share their text)."""
    doc = (cls.__doc__ or "").expandtabs()
    lines = doc.splitlines()
    try:
        start = next(i for i, ln in enumerate(lines) if ln.strip() == "Attributes") + 2
    except StopIteration:
        return {}
    out: dict[str, str] = {}
    names: list[str] = []
    body: list[str] = []

    def flush() -> None:
        text = " ".join(body).strip()
        for n in names:
            out[n] = text

    for ln in lines[start:]:
        if not ln.strip():
            continue
        indent = len(ln) - len(ln.lstrip())
        if indent <= 4 and " : " in ln:
            flush()
            names = [n.strip() for n in ln.split(" : ")[0].split(",")]
            body = []
        elif indent > 4:
            body.append(ln.strip())
        else:
            break
    flush()
    return out


# --------------------------------------------------------------------------------------------
# Retention in time and temperature
# --------------------------------------------------------------------------------------------


def tau_at(device: DeviceParams) -> float:
    """Retention time constant at the device's temperature, s.

    ``tau(T) = tau exp(E_a / k (1/T - 1/t_ref))`` (Arrhenius), with ``tau`` given at
    ``t_ref``; exactly ``tau`` when ``temperature == t_ref``.
    """
    if not isinstance(device, DeviceParams):
        raise ValueError(f"device must be a DeviceParams, got {type(device).__name__}")
    if device.temperature == device.t_ref or device.leak_activation_energy == 0.0:
        return float(device.tau)
    x = device.leak_activation_energy / K_BOLTZMANN_EV * (1.0 / device.temperature
                                                          - 1.0 / device.t_ref)
    return float(device.tau * math.exp(x))


def leak_per_step_for(token_period: float, retention: "DeviceParams | float") -> float:
    """Leak per token step, ``token_period / tau``, dimensionless.

    ``retention`` is a :class:`DeviceParams` (its tau at its temperature, :func:`tau_at`) or
    a time constant tau in s. ``token_period`` in s, >= 0. The quotient is taken of the two
    values' shortest decimal representations and rounded once (``decimal``), so that decimal
    inputs give their decimal quotient: the preset's 800 ns / 5 ms is 1.6e-4 exactly, as in
    the paper's code, where the binary quotient is one unit in the last place below it.
    """
    o = "leak_per_step_for"
    _nonneg(o, "token_period", token_period, "s")
    if isinstance(retention, DeviceParams):
        tau = tau_at(retention)
    else:
        _positive(o, "tau", retention, "s")
        tau = float(retention)
    return float(Decimal(repr(float(token_period))) / Decimal(repr(tau)))


# --------------------------------------------------------------------------------------------
# TOML (de)serialisation
# --------------------------------------------------------------------------------------------

_NONE = "none"  # TOML has no null: levels = "none" means no quantization


def _to_plain(cfg: AttentionConfig) -> dict[str, Any]:
    att = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name != "device" and f.init}
    given = cfg._given or ("token_period",)
    for name in ("token_period", "leak_per_step"):   # what the design gave, not what follows
        if name not in given or att[name] is None:
            del att[name]
    dev: dict[str, Any] = {}
    for f in fields(DeviceParams):
        v = getattr(cfg.device, f.name)
        if f.name == "iv_table":
            if v is not None:
                dev["iv_table"] = {"v_store": list(v.v_store), "v_in": list(v.v_in),
                                   "i_out": [list(r) for r in v.i_out], "source": v.source}
            continue
        if f.name == "retention_table":
            if v is not None:
                dev["retention_table"] = {"t_s": list(v.t_s), "v0": list(v.v0),
                                          "v": [list(r) for r in v.v], "t_ref": v.t_ref,
                                          "source": v.source}
            continue
        if f.name == "write_pedestal_coef_v":
            v = list(v)
        if f.name == "poly_c_ua":
            v = [list(r) for r in v]
        if f.name == "poly_v_in_range":
            v = list(v)
        dev[f.name] = _NONE if v is None else v
    return {"attention": att, "device": dev}


def _from_plain(data: dict[str, Any], source: str) -> AttentionConfig:
    if not isinstance(data, dict):
        raise ValueError(f"{source}: expected a table with [attention] and [device]")
    # [system] belongs to the system layer (gaincell.system.load_design reads it); a design
    # file carries it beside the attention and device tables.
    unknown = sorted(set(data) - {"attention", "device", "meta", "system"})
    if unknown:
        raise ValueError(f"{source}: unknown table(s) {unknown}: allowed 'attention', "
                         f"'device', 'system', 'meta'")
    att, dev = data.get("attention", {}), data.get("device", {})
    for table, value in (("attention", att), ("device", dev)):
        if not isinstance(value, dict):
            raise ValueError(f"{source}: [{table}] = {value!r}: allowed a table of key = value")
    att, dev = dict(att), dict(dev)
    att_names = {f.name for f in fields(AttentionConfig) if f.init} - {"device"}
    dev_names = {f.name for f in fields(DeviceParams)}
    for table, keys, allowed in (("attention", att, att_names), ("device", dev, dev_names)):
        bad = sorted(set(keys) - allowed)
        if bad:
            raise ValueError(f"{source}: unknown key(s) {bad} in [{table}]: allowed "
                             f"{sorted(allowed)}")
    for k in ("q_levels", "kv_levels", "out_levels"):
        if isinstance(dev.get(k), str):
            if dev[k].lower() != _NONE:
                raise ValueError(f"{source}: [device] {k} = {dev[k]!r}: allowed an integer "
                                 f">= 2 or \"none\"")
            dev[k] = None
    if "iv_table" in dev:
        t = dev["iv_table"]
        if not isinstance(t, dict) or not {"v_store", "v_in", "i_out"} <= set(t):
            raise ValueError(f"{source}: [device.iv_table] needs v_store, v_in and i_out")
    if "retention_table" in dev:
        t = dev["retention_table"]
        if not isinstance(t, dict) or not {"t_s", "v0", "v"} <= set(t):
            raise ValueError(f"{source}: [device.retention_table] needs t_s, v0 and v")
        bad = sorted(set(t) - {"t_s", "v0", "v", "t_ref", "source"})
        if bad:
            raise ValueError(f"{source}: unknown key(s) {bad} in [device.retention_table]: "
                             f"allowed t_s, v0, v, t_ref, source")
    try:
        if "retention_table" in dev:
            t = dev["retention_table"]
            dev["retention_table"] = RetentionTable(
                t["t_s"], t["v0"], t["v"], t.get("t_ref", LEROUX2025_T_REF_K),
                t.get("source", ""))
        if "iv_table" in dev:
            t = dev["iv_table"]
            dev["iv_table"] = IVTable(t["v_store"], t["v_in"], t["i_out"], t.get("source", ""))
        device = DeviceParams(**dev)
        return AttentionConfig(**att, device=device)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{source}: {e}") from None


def load_toml(path: str | os.PathLike) -> AttentionConfig:
    """Read an :class:`AttentionConfig` from a TOML design file.

    Missing keys take the ``leroux2025`` defaults. Errors name the file and the key.
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such design file") from None
    except OSError as e:
        raise ValueError(f"{path}: cannot read the design file ({e.strerror or e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"{path}: not valid TOML ({e})") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{path}: not UTF-8 text (byte {e.start}: {e.reason}): a design "
                         f"file is UTF-8 TOML") from None
    return _from_plain(data, str(path))


_TOML_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def _toml_string(v: str) -> str:
    """``v`` as a TOML basic string: quotes, backslashes and every control character
    (U+0000-U+001F, U+007F) escaped, so any text reads back unchanged. Lone surrogates (not
    Unicode scalar values, not representable in TOML or UTF-8) raise ``ValueError``."""
    out = []
    for ch in v:
        if ch in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        elif 0xD800 <= ord(ch) <= 0xDFFF:
            raise ValueError(f"string {v[:40]!r} contains a lone surrogate U+{ord(ch):04X}: "
                             f"allowed Unicode scalar values only")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    """A TOML key: bare when it is ``[A-Za-z0-9_-]+``, else a quoted basic string."""
    k = str(k)
    if k and all(c.isascii() and (c.isalnum() or c in "_-") for c in k):
        return k
    return _toml_string(k)


def _toml_value(v: Any) -> str:
    """One value as TOML: bools, integers and reals (Python or NumPy), strings, lists."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps_toml(cfg: AttentionConfig) -> str:
    """The TOML text of a configuration (round-trips through :func:`load_toml`)."""
    d = _to_plain(cfg)
    out = ["# gaincell design file (SI units unless the key names its unit)", "",
           "[attention]"]
    out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d["attention"].items()]
    out += ["", "[device]"]
    table = d["device"].pop("iv_table", None)
    rtable = d["device"].pop("retention_table", None)
    out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in d["device"].items()]
    if table is not None:
        out += ["", "[device.iv_table]"]
        out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in table.items()]
    if rtable is not None:
        out += ["", "[device.retention_table]"]
        out += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in rtable.items()]
    return "\n".join(out) + "\n"


def save_toml(cfg: AttentionConfig, path: str | os.PathLike) -> Path:
    """Write a configuration as TOML atomically (temporary file, then rename)."""
    from gaincell._io import atomic_write_text

    return atomic_write_text(path, dumps_toml(cfg))
