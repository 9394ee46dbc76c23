"""Validation of the behavioural model against ngspice, each with a measured error and a budget.

=================  ===========================================================  ============
check              measured error                                               budget
=================  ===========================================================  ============
cell               max |I_spice - I_fit| over random V_store at v_read,          2 % of full-
                   over the full-scale current |I| max of the sweep              scale current
column             max |Q_spice - Q_model| over >= 20 random columns of 64       2 % of full
                   cells (random V_store, random 16-level PWM inputs), over      scale
                   64 x I_fs x T_max
charge-to-pulse    max |T_spice - T_model| over random charges in the zero,      2 % of T_max
                   linear and saturated regions (first stage), and over random
                   signed charges (second stage, pulse before the counter)
tile               max |y_spice - y_model| of an 8 x 8 K array -> converters ->  1 output LSB
                   8 x 8 V array -> signed readout, vs GainCellAttention with
                   the fitted cell, in output LSB (2 / (out_levels - 1))
=================  ===========================================================  ============

Random cases are drawn from ``numpy.random.default_rng(seed)``; the same seed gives the same
cases. Each function returns a :class:`Check` holding the measured error, the budget, the
raw data for the report's figures and the SPICE and behavioural wall times (the speed ratio
is reported, never asserted).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from gaincell.device.quantize import quantize
from gaincell.device.readout import hardsigmoid
from gaincell.device.transfer import CellTransfer
from gaincell.params import AttentionConfig, DeviceParams
from gaincell.spice.benches import (
    CF_COLUMN,
    c2p_bench,
    c2p_signed_bench,
    column_bench,
    column_written_bench,
    tile_bench,
    tile_written_bench,
)
from gaincell.spice.netlist import CircuitKit, Netlist
from gaincell.spice.netlist import spice_number as sn
from gaincell.spice.runner import DEFAULT_TIMEOUT_S, simulate, simulate_many

__all__ = ["Check", "BUDGETS", "cell_points_bench", "validate_cell", "validate_column",
           "validate_c2p", "validate_tile", "tile_config"]

#: Error budgets: fractions of the stated full scale, or output LSB for the tile.
BUDGETS = {"cell": 0.02, "column": 0.02, "c2p": 0.02, "tile": 1.0}


@dataclass
class Check:
    """One validation result.

    Attributes
    ----------
    name : str
        ``"cell"``, ``"column"``, ``"c2p"`` or ``"tile"``.
    error : float
        The measured error in the unit of ``budget`` (fraction of full scale, or LSB).
    budget : float
        The allowed error.
    unit : str
        What ``error`` and ``budget`` are measured in.
    n_cases : int
        Number of random cases.
    spice_s, model_s : float
        Wall time of the SPICE runs (summed over runs: the serial equivalent, process start
        included) and of the behavioural model for the same work (best of repeats), s.
    data : dict
        Arrays for the report (``spice``, ``model`` and more, per check).
    notes : str
        What was compared, in one sentence.
    netlists : list of Netlist
        The decks that were run (written to the report's ``netlists/`` folder).
    errors : numpy.ndarray or None
        Every signed error (SPICE - model) in ``unit``; the summary gives its distribution.
    signal : float
        Range of the measured signal (max |SPICE value|) in ``signal_unit``; a check whose
        signal is below ``signal_floor`` FAILS whatever its error (a dead cell or an all-noise
        signal cannot pass a budget).
    condition : str
        Corner and temperature of the SPICE runs.
    """

    name: str
    error: float
    budget: float
    unit: str
    n_cases: int
    spice_s: float
    model_s: float
    data: dict = field(default_factory=dict)
    notes: str = ""
    netlists: list = field(default_factory=list)
    errors: np.ndarray | None = None
    signal: float = float("inf")
    signal_floor: float = 0.0
    signal_unit: str = ""
    condition: str = ""

    @property
    def signal_ok(self) -> bool:
        return bool(self.signal > self.signal_floor)  # NaN fails

    @property
    def passed(self) -> bool:
        return bool(self.error <= self.budget and self.signal_ok)

    def distribution(self) -> dict:
        """mean, rms, max |error| and the fraction of exact outputs (|e| < 0.5 for LSB
        checks, else the fraction within a tenth of the budget), in ``unit``."""
        e = np.asarray(self.errors if self.errors is not None else [self.error], float).ravel()
        tol = 0.5 if self.unit == "output LSB" else 0.1 * self.budget
        return {"mean": float(e.mean()), "rms": float(np.sqrt(np.mean(e**2))),
                "max": float(np.abs(e).max()), "fraction_exact": float(np.mean(np.abs(e) < tol)),
                "n": int(e.size), "exact_means": f"|error| < {tol:g} {self.unit}"}

    @property
    def speed_ratio(self) -> float:
        """SPICE time over behavioural time for the same work (how much faster the model is)."""
        return self.spice_s / max(self.model_s, 1e-9)

    def summary(self) -> dict:
        """Plain-data summary (for JSON)."""
        return {"name": self.name, "error": self.error, "budget": self.budget,
                "unit": self.unit, "passed": self.passed, "n_cases": self.n_cases,
                "spice_s": self.spice_s, "model_s": self.model_s,
                "speed_ratio": self.speed_ratio, "notes": self.notes,
                "distribution": self.distribution(), "condition": self.condition,
                "signal": float(self.signal) if np.isfinite(self.signal) else None,
                "signal_floor": self.signal_floor,
                "signal_unit": self.signal_unit,
                "signal_ok": self.signal_ok,
                "extra": {k: v for k, v in self.data.items()
                          if isinstance(v, (bool, int, float, str))}}


def _timed(fn, repeat: int = 5):
    """Run ``fn`` ``repeat`` times; returns (last result, best wall time in s)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def cell_points_bench(v_store, device: DeviceParams | None = None,
                      kit: CircuitKit | None = None) -> Netlist:
    """Operating point of one cell per ``v_store`` (V) at ``v_in = device.v_read``.

    Each cell's storage node is set through its own write path (write word line boosted).
    Vectors ``i(vbl<k>)``: read current INTO the bit line, A.
    """
    from gaincell.spice.benches import _cell, _check_grid, _header

    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    vs = _check_grid("v_store", v_store, 0.0, device.vdd)
    lines = _header("cell read current at random storage voltages", kit, device)
    lines += [f"vwwl wwl 0 {sn(kit.v_wwl_high)}", f"vrwl rwl 0 {sn(device.v_read)}",
              f"vrwlb rwlb 0 {sn(device.vdd - device.v_read)}"]
    for k, v in enumerate(vs):
        lines += [f"vwbl{k} wbl{k} 0 {sn(v)}", f"vbl{k} bl{k} 0 {sn(device.v_weight_zero)}",
                  _cell(f"c{k}", "wwl", f"wbl{k}", "rwl", "rwlb", f"bl{k}", f"sn{k}", kit)]
    lines += [".op", ".end"]
    return Netlist("\n".join(lines) + "\n", "cell_points.cir",
                   [f"i(vbl{k})" for k in range(vs.size)], {"v_store": vs.tolist()})


def _cond(kit) -> str:
    kit = kit or CircuitKit.default()
    return f"{kit.name} {kit.corner} {kit.temp_c:g}C"


def validate_cell(device: DeviceParams, full_scale: float, seed: int = 0, n_points: int = 40,
                  kit: CircuitKit | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                  backend: str = "auto") -> Check:
    """SPICE read current at ``n_points`` random V_store (uniform on [0, vdd]) vs the fitted
    model ``device`` (its ``cell_model``), relative to ``full_scale`` (A)."""
    rng = np.random.default_rng(seed)
    vs = np.sort(rng.uniform(0.0, device.vdd, n_points))
    nl = cell_points_bench(vs, device, kit)
    r = simulate(nl, timeout_s, backend)
    i_sp = np.array([r[v][0] for v in nl.vectors])
    tr = CellTransfer(device)
    i_mod, t_mod = _timed(lambda: tr.current(vs))
    from gaincell.device.fit import MIN_FULL_SCALE_A

    fs = max(float(full_scale), MIN_FULL_SCALE_A)
    e = (i_sp - i_mod) / fs
    return Check("cell", float(np.abs(e).max()), BUDGETS["cell"],
                 "fraction of full-scale current", n_points, r.wall_s, t_mod,
                 {"v_store": vs, "spice": i_sp, "model": i_mod, "full_scale": fs},
                 f"read current at V_in = {device.v_read} V, {n_points} random V_store, "
                 f"{device.cell_model} cell model" + (
                     " (a DC point of the characterized sweep, interpolated: close to a "
                     "self-check; the written column and tile are the independent checks)"
                     if device.cell_model == "table" else ""), [nl], errors=e,
                 signal=float(np.abs(i_sp).max()), signal_floor=MIN_FULL_SCALE_A,
                 signal_unit="A", condition=_cond(kit))


def validate_column(device: DeviceParams, full_scale_current: float, seed: int = 0,
                    n_cases: int = 20, n_cells: int = 64, kit: CircuitKit | None = None,
                    timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "auto",
                    workers: int | None = None, progress: bool = False) -> Check:
    """Transient bit-line charge of ``n_cases`` random columns vs ``sum_i I(V_i) t_i``.

    V_store uniform on [0, vdd] (analog), pulse widths on the device's PWM grid. Full scale
    is ``n_cells * full_scale_current * t_max`` (C).
    """
    rng = np.random.default_rng(seed)
    levels = device.q_levels or 16
    cases = [(rng.uniform(0.0, device.vdd, n_cells),
              rng.integers(0, levels, n_cells) / (levels - 1)) for _ in range(n_cases)]
    nls = [column_bench(v, p, device, kit) for v, p in cases]
    for i, n in enumerate(nls):
        n.name = f"column_{i:02d}.cir"
    res = simulate_many(nls, timeout_s, backend, workers, progress="column" if progress else False)
    t_sp = sum(r.wall_s for r in res)
    q_sp = np.array([-CF_COLUMN * (r["v(vo)"][-1] - r["v(vo)"][0]) for r in res])
    tr = CellTransfer(device)
    vs_all = np.stack([c[0] for c in cases])
    pw_all = np.stack([c[1] for c in cases])
    q_mod, t_mod = _timed(lambda: np.sum(tr.current(vs_all) * pw_all, axis=1) * device.t_max)
    fs = n_cells * full_scale_current * device.t_max
    err = np.abs(q_sp - q_mod) / fs
    wave = {"t": res[0].scale, "vo": res[0]["v(vo)"]}
    return Check("column", float(err.max()), BUDGETS["column"], "fraction of column full scale",
                 n_cases, t_sp, t_mod,
                 {"spice": q_sp, "model": q_mod, "full_scale": fs, "wave": wave},
                 f"{n_cases} random columns of {n_cells} cells, ideal integrator at VDD/2", nls,
                 errors=(q_sp - q_mod) / fs, condition=_cond(kit))


def validate_c2p(device: DeviceParams, seed: int = 0, n_per_region: int = 8,
                 kit: CircuitKit | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                 backend: str = "auto") -> Check:
    """First-stage pulse width vs charge (zero, linear, saturated regions: ``n_per_region``
    random charges each) and second-stage signed pulse vs charge, vs the behavioural readout.

    Error: max |pulse_spice - pulse_model| / T_max over both stages. The second stage's
    counter output is compared too (``data["count_error_lsb"]``, informative).
    """
    rng = np.random.default_rng(seed)
    qs1 = device.stage1_q_sat
    q1 = np.concatenate([rng.uniform(-0.5, 0.0, n_per_region), rng.uniform(0.0, 1.0, n_per_region),
                         rng.uniform(1.0, 2.0, n_per_region)]) * qs1
    qs2 = device.stage2_q_sat
    q2 = rng.uniform(-1.5, 1.5, 3 * n_per_region) * qs2
    nl1, nl2 = c2p_bench(q1, device, kit), c2p_signed_bench(q2, device, kit)
    r1, r2 = simulate_many([nl1, nl2], timeout_s, backend)
    t_sp = r1.wall_s + r2.wall_s
    phi_sp = np.array([r1[f"v(acc{k})"][-1] for k in range(q1.size)])
    step = (device.out_hi - device.out_lo) / (device.out_levels - 1)
    acc2 = np.array([r2[f"v(acc{k})"][-1] for k in range(q2.size)])
    cnt2 = np.array([r2[f"v(cnt{k})"][-1] for k in range(q2.size)])
    pulse2_sp = acc2 * step  # signed pulse width / T_max

    def model():
        return (hardsigmoid(q1, qs1), np.clip(q2 / qs2, -1.0, 1.0),
                quantize(q2 / qs2, device.out_lo, device.out_hi, device.out_levels))

    (phi_mod, pulse2_mod, out_mod), t_mod = _timed(model)
    e1 = np.abs(phi_sp - phi_mod)
    e2 = np.abs(pulse2_sp - pulse2_mod)
    count_err = np.abs(cnt2 * step - out_mod) / step
    wave = {"t": r1.scale, "g": r1[f"v(g{n_per_region + 1})"]}
    return Check("c2p", float(max(e1.max(), e2.max())), BUDGETS["c2p"], "fraction of T_max",
                 q1.size + q2.size, t_sp, t_mod,
                 {"q1": q1, "phi_spice": phi_sp, "phi_model": phi_mod, "q2": q2,
                  "pulse2_spice": pulse2_sp, "pulse2_model": pulse2_mod,
                  "count_spice": cnt2, "out_model": out_mod,
                  "count_error_lsb": count_err, "stage1_error": e1, "stage2_error": e2,
                  "wave": wave},
                 "first stage: zero / linear / saturated regions; second stage: signed pulse "
                 "and counter", [nl1, nl2],
                 errors=np.concatenate([phi_sp - phi_mod, pulse2_sp - pulse2_mod]),
                 condition=_cond(kit))


def tile_config(device: DeviceParams, n: int = 8, stage1_sat_ua_tmax: float = 15.0,
                stage2_sat_ua_tmax: float = 20.0) -> AttentionConfig:
    """The attention configuration of the validation tile: one head, head_dim = window =
    ``n``, one ``n x n`` sub-array, no leakage, the given device with saturation charges in
    uA x t_max (defaults sized for an 8-row tile of ~11 uA cells: assumption)."""
    ua_t = 1e-6 * device.t_max
    return AttentionConfig.leroux2025(
        n_heads=1, head_dim=n, window=n, array_rows=n, array_cols=n, leak_per_step=0.0,
        device=device.replace(stage1_q_sat=stage1_sat_ua_tmax * ua_t,
                              stage2_q_sat=stage2_sat_ua_tmax * ua_t))


def _draw_tile(rng, cfg: AttentionConfig):
    d = cfg.device
    n, D = cfg.window, cfg.head_dim
    q = rng.integers(0, d.q_levels or 16, D) / ((d.q_levels or 16) - 1)
    kv_levels = d.kv_levels or 8
    grid = np.round(np.linspace(0, kv_levels - 1, kv_levels)) * (d.kv_hi - d.kv_lo) / (
        kv_levels - 1) + d.kv_lo
    k = grid[rng.integers(0, kv_levels, (n, D))]
    v = grid[rng.integers(0, kv_levels, (n, D))]
    return q, k, v


def validate_tile(device: DeviceParams, seed: int = 0, n_cases: int = 8, n: int = 8,
                  kit: CircuitKit | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
                  backend: str = "auto", workers: int | None = None,
                  progress: bool = False) -> Check:
    """End-to-end tile (``n x n`` K array -> converters -> ``n x n`` V array -> signed readout)
    vs :class:`gaincell.GainCellAttention` with the same device, for the last query token of
    an ``n``-token sequence (every key in the window). Error in output LSB.

    Inputs are drawn on the converters' grids (16-level query PWM, 8-level K/V DAC), so the
    behavioural quantizers are exact and the comparison measures the analog path only.
    """
    from gaincell.array import GainCellAttention

    cfg = tile_config(device, n)
    rng = np.random.default_rng(seed)
    cases = [_draw_tile(rng, cfg) for _ in range(n_cases)]
    nls = [tile_bench(q, k, v, cfg.device, kit) for q, k, v in cases]
    for i, nl in enumerate(nls):
        nl.name = f"tile_{i:02d}.cir"
        nl.vectors += [f"v(g{j})" for j in range(n)] + [f"v(s{c})" for c in range(n)]
    res = simulate_many(nls, timeout_s, backend, workers, progress="tile" if progress else False)
    t_sp = sum(r.wall_s for r in res)
    d = cfg.device
    step = (d.out_hi - d.out_lo) / (d.out_levels - 1)
    y_sp = np.stack([[r[f"v(cnt{c})"][-1] * step for c in range(n)] for r in res])
    phi_sp = np.stack([[r[f"v(acc{j})"][-1] for j in range(n)] for r in res])
    attn = GainCellAttention(cfg, seed=0)

    def model():
        ys, phis = [], []
        for q, k, v in cases:
            qq = np.broadcast_to(q, (n, n))[None, None]  # the same query at every step
            y, t = attn.forward(qq, k[None, None], v[None, None], trace=True)
            ys.append(np.asarray(y)[0, 0, -1])
            phis.append(np.asarray(t.phi)[0, 0, -1])
        return np.stack(ys), np.stack(phis)

    (y_mod, phi_mod), t_mod = _timed(model, repeat=3)
    # compare counter codes (integers), not floats: y = code * step on both sides
    err_lsb = np.abs(np.round(y_sp / step) - np.round(y_mod / step))
    r0 = res[0]
    wave = {"t": r0.scale, "g": np.stack([r0[f"v(g{j})"] for j in range(n)]),
            "s": np.stack([r0[f"v(s{c})"] for c in range(n)])}
    return Check("tile", float(err_lsb.max()), BUDGETS["tile"], "output LSB", n_cases,
                 t_sp, t_mod,
                 {"spice": y_sp, "model": y_mod, "phi_spice": phi_sp, "phi_model": phi_mod,
                  "step": step, "wave": wave,
                  "stage1_sat_c": d.stage1_q_sat, "stage2_sat_c": d.stage2_q_sat},
                 f"{n}x{n} tile end to end vs GainCellAttention (fitted {d.cell_model} cell, "
                 f"no leakage), last query token", nls,
                 errors=(np.round(y_sp / step) - np.round(y_mod / step)).ravel(),
                 condition=_cond(kit))


# ---------------------------------------------------------------------------------------------
# checks on circuits the fit never saw: written through the write path, read several times
# ---------------------------------------------------------------------------------------------

#: Budgets of the written-column and written-tile checks (assumptions, stated against the
#: quantities that matter): the column's charge error as a fraction of the first stage's
#: saturation charge (2 % of Q_sat1 = 2 % of the HardSigmoid's input range), and the tile's
#: output error in output LSB (max 1 LSB).
BUDGETS_WRITTEN = {"column_written": 0.02, "tile_written": 1.0}
#: Smallest column signal a check accepts, fraction of Q_sat1 (an all-noise column fails).
SIGNAL_FLOOR_QSAT = 1e-3


def gaussian_levels(rng, shape, lo: float, hi: float, levels: int | None,
                    mean: float = 0.5, sigma: float = 1.0 / 6.0) -> np.ndarray:
    """Projection-like inputs: normal values of ``mean`` and ``sigma`` (fractions of the range;
    default: centred, +-3 sigma spanning ``[lo, hi]``) mapped onto ``[lo, hi]`` (clipped
    there), then rounded onto ``levels`` equally spaced levels (None = analog)."""
    return _on_grid(mean + sigma * rng.standard_normal(shape), lo, hi, levels)


def _on_grid(u, lo: float, hi: float, levels: int | None) -> np.ndarray:
    """Fractions ``u`` of a range, clipped to [0, 1] and rounded onto ``levels`` levels,
    mapped onto ``[lo, hi]``."""
    u = np.clip(np.asarray(u, float), 0.0, 1.0)
    if levels:
        u = np.round(u * (levels - 1)) / (levels - 1)
    return lo + u * (hi - lo)


#: Input statistics of the large written tile, fractions of each input's range: (mean, sigma)
#: of q (pulse width / T_max), k and v (stored level over the DAC range; 0.5 = weight zero).
#: Chosen (assumption) so that the gf180 cell's +-0.6 V dead band does not zero most cells,
#: the K columns' charges fall mostly between the HardSigmoid's rails (the keys lean positive,
#: as a trained scaler's offset does) and most outputs are non-zero codes; the report gives
#: the measured fractions.
TILE_INPUT_STATS = {"q": (0.5, 0.3), "k": (0.62, 0.3), "v": (0.5, 0.3)}
#: Largest time step of the split large tile, fraction of t_max (assumption: t_max / 100
#: moved phi by <= 1.7e-3 T_max against t_max / 300 on a 32-row K column group, measured, at
#: half the CPU time).
LARGE_TILE_MAX_STEP_DIV = 100
#: Column group of one ngspice process in the split tile (assumption: 8 columns).
TILE_GROUP = 8


def recorded_tile_inputs(n: int, n_reads: int, device: DeviceParams, path=None):
    """q (n_reads, n), k and v (n, n) on ``device``'s grids from the recorded q, k, v of the
    trained tiny model (``gaincell/data/spice_tile_qkv.npz``, made by
    ``scripts/record_spice_inputs.py``): the first ``n`` tokens and dimensions, the last
    ``n_reads`` tokens' queries; k, v mapped from the recording design's DAC range onto
    ``device``'s (the weight zero maps onto the weight zero), q clipped to [0, 1] as the
    hardware's PWM does; all rounded onto the grids."""
    import json
    from pathlib import Path

    p = Path(path) if path else Path(__file__).resolve().parents[1] / "data" / \
        "spice_tile_qkv.npz"
    if not p.is_file():
        raise FileNotFoundError(f"recorded tile inputs {p} are missing: regenerate them with "
                                f"`python scripts/record_spice_inputs.py`")
    with np.load(p, allow_pickle=False) as z:
        prov = json.loads(str(z["provenance_json"]))
        q, k, v = (np.asarray(z[x], float) for x in ("q", "k", "v"))
    t, dim = q.shape
    if not (1 <= n <= min(t, dim)) or not (1 <= n_reads <= n):
        raise ValueError(f"n = {n}, n_reads = {n_reads} are invalid for the recording of {t} "
                         f"tokens x {dim} dimensions: allowed 1 <= n_reads <= n <= {min(t, dim)}")
    lo, hi = prov["design_kv_lo_v"], prov["design_kv_hi_v"]
    ql, qh = prov["design_q_lo"], prov["design_q_hi"]
    d = device
    return (_on_grid((q[n - n_reads:n, :n] - ql) / (qh - ql), d.q_lo, d.q_hi, d.q_levels),
            _on_grid((k[:n, :n] - lo) / (hi - lo), d.kv_lo, d.kv_hi, d.kv_levels),
            _on_grid((v[:n, :n] - lo) / (hi - lo), d.kv_lo, d.kv_hi, d.kv_levels))


def dac_levels(targets, pedestal: tuple | None, vdd: float) -> np.ndarray:
    """DAC output for each target stored voltage: the target minus the characterized write
    pedestal at that level (``pedestal`` = (levels V, pedestal V) from the characterization;
    None = no correction), within [0, vdd]."""
    t = np.asarray(targets, float)
    if pedestal is None:
        return t
    lv, pd = (np.asarray(x, float) for x in pedestal)
    return np.clip(t - np.interp(t, lv, pd), 0.0, vdd)


def _stats_note(e) -> str:
    e = np.asarray(e).ravel()
    return f"mean {e.mean():+.3g}, rms {np.sqrt(np.mean(e**2)):.3g}, max {np.abs(e).max():.3g}"


def validate_column_written(device: DeviceParams, seed: int = 0, n_cases: int = 4,
                            n_cells: int = 64, n_reads: int = 3, kit: CircuitKit | None = None,
                            pedestal: tuple | None = None, c_bl: float = 0.0,
                            t_hold: float = 20e-9, timeout_s: float = DEFAULT_TIMEOUT_S,
                            backend: str = "auto", workers: int | None = None,
                            progress: bool = False, amplifier: dict | None = None) -> Check:
    """Columns written through the write path and read ``n_reads`` times, vs the model.

    Stored values and pulse widths are projection-like Gaussians on the design's K/V DAC and
    query PWM grids. SPICE: the charge each read integrates (writes with charge injection,
    coupling of the shared write bit line, leakage and read disturb between reads, bit-line
    capacitance). Model: ``sum_i I(V_i(t)) p_i t_max`` with ``I`` the design's cell model and
    ``V_i(t)`` the target relaxed with the design's tau and v_rest for the time since its
    write. Error: (SPICE - model) / stage1_q_sat. ``amplifier``: the integrator's macro-model
    parameters matched to the GF180 amplifier (None: ideal); SPICE's charge is the one on the
    feedback capacitor, ``-cf x (change of V_out - change of V_bl)``: what a finite-gain
    amplifier leaves on the bit line is lost to the measurement, as in the circuit.
    """
    from gaincell.device.leakage import relax

    rng = np.random.default_rng(seed)
    d = device
    qs1 = d.stage1_q_sat
    cases = []
    for _ in range(n_cases):
        tgt = gaussian_levels(rng, n_cells, d.kv_lo, d.kv_hi, d.kv_levels)
        pw = gaussian_levels(rng, (n_reads, n_cells), d.q_lo, d.q_hi, d.q_levels)
        cases.append((tgt, pw))
    nls = [column_written_bench(dac_levels(t, pedestal, d.vdd), p, d, kit, c_bl=c_bl,
                                t_hold=t_hold, amplifier=amplifier) for t, p in cases]
    for i, n in enumerate(nls):
        n.name = f"column_written_{i:02d}.cir"
        n.vectors = ["v(vo)", "v(bl)"]
    res = simulate_many(nls, timeout_s, backend, workers,
                        progress="column (written)" if progress else False)
    t_sp = sum(r.wall_s for r in res)
    q_sp = np.array([[-CF_COLUMN * (np.diff(np.interp(w, r.scale, r["v(vo)"]))[0]
                                    - np.diff(np.interp(w, r.scale, r["v(bl)"]))[0])
                      for w in nl.meta["reads"]] for nl, r in zip(nls, res)])
    tr = CellTransfer(d)

    def model():
        out = []
        for (tgt, pw), nl in zip(cases, nls):
            slot_end = np.array([b for _, b in nl.meta["write_slots"]])
            row = []
            for r, s in enumerate(nl.meta["starts"]):
                v = relax(tgt, s - slot_end, d.tau, d.v_rest)
                row.append(np.sum(tr.current(v) * pw[r]) * d.t_max)
            out.append(row)
        return np.array(out)

    q_mod, t_mod = _timed(model)
    e = (q_sp - q_mod) / qs1
    kit_ = kit or CircuitKit.default()
    integ = ("ideal integrator" if amplifier is None
             else "integrator on the macro-model of the GF180 amplifier")
    return Check("column_written", float(np.abs(e).max()), BUDGETS_WRITTEN["column_written"],
                 "fraction of stage1_q_sat", int(e.size), t_sp, t_mod,
                 {"spice": q_sp, "model": q_mod, "full_scale": qs1},
                 f"{n_cases} columns of {n_cells} cells written through the write path (DAC "
                 f"{'with' if pedestal is not None else 'without'} pedestal correction, "
                 f"{integ}), "
                 f"{n_reads} reads {t_hold * 1e9:g} ns apart, Gaussian inputs; error "
                 f"{_stats_note(e)} of Q_sat1", nls, errors=e,
                 signal=float(np.abs(q_sp).max() / qs1), signal_floor=SIGNAL_FLOOR_QSAT,
                 signal_unit="fraction of stage1_q_sat",
                 condition=_cond(kit_) + ("" if amplifier is None else ", amplifier macro-model"))


def tile_design(device: DeviceParams, n: int, design_rows: int = 64) -> AttentionConfig:
    """The validation tile's attention configuration: one head, head_dim = window = ``n``, one
    ``n x n`` sub-array, no leakage, and the design's saturation charges scaled by
    ``n / design_rows`` (the charge per row of the design point: a 64-row design's Q_sat on an
    ``n``-row tile; ``n = design_rows`` is the design point itself)."""
    if not (isinstance(n, int) and n >= 1):
        raise ValueError(f"n = {n!r} is invalid: allowed an integer >= 1")
    f = n / design_rows
    return AttentionConfig.leroux2025(
        n_heads=1, head_dim=n, window=n, array_rows=n, array_cols=n, leak_per_step=0.0,
        device=device.replace(stage1_q_sat=device.stage1_q_sat * f,
                              stage2_q_sat=device.stage2_q_sat * f))


def _counter(acc, margin: float = 0.01) -> np.ndarray:
    """The counter of ``circuits/c2p_signed.cir`` applied to a read's pulse integral (LSB)."""
    acc = np.asarray(acc, float)
    return np.where(acc >= 0, np.floor(acc + 0.5 + margin), -np.floor(0.5 + margin - acc))


def _read_delta(r, window, vec: str) -> float:
    return float(np.diff(np.interp(window, r.scale, r[vec]))[0])


def tile_cases(device: DeviceParams, n: int, n_reads: int, n_cases: int, seed: int,
               inputs: str = "gaussian") -> list:
    """(q (n_reads, n), k (n, n), v (n, n)) per case on ``device``'s grids.

    ``inputs``: ``"gaussian"`` (projection-like, :data:`TILE_INPUT_STATS`), ``"centred"``
    (centred Gaussians, +-3 sigma over each range) or ``"recorded"`` (the trained tiny model's
    q, k, v, :func:`recorded_tile_inputs`, with k and v's deviations from the weight zero
    doubled: the recording's 0.9 V cell has no dead band, the gf180 cell's +-0.6 V one would
    zero most of them; one case whatever ``n_cases``).
    """
    d = device
    rng = np.random.default_rng(seed)
    if inputs == "recorded":
        q, k, v = recorded_tile_inputs(n, n_reads, d)
        z, span = d.v_weight_zero, d.kv_hi - d.kv_lo
        k, v = (_on_grid((z + RECORDED_KV_GAIN * (x - z) - d.kv_lo) / span, d.kv_lo, d.kv_hi,
                         d.kv_levels) for x in (k, v))
        return [(q, k, v)]
    if inputs not in ("gaussian", "centred"):
        raise ValueError(f"inputs = {inputs!r} is invalid: allowed 'gaussian', 'centred' or "
                         f"'recorded'")
    st = TILE_INPUT_STATS if inputs == "gaussian" else {x: (0.5, 1 / 6) for x in "qkv"}
    cases = []
    for _ in range(n_cases):
        k = gaussian_levels(rng, (n, n), d.kv_lo, d.kv_hi, d.kv_levels, *st["k"])
        v = gaussian_levels(rng, (n, n), d.kv_lo, d.kv_hi, d.kv_levels, *st["v"])
        q = gaussian_levels(rng, (n_reads, n), d.q_lo, d.q_hi, d.q_levels, *st["q"])
        cases.append((q, k, v))
    return cases


#: Gain applied to the recorded k and v around the weight zero (assumption, see tile_cases).
RECORDED_KV_GAIN = 2.0


def validate_tile_written(device: DeviceParams, seed: int = 0, n_cases: int = 1, n: int = 16,
                          n_reads: int = 3, kit: CircuitKit | None = None,
                          pedestal: tuple | None = None, c_bl_per_cell: float = 0.0,
                          t_hold: float = 20e-9, timeout_s: float = 600.0,
                          backend: str = "auto", workers: int | None = None,
                          progress: bool = False, inputs: str = "gaussian",
                          split: bool | None = None, group: int = TILE_GROUP,
                          max_step_div: int | None = None) -> Check:
    """``n x n`` tiles written through the write path and read by ``n_reads`` query tokens,
    vs :class:`gaincell.GainCellAttention` built from ``device`` (:func:`tile_design`).

    Inputs: :func:`tile_cases` (``inputs``). The error is the output code difference in
    output LSB, over every output of every read. ``split`` (default: ``n > 16``) runs the tile
    as column groups of ``group`` columns, one ngspice process each (``workers`` at a time):
    the K groups first (:func:`~gaincell.spice.benches.tile_k_bench`), then the V groups
    replaying the first-stage pulses (:func:`~gaincell.spice.benches.tile_v_bench`); the two
    halves share only ideal drivers in the whole tile, so the split is exact up to the
    replayed samples (a test compares it with the whole tile). ``max_step_div``: largest time
    step t_max / div (default: :data:`~gaincell.spice.benches.TILE_MAX_STEP_DIV` whole,
    :data:`LARGE_TILE_MAX_STEP_DIV` split).
    """
    from gaincell.array import GainCellAttention
    from gaincell.spice.benches import TILE_MAX_STEP_DIV, pulse_wave, tile_k_bench, tile_v_bench

    if not (isinstance(group, int) and group >= 1):
        raise ValueError(f"group = {group!r} is invalid: allowed an integer >= 1")
    cfg = tile_design(device, n)
    d = cfg.device
    split = n > 16 if split is None else bool(split)
    div = max_step_div or (LARGE_TILE_MAX_STEP_DIV if split else TILE_MAX_STEP_DIV)
    cases = tile_cases(d, n, n_reads, n_cases, seed, inputs)
    dacs = [(dac_levels(k, pedestal, d.vdd), dac_levels(v, pedestal, d.vdd)) for _, k, v in cases]
    kw = {"c_bl_per_cell": c_bl_per_cell, "t_hold": t_hold, "max_step_div": div}
    bar = (lambda what: f"tile {n}x{n} ({what})") if progress else (lambda what: False)
    codes, phis = [], []
    t0 = time.perf_counter()
    if not split:
        nls = [tile_written_bench(q, kd, vd, d, kit, **kw) for (q, _, _), (kd, vd) in
               zip(cases, dacs)]
        for i, nl in enumerate(nls):
            nl.name = f"tile_written_{n}_{inputs}_{i:02d}.cir"
        res = simulate_many(nls, timeout_s, backend, workers, progress=bar("written"))
        t_sp = sum(r.wall_s for r in res)
        for nl, r in zip(nls, res):
            for w in nl.meta["reads"]:
                codes.append(_counter([_read_delta(r, w, f"v(sacc{c})") for c in range(n)]))
                phis.append([_read_delta(r, w, f"v(acc{j})") for j in range(n)])
    else:
        groups = [list(range(a, min(a + group, n))) for a in range(0, n, group)]
        knl = [tile_k_bench(q, kd, g, d, kit, **kw) for (q, _, _), (kd, _) in zip(cases, dacs)
               for g in groups]
        for i, nl in enumerate(knl):
            nl.name = f"tile_k_{n}_{inputs}_{i // len(groups):02d}_{i % len(groups):02d}.cir"
        rk = simulate_many(knl, timeout_s, backend, workers, progress=bar("K groups"))
        waves, vnl = [], []
        for ci, (_, vd) in enumerate(dacs):
            part = list(zip(knl[ci * len(groups):(ci + 1) * len(groups)],
                            rk[ci * len(groups):(ci + 1) * len(groups)]))
            wv = {j: pulse_wave(r.scale, r[f"v(g{j})"]) for nl, r in part
                  for j in nl.meta["tokens"]}
            waves.append([wv[j] for j in range(n)])
            reads = part[0][0].meta["reads"]
            for w in reads:
                ph = {j: _read_delta(r, w, f"v(acc{j})") for nl, r in part
                      for j in nl.meta["tokens"]}
                phis.append([ph[j] for j in range(n)])
            for g in groups:
                nl = tile_v_bench(waves[ci], vd, g, d, kit, n_reads=n_reads, **kw)
                nl.name = f"tile_v_{n}_{inputs}_{ci:02d}_{g[0] // group:02d}.cir"
                vnl.append(nl)
        rv = simulate_many(vnl, timeout_s, backend, workers, progress=bar("V groups"))
        for ci in range(len(cases)):
            part = list(zip(vnl[ci * len(groups):(ci + 1) * len(groups)],
                            rv[ci * len(groups):(ci + 1) * len(groups)]))
            for w in part[0][0].meta["reads"]:
                acc = {c: _read_delta(r, w, f"v(sacc{c})") for nl, r in part
                       for c in nl.meta["columns"]}
                codes.append(_counter([acc[c] for c in range(n)]))
        nls = knl + vnl
        res = rk + rv
        t_sp = sum(r.wall_s for r in res)
    wall = time.perf_counter() - t0
    step = (d.out_hi - d.out_lo) / (d.out_levels - 1)
    codes, phis = np.array(codes), np.array(phis)
    attn = GainCellAttention(cfg, seed=0)

    def model():
        ys, ph = [], []
        for q, k, v in cases:
            for qr in q:
                qq = np.broadcast_to(qr, (n, n))[None, None]
                y, t = attn.forward(qq, k[None, None], v[None, None], trace=True)
                ys.append(np.asarray(y)[0, 0, -1])
                ph.append(np.asarray(t.phi)[0, 0, -1])
        return np.stack(ys), np.stack(ph)

    (y_mod, phi_mod), t_mod = _timed(model, repeat=1)
    c_mod = np.round(y_mod / step)
    e = codes - c_mod
    kit_ = kit or CircuitKit.default()
    between = float(np.mean((phi_mod > 1e-9) & (phi_mod < 1 - 1e-9)))
    qs1 = d.stage1_q_sat
    return Check("tile_written", float(np.abs(e).max()), BUDGETS_WRITTEN["tile_written"],
                 "output LSB", int(e.size), t_sp, t_mod,
                 {"spice": codes * step, "model": y_mod, "phi_spice": phis, "phi_model": phi_mod,
                  "step": step, "stage1_sat_c": qs1, "stage2_sat_c": d.stage2_q_sat,
                  "wall_s": wall, "cpu_s": float(sum(r.cpu_s for r in res)), "n": n,
                  "split": split, "inputs": inputs,
                  "max_step_div": div, "decks": len(nls),
                  "phi_error_qsat1": (phis - phi_mod).ravel(),
                  "fraction_nonzero_model": float(np.mean(c_mod != 0)),
                  "fraction_phi_between_rails": between},
                 f"{len(cases)} tile(s) {n} x {n} written through the write path, {n_reads} query "
                 f"reads, {inputs} inputs, vs GainCellAttention (saturations x {n}/64)"
                 f"{f'; split into {len(nls)} column-group decks' if split else ''}, max step "
                 f"t_max/{div}; {int(np.sum(c_mod != 0))} of {e.size} model outputs non-zero, "
                 f"codes {int(c_mod.min())}..{int(c_mod.max())}, {100 * between:.0f} % of phi "
                 f"between the HardSigmoid's rails; phi error (= first-stage charge error in "
                 f"Q_sat1) {_stats_note(phis - phi_mod)}; wall {wall:.1f} s, ngspice CPU "
                 f"{sum(r.cpu_s for r in res):.1f} s", nls, errors=e,
                 signal=float(np.abs(phis).max()), signal_floor=SIGNAL_FLOOR_QSAT,
                 signal_unit="first-stage phi (T_max)",
                 condition=f"{_cond(kit_)}, {n}x{n}, {inputs} inputs")
