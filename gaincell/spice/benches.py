"""Test-bench builders: ngspice decks for the cell, column, converters and tile, from DeviceParams.

Each function returns a :class:`~gaincell.spice.netlist.Netlist` whose ``vectors`` are what the
characterization and validation code reads back. Voltages, times, charges are SI (V, s, C).
The sub-circuits come from ``circuits/`` through a :class:`~gaincell.spice.netlist.CircuitKit`
(generic model cards by default; a PDK and a user cell can be swapped in).

Conventions shared by the benches (see ``circuits/README.md``):

- read word lines: ``rwl = V_in``, ``rwlb = vdd - V_in``; idle at ``v_read_idle`` (VDD/2),
  ``v_read`` during an input pulse; pulse widths are measured at 50 % of the edge;
- bit lines sit at ``v_weight_zero`` (VDD/2) on an ideal integrator's virtual ground;
- storage nodes of read benches start from ``.ic`` initial conditions with the write word line
  low (the write transient is characterised separately by the retention bench);
- write word line high level ``V_WWL_HIGH`` (boosted, assumption) so the NMOS pass device writes
  the full 0..VDD range.
"""

from __future__ import annotations

import numpy as np

from gaincell.device.quantize import quantizer_step
from gaincell.params import DeviceParams
from gaincell.spice.netlist import CircuitKit, Netlist
from gaincell.spice.netlist import spice_number as sn

__all__ = ["cell_dc_bench", "retention_bench", "column_bench", "c2p_bench",
           "c2p_signed_bench", "tile_bench", "tile_written_bench", "tile_k_bench",
           "tile_v_bench", "pulse_wave", "V_WWL_HIGH", "T_EDGE", "pwl_pulse", "GMIN"]

#: Boosted write word-line level of the generic kit, V (assumption: a standard gain-cell write
#: boost of ~VDD + 0.5 V so the pass device's threshold does not clip the written voltage).
#: Each kit carries its own (``CircuitKit.v_wwl_high``; gf180: 5.0 V on a 6 V device).
V_WWL_HIGH = 1.8
#: Rise and fall time of every word-line and window edge, s (assumption: 20 ps drivers).
T_EDGE = 20e-12
#: Quiet time before the first pulse and between phases, s (assumption).
T_GAP = 1e-9
#: Integrator feedback capacitance of the column bench, F (assumption: keeps the ideal
#: integrator's output within a few volts for 64 cells at full scale).
CF_COLUMN = 10e-12
#: Integrator capacitance of the charge-to-pulse converters, F, and comparator resolution, V
#: (assumptions; the comparator's tanh gain settles the discharge in eps * cf / iref ~ 0.1 ns;
#: 0.5 mV instead of 2 mV moved phi by < 2e-3 and the outputs by < 0.1 LSB, at twice the
#: run time).
CF_C2P = 1e-12
EPS_C2P = 2e-3
#: Largest time step of the column bench as a fraction of t_max (assumption: the inputs are
#: piecewise constant, so ngspice's truncation-error control refines the edges; t_max / 30
#: changed a 64-cell column's charge by < 5e-5 relative to t_max / 300 or to 10-10^4 x
#: tighter tolerances, at half the run time).
MAX_STEP_DIV = 30
#: Largest time step of the tile bench as a fraction of t_max: the converters' pulse edges
#: need finer steps (t_max / 30 shifted phi by 3e-3 and the outputs by 0.03 LSB against
#: t_max / 300 and against tighter tolerances, which agree within 4e-4 of T_max).
TILE_MAX_STEP_DIV = 300
#: Simulator options for the transient benches (assumption: reltol 1e-3 with gear
#: integration; see MAX_STEP_DIV for the measured effect of tighter tolerances).
TRAN_OPTIONS = ".options reltol=1e-3 method=gear"
#: Junction/channel conductance ngspice adds in parallel to every device, S. ngspice's default
#: (1e-12 S) is a leakage of its own: on a 50 fF storage node it gives tau = C / gmin = 50 ms
#: (measured on the shipped cell), and on a GF180 write device 1.65 pA against its 10 fA
#: physical leakage. Every
#: bench sets 1e-18 S (the smallest that converged on every bench of both kits; measured:
#: 1e-20 S made the generic kit's converter decks fail to converge).
GMIN = 1e-18
GMIN_OPTIONS = f".options gmin={GMIN!r}"
#: Tolerances of the leakage and retention benches (assumption): ngspice's default current
#: tolerance (abstol = 1 pA) and charge tolerance (chgtol = 10 fC) are far above the fA
#: leakage of a storage node, so these benches resolve 1e-18 A and 1e-20 C.
LEAK_OPTIONS = ".options abstol=1e-18 chgtol=1e-20"
#: The retention transient keeps ngspice's default tolerances: abstol = 1e-18 A or
#: chgtol = 1e-20 C stalled its write transient ("timestep too small", measured); its
#: leakage-driven decay is cross-checked against the leakage operating point (C / I).


def _header(title: str, kit: CircuitKit, device: DeviceParams) -> list[str]:
    return [f"* gaincell bench: {title}",
            f"* device: vdd={device.vdd} V, v_read={device.v_read} V, "
            f"v_read_idle={device.v_read_idle} V, t_max={device.t_max} s",
            f"* kit: {kit.name}, corner {kit.corner}, {kit.temp_c:g} C",
            *kit.include_lines(),
            GMIN_OPTIONS, f".temp {sn(kit.temp_c)}",
            f".param vdd={sn(device.vdd)}"]


def _reset(device: DeviceParams) -> str:
    """Integrator reset: high until T_GAP / 2, released before the first input pulse."""
    t = T_GAP / 2
    return (f"vrst rst 0 pwl(0 {sn(device.vdd)} {sn(t)} {sn(device.vdd)} {sn(t + T_EDGE)} 0)")


def _cell(name: str, wwl: str, wbl: str, rwl: str, rwlb: str, bl: str, snode: str,
          kit: CircuitKit) -> str:
    extra = kit.cell_param_text()
    return f"x{name} {wwl} {wbl} {rwl} {rwlb} {bl} {snode} 0 {kit.cell_subckt}" + (
        f" {extra}" if extra else "")


def pwl_pulse(t_on: float, width: float, lo: float, hi: float, t_edge: float = T_EDGE) -> str:
    """PWL text of a trapezoidal pulse from ``lo`` to ``hi`` V starting at ``t_on`` s, ``width``
    s wide at 50 % (edges ``t_edge`` s); a width below ``t_edge`` gives a flat ``lo``."""
    if width < t_edge:
        return f"pwl(0 {sn(lo)})"
    pts = [(0.0, lo), (t_on - t_edge / 2, lo), (t_on + t_edge / 2, hi),
           (t_on + width - t_edge / 2, hi), (t_on + width + t_edge / 2, lo)]
    return "pwl(" + " ".join(f"{sn(t)} {sn(v)}" for t, v in pts) + ")"


def _check_grid(name: str, x, lo: float, hi: float) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.size == 0 or not np.isfinite(a).all() or a.min() < lo - 1e-12 or a.max() > hi + 1e-12:
        raise ValueError(f"{name} = {x!r} is invalid: allowed finite values in [{lo}, {hi}]")
    return a


def cell_dc_bench(v_store_points: int, v_in, device: DeviceParams | None = None,
                  kit: CircuitKit | None = None) -> Netlist:
    """DC read current over ``v_store_points`` storage voltages (0..vdd) x the ``v_in`` list.

    One cell instance per read voltage (its own ``rwl``/``rwlb``/bit-line sources); the storage
    node is set through the write path (write word line at ``V_WWL_HIGH``, write bit line
    swept by ``.dc``). Vectors ``i(vbl<k>)`` (A, current INTO the bit line) per ``v_in[k]``.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    if not (isinstance(v_store_points, int) and v_store_points >= 2):
        raise ValueError(f"v_store_points = {v_store_points!r} is invalid: allowed an integer >= 2")
    v_in = _check_grid("v_in", v_in, 0.0, device.vdd)
    lines = _header("cell DC sweep (V_store x V_in)", kit, device)
    lines += [f"vwwl wwl 0 {sn(kit.v_wwl_high)}", "vwbl wbl 0 0"]
    for k, vi in enumerate(v_in):
        lines += [f"vrwl{k} rwl{k} 0 {sn(vi)}", f"vrwlb{k} rwlb{k} 0 {sn(device.vdd - vi)}",
                  f"vbl{k} bl{k} 0 {sn(device.v_weight_zero)}",
                  _cell(f"c{k}", "wwl", "wbl", f"rwl{k}", f"rwlb{k}", f"bl{k}", f"sn{k}", kit)]
    step = device.vdd / (v_store_points - 1)
    lines += [f".dc vwbl 0 {sn(device.vdd + step / 2)} {sn(step)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "cell_dc.cir",
                   [f"i(vbl{k})" for k in range(v_in.size)],
                   {"v_in": v_in.tolist(), "v_store_points": v_store_points})


def retention_bench(v0, t_float: float, device: DeviceParams | None = None,
                    kit: CircuitKit | None = None, t_write: float = 2e-9) -> Netlist:
    """Write ``v0`` (V, one cell each) through the write path for ``t_write`` s, then float the
    storage nodes for ``t_float`` s (write word line 0 V, write bit line and read word lines idle
    at VDD/2). Vectors ``v(sn<k>)`` (V); time zero of the float phase is returned in ``meta``.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    v0 = _check_grid("v0", v0, 0.0, device.vdd)
    if not (t_float > 0 and np.isfinite(t_float)):
        raise ValueError(f"t_float = {t_float!r} is invalid: allowed > 0 s")
    idle = device.v_read_idle
    t_on, t_off = T_GAP, T_GAP + t_write
    lines = _header("retention (write, then float the storage node)", kit, device)
    lines += [f"vwwl wwl 0 {pwl_pulse(t_on, t_write, 0.0, kit.v_wwl_high)}",
              f"vrwl rwl 0 {sn(idle)}", f"vrwlb rwlb 0 {sn(device.vdd - idle)}",
              f"vbl bl 0 {sn(device.v_weight_zero)}"]
    for k, v in enumerate(v0):
        # the write bit line carries v0 during the write, then returns to VDD/2
        wbl = (f"pwl(0 {sn(v)} {sn(t_off + 2 * T_EDGE)} {sn(v)} "
               f"{sn(t_off + 4 * T_EDGE)} {sn(device.v_weight_zero)})")
        lines += [f"vwbl{k} wbl{k} 0 {wbl}",
                  _cell(f"c{k}", "wwl", f"wbl{k}", "rwl", "rwlb", "bl", f"sn{k}", kit)]
    t_end = t_off + t_float
    lines += [f".tran {sn(t_end / 2000)} {sn(t_end)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "retention.cir",
                   [f"v(sn{k})" for k in range(v0.size)],
                   {"v0": v0.tolist(), "t_float_start": t_off + 4 * T_EDGE, "t_end": t_end})


def column_bench(v_store, pulse, device: DeviceParams | None = None,
                 kit: CircuitKit | None = None, cf: float = CF_COLUMN) -> Netlist:
    """A bit-line column: ``len(v_store)`` cells on one bit line, PWM read word lines, integrator.

    ``v_store`` (V, in [0, vdd]) are the storage nodes' initial conditions; ``pulse`` (fraction
    of t_max, in [0, 1]) the read pulse widths, all starting together. The bit line is the
    virtual ground of an ideal integrator (``circuits/integrator.cir``) at ``v_weight_zero``.
    Vectors: ``v(vo)`` (integrator output, V; charge into the bit line = -cf * change of v(vo)).
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    vs = _check_grid("v_store", v_store, 0.0, device.vdd)
    pw = _check_grid("pulse", pulse, 0.0, 1.0)
    if vs.shape != pw.shape or vs.ndim != 1:
        raise ValueError(f"v_store shape {vs.shape} and pulse shape {pw.shape} are invalid: "
                         f"allowed equal 1-D shapes")
    hi, lo = device.v_read, device.v_read_idle
    lines = _header(f"bit-line column of {vs.size} cells, PWM inputs, integrator", kit, device)
    lines += [TRAN_OPTIONS, "vwwl wwl 0 0", f"vwbl wbl 0 {sn(device.v_weight_zero)}",
              f"vref vref 0 {sn(device.v_weight_zero)}", _reset(device),
              f"xint bl vo vref rst gc_integrator cf={sn(cf)} vdd={sn(device.vdd)}"]
    ics = []
    for k in range(vs.size):
        w = pw[k] * device.t_max
        lines += [f"vr{k} rwl{k} 0 {pwl_pulse(T_GAP, w, lo, hi)}",
                  f"vrb{k} rwlb{k} 0 {pwl_pulse(T_GAP, w, device.vdd - lo, device.vdd - hi)}",
                  _cell(f"c{k}", "wwl", "wbl", f"rwl{k}", f"rwlb{k}", "bl", f"sn{k}", kit)]
        ics.append(f"v(sn{k})={sn(vs[k])}")
    for i in range(0, len(ics), 8):
        lines.append(".ic " + " ".join(ics[i:i + 8]))
    t_end = 2 * T_GAP + device.t_max
    lines += [f".tran {sn(device.t_max / 1500)} {sn(t_end)} 0 {sn(device.t_max / MAX_STEP_DIV)}",
              ".end"]
    return Netlist("\n".join(lines) + "\n", "column.cir", ["v(vo)"],
                   {"cf": cf, "n_cells": int(vs.size)})


def _window(t0: float, device: DeviceParams) -> str:
    return pwl_pulse(t0, device.t_max, 0.0, device.vdd)


def _input_charge_source(name: str, node: str, q: float, t0: float, width: float) -> str:
    amp = q / width
    return f"i{name} 0 {node} {pwl_pulse(t0, width, 0.0, amp)}"


def c2p_bench(charges, device: DeviceParams | None = None, kit: CircuitKit | None = None,
              cf: float = CF_C2P, eps: float = EPS_C2P) -> Netlist:
    """First-stage charge-to-pulse converters, one per input charge (C), side by side.

    Each converter receives its charge as a current pulse (``t_max`` wide) into its input,
    then converts while the enable window (``t_max``) is open. ``iref = stage1_q_sat / t_max``.
    Vectors: ``v(acc<k>)`` (pulse width / t_max) and ``v(g<k>)`` (the pulse, 0..1).
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    q = _charges(charges)
    iref = device.stage1_q_sat / device.t_max
    t_in, t_en, lines = _converter_prelude("charge-to-pulse converters (first stage)", kit,
                                           device)
    for k, qk in enumerate(q):
        lines += [_input_charge_source(f"in{k}", f"in{k}", qk, t_in, device.t_max),
                  f"xc2p{k} in{k} en vref rst g{k} rwl{k} rwlb{k} acc{k} gc_c2p cf={sn(cf)} "
                  f"iref={sn(iref)} eps={sn(eps)} vdd={sn(device.vdd)} "
                  f"tnorm={sn(device.t_max)}"]
    lines += _converter_tran(t_en, device)
    return Netlist("\n".join(lines) + "\n", "c2p.cir",
                   [f"v(acc{k})" for k in range(q.size)] + [f"v(g{k})" for k in range(q.size)],
                   {"charges": q.tolist(), "iref": iref, "t_enable": t_en})


def _charges(charges) -> np.ndarray:
    """Input charges (C) of a converter bench: a non-empty list of finite values."""
    q = np.asarray(charges, dtype=float).ravel()
    if q.size == 0 or not np.isfinite(q).all():
        raise ValueError(f"charges = {charges!r} is invalid: allowed a non-empty list of finite C")
    return q


def _converter_prelude(title: str, kit, device: DeviceParams):
    """Input time, enable time (s) and the deck's first lines (reference, reset, enable)."""
    t_in, t_en = T_GAP, 2 * T_GAP + device.t_max
    lines = _header(title, kit, device)
    lines += [TRAN_OPTIONS, f"vref vref 0 {sn(device.v_weight_zero)}", _reset(device),
              f"ven en 0 {_window(t_en, device)}"]
    return t_in, t_en, lines


def _converter_tran(t_en: float, device: DeviceParams) -> list[str]:
    """Transient analysis through the conversion window, then ``.end``."""
    t_end = t_en + device.t_max + T_GAP
    return [f".tran {sn(device.t_max / 1500)} {sn(t_end)} 0 {sn(device.t_max / 1500)}", ".end"]


def _tlsb(device: DeviceParams) -> float:
    if device.out_levels is None:
        raise ValueError("out_levels = None is invalid for the SPICE counter: allowed an "
                         "integer >= 2 (the counter needs a clock)")
    return device.t_max * quantizer_step(device.out_lo, device.out_hi, device.out_levels)


def c2p_signed_bench(charges, device: DeviceParams | None = None,
                     kit: CircuitKit | None = None, cf: float = CF_C2P,
                     eps: float = EPS_C2P) -> Netlist:
    """Signed second-stage converters with counters, one per input charge (C, either sign).

    ``iref = stage2_q_sat / t_max``; the counter clock period is ``t_max * step`` with
    ``step = (out_hi - out_lo) / (out_levels - 1)`` (full scale = ``t_max``).
    Vectors: ``v(cnt<k>)`` (counts) and ``v(acc<k>)`` (pulse integral in LSB).
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    q = _charges(charges)
    iref = device.stage2_q_sat / device.t_max
    tlsb = _tlsb(device)
    t_in, t_en, lines = _converter_prelude(
        "signed charge-to-pulse converters with counters (second stage)", kit, device)
    for k, qk in enumerate(q):
        lines += [_input_charge_source(f"in{k}", f"in{k}", qk, t_in, device.t_max),
                  f"xs{k} in{k} en vref rst s{k} cnt{k} acc{k} gc_c2p_signed cf={sn(cf)} "
                  f"iref={sn(iref)} eps={sn(eps)} vdd={sn(device.vdd)} tlsb={sn(tlsb)}"]
    lines += _converter_tran(t_en, device)
    return Netlist("\n".join(lines) + "\n", "c2p_signed.cir",
                   [f"v(cnt{k})" for k in range(q.size)] + [f"v(acc{k})" for k in range(q.size)],
                   {"charges": q.tolist(), "iref": iref, "tlsb": tlsb})


def tile_bench(q, k, v, device: DeviceParams | None = None, kit: CircuitKit | None = None,
               cf: float = CF_C2P, eps: float = EPS_C2P) -> Netlist:
    """A complete small tile: K array -> charge-to-pulse -> V array -> signed readout.

    Parameters
    ----------
    q : (D,) pulse widths, fraction of t_max (one query token; drives the K array's D rows).
    k : (N, D) stored key voltages, V (token j in K column j).
    v : (N, D) stored value voltages, V (token j in V row j).

    Phase 1 (``[T_GAP, T_GAP + t_max]``): query pulses on the K rows; each K column's bit line
    integrates on its first-stage converter. Phase 2: the first-stage converters discharge and
    their pulses drive the V rows; the V columns integrate on the signed converters. Phase 3:
    the signed converters discharge and count. Vectors: ``v(cnt<d>)`` (counts, D of them),
    ``v(acc<j>)`` (phi of token j, N of them).
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    q = _check_grid("q", q, 0.0, 1.0)
    k = _check_grid("k", k, 0.0, device.vdd)
    v = _check_grid("v", v, 0.0, device.vdd)
    if k.ndim != 2 or k.shape != v.shape or q.shape != (k.shape[1],):
        raise ValueError(f"shapes q {q.shape}, k {k.shape}, v {v.shape} are invalid: allowed "
                         f"q (D,), k and v (N, D)")
    n, d = k.shape
    hi, lo, vdd = device.v_read, device.v_read_idle, device.vdd
    i1, i2 = device.stage1_q_sat / device.t_max, device.stage2_q_sat / device.t_max
    t1 = T_GAP
    t2 = t1 + device.t_max + T_GAP
    t3 = t2 + device.t_max + T_GAP
    lines = _header(f"tile: {d} x {n} K array -> charge-to-pulse -> {n} x {d} V array -> "
                    f"signed readout", kit, device)
    lines += [TRAN_OPTIONS, "vwwl wwl 0 0", f"vwbl wbl 0 {sn(device.v_weight_zero)}",
              f"vref vref 0 {sn(device.v_weight_zero)}", _reset(device),
              f"ven1 en1 0 {_window(t2, device)}", f"ven2 en2 0 {_window(t3, device)}"]
    ics = []
    for r in range(d):  # K rows driven by the query PWM
        w = q[r] * device.t_max
        lines += [f"vqr{r} qr{r} 0 {pwl_pulse(t1, w, lo, hi)}",
                  f"vqrb{r} qrb{r} 0 {pwl_pulse(t1, w, vdd - lo, vdd - hi)}"]
    for j in range(n):  # K column j (token j) -> first-stage converter j
        for r in range(d):
            lines.append(_cell(f"k{r}_{j}", "wwl", "wbl", f"qr{r}", f"qrb{r}", f"kbl{j}",
                               f"ksn{r}_{j}", kit))
            ics.append(f"v(ksn{r}_{j})={sn(k[j, r])}")
        lines.append(f"xa{j} kbl{j} en1 vref rst g{j} vr{j} vrb{j} acc{j} gc_c2p cf={sn(cf)} "
                     f"iref={sn(i1)} eps={sn(eps)} vdd={sn(vdd)} tnorm={sn(device.t_max)}")
    for c in range(d):  # V column c -> signed converter c
        for j in range(n):
            lines.append(_cell(f"v{j}_{c}", "wwl", "wbl", f"vr{j}", f"vrb{j}", f"vbl{c}",
                               f"vsn{j}_{c}", kit))
            ics.append(f"v(vsn{j}_{c})={sn(v[j, c])}")
        lines.append(f"xs{c} vbl{c} en2 vref rst s{c} cnt{c} sacc{c} gc_c2p_signed cf={sn(cf)} "
                     f"iref={sn(i2)} eps={sn(eps)} vdd={sn(vdd)} tlsb={sn(_tlsb(device))}")
    for i in range(0, len(ics), 8):
        lines.append(".ic " + " ".join(ics[i:i + 8]))
    t_end = t3 + device.t_max + T_GAP
    lines += [f".tran {sn(device.t_max / 1500)} {sn(t_end)} 0 "
              f"{sn(device.t_max / TILE_MAX_STEP_DIV)}",
              ".end"]
    return Netlist("\n".join(lines) + "\n", "tile.cir",
                   [f"v(cnt{c})" for c in range(d)] + [f"v(acc{j})" for j in range(n)]
                   + [f"v(sacc{c})" for c in range(d)],
                   {"n_tokens": n, "head_dim": d, "t_phases": [t1, t2, t3]})


# ---------------------------------------------------------------------------------------------
# benches written through the write path (no .ic): validation columns and tiles
# ---------------------------------------------------------------------------------------------

#: Write slot of one word line, s: setup (bit line settles), word line high, hold (word line
#: low before the bit line moves). Assumption: 5 ns of boosted word line fully charges a
#: ~24 fF storage node through the gf180 write device (measured: within 1 mV of 20 ns).
T_WRITE = 5e-9
T_WRITE_SETUP = 0.5e-9
T_WRITE_HOLD = 0.5e-9


def _pwl(points) -> str:
    """PWL text from (t, v) points (sorted, strictly increasing t)."""
    return "pwl(" + " ".join(f"{sn(t)} {sn(v)}" for t, v in points) + ")"


def _pulses(starts, widths, lo: float, hi: float, t_edge: float = T_EDGE) -> str:
    """PWL of several trapezoidal pulses (width at 50 %); widths below ``t_edge`` are skipped."""
    pts = [(0.0, lo)]
    for t0, w in zip(starts, widths):
        if w < t_edge:
            continue
        pts += [(t0 - t_edge / 2, lo), (t0 + t_edge / 2, hi), (t0 + w - t_edge / 2, hi),
                (t0 + w + t_edge / 2, lo)]
    return _pwl(pts)


def _slot(k: int, t0: float) -> tuple[float, float]:
    """(word line rises, word line falls) of write slot ``k`` (50 % points)."""
    s = t0 + k * (T_WRITE_SETUP + T_WRITE + T_WRITE_HOLD) + T_WRITE_SETUP
    return s, s + T_WRITE


def _write_end(n_slots: int, t0: float) -> float:
    return t0 + n_slots * (T_WRITE_SETUP + T_WRITE + T_WRITE_HOLD)


def _bitline_levels(levels, t0: float, idle: float) -> str:
    """Write bit line: ``levels[k]`` during slot k (changing between slots), then ``idle``."""
    pts = [(0.0, idle)]
    per = T_WRITE_SETUP + T_WRITE + T_WRITE_HOLD
    prev = idle
    for k, v in enumerate(levels):
        a = t0 + k * per
        pts += [(a, prev), (a + T_EDGE, float(v))]
        prev = float(v)
    end = _write_end(len(levels), t0) - T_WRITE_HOLD / 2
    pts += [(end, prev), (end + T_EDGE, idle)]
    return _pwl(pts)


def _reset_windows(windows, vdd: float) -> str:
    """Reset high everywhere except in the (start, stop) windows (integrating)."""
    pts = [(0.0, vdd)]
    for a, b in windows:
        pts += [(a, vdd), (a + T_EDGE, 0.0), (b, 0.0), (b + T_EDGE, vdd)]
    return _pwl(pts)


def column_written_bench(v_dac, pulses, device: DeviceParams | None = None,
                         kit: CircuitKit | None = None, cf: float = CF_COLUMN,
                         c_bl: float = 0.0, t_hold: float = 20e-9,
                         amplifier: dict | None = None) -> Netlist:
    """A column of ``len(v_dac)`` cells written through the write path, then read several times.

    Write phase: one write word line per row, slot k writes ``v_dac[k]`` (V, the DAC level on
    the column's write bit line) for ``T_WRITE``; no ``.ic``. Then ``len(pulses)`` reads, each
    ``t_hold`` s after the previous one (storage nodes float and leak in between): read r
    drives row k's read word lines with a pulse of ``pulses[r][k]`` x t_max. The bit line
    (capacitance ``c_bl`` F to ground) sits on the integrator's virtual ground; the integrator
    is reset between reads. ``amplifier``: None for the ideal integrator, or the macro-model
    parameters matched to the GF180 amplifier (``gm``, ``ro``, ``co``, ``vlo``, ``vhi``,
    ``vo0``: :func:`gaincell.spice.characterize.ota_characterization`), whose finite gain
    leaves the bit line off VDD/2 by V_out / a0. Vectors ``v(vo)``, ``v(bl)`` and
    ``v(sn<k>)``; ``meta["reads"]`` holds each read's (start, stop) window, s.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    vd = _check_grid("v_dac", v_dac, 0.0, device.vdd)
    pw = _check_grid("pulses", pulses, 0.0, 1.0)
    if vd.ndim != 1 or pw.ndim != 2 or pw.shape[1] != vd.size:
        raise ValueError(f"v_dac shape {vd.shape} and pulses shape {pw.shape} are invalid: "
                         f"allowed (n,) and (reads, n)")
    if not (t_hold >= 0 and np.isfinite(t_hold)):
        raise ValueError(f"t_hold = {t_hold!r} is invalid: allowed >= 0 s")
    n, vdd = vd.size, device.vdd
    hi, lo = device.v_read, device.v_read_idle
    t_w = _write_end(n, T_GAP)
    starts = [t_w + T_GAP + t_hold + r * (device.t_max + 2 * T_GAP + t_hold)
              for r in range(pw.shape[0])]
    windows = [(s - T_GAP / 2, s + device.t_max + T_GAP / 2) for s in starts]
    lines = _header(f"column of {n} cells written through the write path, {pw.shape[0]} reads",
                    kit, device)
    if amplifier is None:
        integ = [f"xint bl vo vref rst gc_integrator cf={sn(cf)} vdd={sn(vdd)}"]
    else:
        keys = ("gm", "ro", "co", "vlo", "vhi", "vo0")
        if set(amplifier) < set(keys) or not all(np.isfinite(float(amplifier[k])) for k in keys):
            raise ValueError(f"amplifier = {amplifier!r} is invalid: allowed a dict with finite "
                             f"{', '.join(keys)}")
        integ = [f".include {macro_file()}",
                 f"xint bl vo vref rst gc_integrator_macro cf={sn(cf)} vdd={sn(vdd)} "
                 + " ".join(f"{k}={sn(amplifier[k])}" for k in keys)]
    lines += [TRAN_OPTIONS, f"vwbl wbl 0 {_bitline_levels(vd, T_GAP, device.v_weight_zero)}",
              f"vref vref 0 {sn(device.v_weight_zero)}",
              f"vrst rst 0 {_reset_windows(windows, vdd)}", *integ]
    if c_bl > 0:
        lines.append(f"cbl bl 0 {sn(c_bl)}")
    for k in range(n):
        a, b = _slot(k, T_GAP)
        lines += [f"vw{k} wwl{k} 0 {pwl_pulse(a, b - a, 0.0, kit.v_wwl_high)}",
                  f"vr{k} rwl{k} 0 {_pulses(starts, pw[:, k] * device.t_max, lo, hi)}",
                  f"vrb{k} rwlb{k} 0 "
                  f"{_pulses(starts, pw[:, k] * device.t_max, vdd - lo, vdd - hi)}",
                  _cell(f"c{k}", f"wwl{k}", "wbl", f"rwl{k}", f"rwlb{k}", "bl", f"sn{k}", kit)]
    t_end = windows[-1][1] + T_GAP
    lines += [f".tran {sn(device.t_max / 1500)} {sn(t_end)} 0 {sn(device.t_max / MAX_STEP_DIV)}",
              ".end"]
    return Netlist("\n".join(lines) + "\n", "column_written.cir",
                   ["v(vo)", "v(bl)"] + [f"v(sn{k})" for k in range(n)],
                   {"cf": cf, "n_cells": n, "reads": windows, "starts": starts,
                    "write_slots": [_slot(k, T_GAP) for k in range(n)], "t_write_end": t_w,
                    "c_bl": c_bl})


def tile_written_bench(qs, k_dac, v_dac, device: DeviceParams | None = None,
                       kit: CircuitKit | None = None, cf: float = CF_C2P, eps: float = EPS_C2P,
                       c_bl_per_cell: float = 0.0, t_hold: float = 20e-9,
                       max_step_div: int | None = None) -> Netlist:
    """A tile written through the write path, then read by several query tokens.

    ``k_dac``, ``v_dac`` (N, D): DAC levels (V) of token j's key and value. Write slot j raises
    K column j's and V row j's write word lines while the D write bit lines of each array carry
    token j's levels (no ``.ic``). Then one read per row of ``qs`` (R, D) (pulse widths /
    t_max), ``t_hold`` s apart: phase 1 query pulses on the K rows into the first-stage
    converters, phase 2 their pulses on the V rows into the signed converters, phase 3 the
    signed conversion. Bit lines carry ``c_bl_per_cell`` F per cell to ground. Vectors: the
    converters' pulse integrals ``v(acc<j>)`` (phi, cumulative) and ``v(sacc<c>)`` (LSB,
    cumulative); ``meta["reads"]`` holds each read's (start, stop) window.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    qs = _check_grid("qs", qs, 0.0, 1.0)
    k = _check_grid("k_dac", k_dac, 0.0, device.vdd)
    v = _check_grid("v_dac", v_dac, 0.0, device.vdd)
    if k.ndim != 2 or k.shape != v.shape or qs.ndim != 2 or qs.shape[1] != k.shape[1]:
        raise ValueError(f"shapes qs {qs.shape}, k_dac {k.shape}, v_dac {v.shape} are invalid: "
                         f"allowed qs (R, D), k_dac and v_dac (N, D)")
    n, d = k.shape
    tm, vdd = device.t_max, device.vdd
    hi, lo = device.v_read, device.v_read_idle
    i1, i2 = device.stage1_q_sat / tm, device.stage2_q_sat / tm
    t_w, t1s, windows = _tile_timeline(n, qs.shape[0], device, t_hold)
    lines = _header(f"tile {d} x {n} written through the write path, {qs.shape[0]} query reads",
                    kit, device)
    idle = device.v_weight_zero
    en1 = _pulses([t + tm + T_GAP for t in t1s], [tm] * len(t1s), 0.0, vdd)
    en2 = _pulses([t + 2 * tm + 2 * T_GAP for t in t1s], [tm] * len(t1s), 0.0, vdd)
    lines += [TRAN_OPTIONS, f"vref vref 0 {sn(idle)}",
              f"vrst rst 0 {_reset_windows(windows, vdd)}",
              f"ven1 en1 0 {en1}", f"ven2 en2 0 {en2}"]
    for j in range(n):  # write word lines: K column j and V row j share slot j
        a, b = _slot(j, T_GAP)
        lines.append(f"vww{j} ww{j} 0 {pwl_pulse(a, b - a, 0.0, kit.v_wwl_high)}")
    for r in range(d):  # K write bit lines (one per K row) and query word lines
        lines += [f"vkb{r} kwb{r} 0 {_bitline_levels(k[:, r], T_GAP, idle)}",
                  f"vqr{r} qr{r} 0 {_pulses(t1s, qs[:, r] * tm, lo, hi)}",
                  f"vqrb{r} qrb{r} 0 {_pulses(t1s, qs[:, r] * tm, vdd - lo, vdd - hi)}"]
    for c in range(d):  # V write bit lines (one per V column)
        lines.append(f"vvb{c} vwb{c} 0 {_bitline_levels(v[:, c], T_GAP, idle)}")
    for j in range(n):
        for r in range(d):
            lines.append(_cell(f"k{r}_{j}", f"ww{j}", f"kwb{r}", f"qr{r}", f"qrb{r}", f"kbl{j}",
                               f"ksn{r}_{j}", kit))
        if c_bl_per_cell > 0:
            lines.append(f"ckbl{j} kbl{j} 0 {sn(c_bl_per_cell * d)}")
        lines.append(f"xa{j} kbl{j} en1 vref rst g{j} vr{j} vrb{j} acc{j} gc_c2p cf={sn(cf)} "
                     f"iref={sn(i1)} eps={sn(eps)} vdd={sn(vdd)} tnorm={sn(tm)}")
    for c in range(d):
        for j in range(n):
            lines.append(_cell(f"v{j}_{c}", f"ww{j}", f"vwb{c}", f"vr{j}", f"vrb{j}", f"vbl{c}",
                               f"vsn{j}_{c}", kit))
        if c_bl_per_cell > 0:
            lines.append(f"cvbl{c} vbl{c} 0 {sn(c_bl_per_cell * n)}")
        lines.append(f"xs{c} vbl{c} en2 vref rst s{c} cnt{c} sacc{c} gc_c2p_signed cf={sn(cf)} "
                     f"iref={sn(i2)} eps={sn(eps)} vdd={sn(vdd)} tlsb={sn(_tlsb(device))}")
    t_end = windows[-1][1] + T_GAP
    div = max_step_div or TILE_MAX_STEP_DIV
    lines += [f".tran {sn(tm / 1500)} {sn(t_end)} 0 {sn(tm / div)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "tile_written.cir",
                   [f"v(acc{j})" for j in range(n)] + [f"v(sacc{c})" for c in range(d)],
                   {"n_tokens": n, "head_dim": d, "reads": windows, "t1": t1s,
                    "t_write_end": t_w, "write_slots": [_slot(j, T_GAP) for j in range(n)]})


def _tile_timeline(n_tokens: int, n_reads: int, device: DeviceParams, t_hold: float):
    """(end of the write phase, phase-1 start of each read, each read's (start, stop) window),
    s, of the written tile (shared by the whole-tile and the split benches)."""
    tm = device.t_max
    t_w = _write_end(n_tokens, T_GAP)
    per = 3 * tm + 4 * T_GAP + t_hold
    t1s = [t_w + T_GAP + t_hold + r * per for r in range(n_reads)]
    windows = [(t - T_GAP / 2, t + 3 * tm + 2 * T_GAP + T_GAP / 2) for t in t1s]
    return t_w, t1s, windows


def _tile_inputs(qs, k_dac, v_dac, device: DeviceParams, t_hold: float):
    qs = _check_grid("qs", qs, 0.0, 1.0)
    k = _check_grid("k_dac", k_dac, 0.0, device.vdd)
    v = _check_grid("v_dac", v_dac, 0.0, device.vdd)
    if k.ndim != 2 or k.shape != v.shape or qs.ndim != 2 or qs.shape[1] != k.shape[1]:
        raise ValueError(f"shapes qs {qs.shape}, k_dac {k.shape}, v_dac {v.shape} are invalid: "
                         f"allowed qs (R, D), k_dac and v_dac (N, D)")
    if not (t_hold >= 0 and np.isfinite(t_hold)):
        raise ValueError(f"t_hold = {t_hold!r} is invalid: allowed >= 0 s")
    return qs, k, v


def _group(cols, size: int, name: str) -> list[int]:
    c = [int(x) for x in cols]
    if not c or len(set(c)) != len(c) or min(c) < 0 or max(c) >= size:
        raise ValueError(f"{name} = {cols!r} is invalid: allowed distinct indices in "
                         f"[0, {size - 1}]")
    return c


def tile_k_bench(qs, k_dac, tokens, device: DeviceParams | None = None,
                 kit: CircuitKit | None = None, cf: float = CF_C2P, eps: float = EPS_C2P,
                 c_bl_per_cell: float = 0.0, t_hold: float = 20e-9,
                 max_step_div: int | None = None) -> Netlist:
    """The K half of :func:`tile_written_bench` for the K columns ``tokens`` (a column group).

    Same timeline, write path and read phases as the whole tile: the D write bit lines carry
    every token's levels in every slot (so the coupling onto cells already written is
    simulated), only the group's cells and first-stage converters are instantiated. Exact
    split: in the whole tile the K columns share only ideal sources (query word lines, write
    bit lines, enable), so they do not interact. Vectors ``v(acc<j>)`` and ``v(g<j>)`` (the
    converter's pulse, 0..1, which :func:`tile_v_bench` replays on the V rows).
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    qs, k, _ = _tile_inputs(qs, k_dac, k_dac, device, t_hold)
    n, d = k.shape
    js = _group(tokens, n, "tokens")
    tm, vdd = device.t_max, device.vdd
    hi, lo = device.v_read, device.v_read_idle
    t_w, t1s, windows = _tile_timeline(n, qs.shape[0], device, t_hold)
    idle = device.v_weight_zero
    en1 = _pulses([t + tm + T_GAP for t in t1s], [tm] * len(t1s), 0.0, vdd)
    lines = _header(f"tile K columns {js[0]}..{js[-1]} of {n} ({d} rows), written through "
                    f"the write path, {qs.shape[0]} query reads", kit, device)
    lines += [TRAN_OPTIONS, f"vref vref 0 {sn(idle)}",
              f"vrst rst 0 {_reset_windows(windows, vdd)}", f"ven1 en1 0 {en1}"]
    for j in js:
        a, b = _slot(j, T_GAP)
        lines.append(f"vww{j} ww{j} 0 {pwl_pulse(a, b - a, 0.0, kit.v_wwl_high)}")
    for r in range(d):
        lines += [f"vkb{r} kwb{r} 0 {_bitline_levels(k[:, r], T_GAP, idle)}",
                  f"vqr{r} qr{r} 0 {_pulses(t1s, qs[:, r] * tm, lo, hi)}",
                  f"vqrb{r} qrb{r} 0 {_pulses(t1s, qs[:, r] * tm, vdd - lo, vdd - hi)}"]
    for j in js:
        for r in range(d):
            lines.append(_cell(f"k{r}_{j}", f"ww{j}", f"kwb{r}", f"qr{r}", f"qrb{r}", f"kbl{j}",
                               f"ksn{r}_{j}", kit))
        if c_bl_per_cell > 0:
            lines.append(f"ckbl{j} kbl{j} 0 {sn(c_bl_per_cell * d)}")
        lines.append(f"xa{j} kbl{j} en1 vref rst g{j} vr{j} vrb{j} acc{j} gc_c2p cf={sn(cf)} "
                     f"iref={sn(device.stage1_q_sat / tm)} eps={sn(eps)} vdd={sn(vdd)} "
                     f"tnorm={sn(tm)}")
    t_end = windows[-1][1] + T_GAP
    div = max_step_div or TILE_MAX_STEP_DIV
    lines += [f".tran {sn(tm / 1500)} {sn(t_end)} 0 {sn(tm / div)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "tile_k.cir",
                   [f"v(acc{j})" for j in js] + [f"v(g{j})" for j in js],
                   {"tokens": js, "head_dim": d, "reads": windows, "t1": t1s,
                    "t_write_end": t_w, "write_slots": [_slot(j, T_GAP) for j in range(n)]})


def pulse_wave(t, g, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """A simulated pulse waveform ``g(t)`` (0..1) reduced to the samples where it changes
    (each sample kept whose step to a neighbour exceeds ``tol``, plus the ends): the PWL
    :func:`tile_v_bench` replays. Between kept samples the waveform moved by < ``tol``."""
    t = np.asarray(t, float)
    g = np.asarray(g, float)
    if t.ndim != 1 or t.shape != g.shape or t.size < 2:
        raise ValueError(f"t shape {t.shape} and g shape {g.shape} are invalid: allowed equal "
                         f"1-D shapes of >= 2 samples")
    dg = np.abs(np.diff(g)) > tol
    keep = np.zeros(t.size, bool)
    keep[[0, -1]] = True
    keep[1:] |= dg
    keep[:-1] |= dg
    tk, gk = t[keep], g[keep]
    ok = np.concatenate([[True], np.diff(tk) > 0])   # strictly increasing times
    return tk[ok], gk[ok]


def tile_v_bench(waves, v_dac, columns, device: DeviceParams | None = None,
                 kit: CircuitKit | None = None, cf: float = CF_C2P, eps: float = EPS_C2P,
                 c_bl_per_cell: float = 0.0, t_hold: float = 20e-9, n_reads: int = 1,
                 max_step_div: int | None = None) -> Netlist:
    """The V half of :func:`tile_written_bench` for the V columns ``columns``.

    ``waves``: per token j, the (t s, g) pulse of its first-stage converter from
    :func:`tile_k_bench` (:func:`pulse_wave`); V row j's read word lines replay it exactly as
    the converter drives them (``VDD/2 (1 +- g)``; ideal drivers in the whole tile too, so the
    split is exact up to the replayed samples). ``v_dac`` (N, D); every row's write word line
    and the group's write bit lines as in the whole tile. Vectors ``v(sacc<c>)``.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    _, v, _ = _tile_inputs(np.zeros((1, np.shape(v_dac)[1])), v_dac, v_dac, device, t_hold)
    n, d = v.shape
    cs = _group(columns, d, "columns")
    if len(waves) != n:
        raise ValueError(f"waves holds {len(waves)} pulses: allowed one per token ({n})")
    tm, vdd = device.t_max, device.vdd
    t_w, t1s, windows = _tile_timeline(n, n_reads, device, t_hold)
    idle = device.v_weight_zero
    en2 = _pulses([t + 2 * tm + 2 * T_GAP for t in t1s], [tm] * len(t1s), 0.0, vdd)
    lines = _header(f"tile V columns {cs[0]}..{cs[-1]} of {d} ({n} rows), written through the "
                    f"write path, {n_reads} reads replaying the first-stage pulses", kit, device)
    lines += [TRAN_OPTIONS, f"vref vref 0 {sn(idle)}",
              f"vrst rst 0 {_reset_windows(windows, vdd)}", f"ven2 en2 0 {en2}"]
    for j in range(n):
        a, b = _slot(j, T_GAP)
        t, g = waves[j]
        g = np.clip(np.asarray(g, float), 0.0, 1.0)
        lines += [f"vww{j} ww{j} 0 {pwl_pulse(a, b - a, 0.0, kit.v_wwl_high)}",
                  f"vr{j} vr{j} 0 {_pwl(zip(t, vdd / 2 * (1 + g)))}",
                  f"vrb{j} vrb{j} 0 {_pwl(zip(t, vdd / 2 * (1 - g)))}"]
    for c in cs:
        lines.append(f"vvb{c} vwb{c} 0 {_bitline_levels(v[:, c], T_GAP, idle)}")
        for j in range(n):
            lines.append(_cell(f"v{j}_{c}", f"ww{j}", f"vwb{c}", f"vr{j}", f"vrb{j}", f"vbl{c}",
                               f"vsn{j}_{c}", kit))
        if c_bl_per_cell > 0:
            lines.append(f"cvbl{c} vbl{c} 0 {sn(c_bl_per_cell * n)}")
        lines.append(f"xs{c} vbl{c} en2 vref rst s{c} cnt{c} sacc{c} gc_c2p_signed cf={sn(cf)} "
                     f"iref={sn(device.stage2_q_sat / tm)} eps={sn(eps)} vdd={sn(vdd)} "
                     f"tlsb={sn(_tlsb(device))}")
    t_end = windows[-1][1] + T_GAP
    div = max_step_div or TILE_MAX_STEP_DIV
    lines += [f".tran {sn(tm / 1500)} {sn(t_end)} 0 {sn(tm / div)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "tile_v.cir", [f"v(sacc{c})" for c in cs],
                   {"columns": cs, "n_tokens": n, "reads": windows, "t1": t1s,
                    "t_write_end": t_w})


def leakage_bench(v_points, device: DeviceParams | None = None,
                  kit: CircuitKit | None = None) -> Netlist:
    """Operating point of holding cells whose storage node is forced to ``v_points`` (V).

    Write word line 0 V, write bit line, read word lines and bit line idle at VDD/2, exactly
    as in the hold phase of the retention bench. Vectors ``i(vsn<k>)``: the current the forcing
    source pushes INTO the storage node, which equals the node's leakage out of it, A.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    vp = _check_grid("v_points", v_points, -0.5, device.vdd + 0.5)  # a pedestal can pass a rail
    idle = device.v_read_idle
    lines = _header("storage-node leakage at forced voltages (hold state)", kit, device)
    lines += [LEAK_OPTIONS, "vwwl wwl 0 0", f"vwbl wbl 0 {sn(device.v_weight_zero)}",
              f"vrwl rwl 0 {sn(idle)}", f"vrwlb rwlb 0 {sn(device.vdd - idle)}",
              f"vbl bl 0 {sn(device.v_weight_zero)}"]
    for k, v in enumerate(vp):
        lines += [f"vsn{k} snf{k} 0 {sn(v)}", f"rsn{k} snf{k} sn{k} 1",
                  _cell(f"c{k}", "wwl", "wbl", "rwl", "rwlb", "bl", f"sn{k}", kit)]
    lines += [".op", ".end"]
    return Netlist("\n".join(lines) + "\n", "leakage.cir",
                   [f"i(vsn{k})" for k in range(vp.size)], {"v_points": vp.tolist()})


def disturb_bench(v_dac, widths, device: DeviceParams | None = None,
                  kit: CircuitKit | None = None, cf: float = CF_COLUMN,
                  q_probe: float = 0.0) -> Netlist:
    """Cells written to ``v_dac`` (V) through one shared write word line (each its own write
    bit line), then read once with pulse ``widths[k]`` (fraction of t_max) into their own
    integrator. Read disturb = storage voltage after minus before the pulse; the integrated
    charge is compared with the DC current times the width. With ``q_probe`` > 0 C, a current
    pulse of that charge is injected into each storage node after the read (its voltage step
    measures the node capacitance). Vectors ``v(sn<k>)``, ``v(vo<k>)``.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    vd = _check_grid("v_dac", v_dac, 0.0, device.vdd)
    w = _check_grid("widths", widths, 0.0, 1.0)
    if vd.shape != w.shape or vd.ndim != 1:
        raise ValueError(f"v_dac shape {vd.shape} and widths shape {w.shape} are invalid: "
                         f"allowed equal 1-D shapes")
    vdd, tm = device.vdd, device.t_max
    hi, lo = device.v_read, device.v_read_idle
    a, b = _slot(0, T_GAP)
    t_r = _write_end(1, T_GAP) + 2 * T_GAP
    t_q = t_r + tm + 2 * T_GAP
    lines = _header("read disturb: write, one read pulse, probe the storage node", kit, device)
    lines += [TRAN_OPTIONS, f"vww wwl 0 {pwl_pulse(a, b - a, 0.0, kit.v_wwl_high)}",
              f"vref vref 0 {sn(device.v_weight_zero)}",
              f"vrst rst 0 {_reset_windows([(t_r - T_GAP / 2, t_r + tm + T_GAP)], vdd)}"]
    for k in range(vd.size):
        lines += [f"vwb{k} wbl{k} 0 {_bitline_levels([vd[k]], T_GAP, device.v_weight_zero)}",
                  f"vr{k} rwl{k} 0 {pwl_pulse(t_r, w[k] * tm, lo, hi)}",
                  f"vrb{k} rwlb{k} 0 {pwl_pulse(t_r, w[k] * tm, vdd - lo, vdd - hi)}",
                  f"xint{k} bl{k} vo{k} vref rst gc_integrator cf={sn(cf)} vdd={sn(vdd)}",
                  _cell(f"c{k}", "wwl", f"wbl{k}", f"rwl{k}", f"rwlb{k}", f"bl{k}", f"sn{k}",
                        kit)]
        if q_probe > 0:
            lines.append(f"iq{k} 0 sn{k} {pwl_pulse(t_q, 1e-9, 0.0, q_probe / 1e-9)}")
    t_end = t_q + 1e-9 + 2 * T_GAP
    lines += [f".tran {sn(tm / 1500)} {sn(t_end)} 0 {sn(tm / MAX_STEP_DIV)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "disturb.cir",
                   [f"v(sn{k})" for k in range(vd.size)] + [f"v(vo{k})" for k in range(vd.size)],
                   {"t_read": t_r, "t_probe": t_q, "q_probe": q_probe, "cf": cf})


def energy_bench(v_store: float, device: DeviceParams | None = None,
                 kit: CircuitKit | None = None, c_wbl: float = 0.0, c_wwl: float = 0.0,
                 c_bl: float = 0.0) -> Netlist:
    """Supply currents of one cell: a write of ``v_store`` (V) from the idle write bit line
    (capacitance ``c_wbl`` F, the column's share; write word line wire ``c_wwl`` F), then one
    full-t_max read pulse into a bit line held at VDD/2 by a source (capacitance ``c_bl``).

    Every supply is a named source: ``vwwl`` (write word line driver), ``vwbl`` (the DAC on
    the write bit line), ``vrwl``/``vrwlb`` (read word-line drivers), ``vbl`` (the bit line's
    VDD/2 reference). Vectors: their currents and voltages; ``meta`` holds the write and read
    windows, s.
    """
    device = device or DeviceParams()
    kit = kit or CircuitKit.default()
    _check_grid("v_store", [v_store], 0.0, device.vdd)
    vdd, tm = device.vdd, device.t_max
    a, b = _slot(0, T_GAP)
    t_w = _write_end(1, T_GAP) + T_GAP
    t_r = t_w + T_GAP
    hi, lo = device.v_read, device.v_read_idle
    lines = _header(f"energy per action: write {v_store} V, then one full read", kit, device)
    lines += [TRAN_OPTIONS, f"vwwl wwl 0 {pwl_pulse(a, b - a, 0.0, kit.v_wwl_high)}",
              f"vwbl wbl 0 {_bitline_levels([v_store], T_GAP, device.v_weight_zero)}",
              f"vrwl rwl 0 {pwl_pulse(t_r, tm, lo, hi)}",
              f"vrwlb rwlb 0 {pwl_pulse(t_r, tm, vdd - lo, vdd - hi)}",
              f"vbl bl 0 {sn(device.v_weight_zero)}",
              _cell("c0", "wwl", "wbl", "rwl", "rwlb", "bl", "sn0", kit)]
    for name, node, c in (("cwbl", "wbl", c_wbl), ("cwwl", "wwl", c_wwl), ("cbl", "bl", c_bl)):
        if c > 0:
            lines.append(f"{name} {node} 0 {sn(c)}")
    t_end = t_r + tm + 2 * T_GAP
    lines += [f".tran {sn(tm / 1500)} {sn(t_end)} 0 {sn(tm / 300)}", ".end"]
    srcs = ["vwwl", "vwbl", "vrwl", "vrwlb", "vbl"]
    nodes = ["wwl", "wbl", "rwl", "rwlb", "bl"]
    return Netlist("\n".join(lines) + "\n", "energy.cir",
                   [f"i({s})" for s in srcs] + [f"v({n})" for n in nodes] + ["v(sn0)"],
                   {"write": (0.0, t_w), "read": (t_w, t_end), "sources": srcs, "nodes": nodes})


# ---------------------------------------------------------------------------------------------
# periphery at circuit level: the GF180 amplifier, its macro-model, conversion and gate energy
# ---------------------------------------------------------------------------------------------

#: Load capacitance of the amplifier characterization, F (assumption: the integrator's
#: feedback capacitor in series with the bit line, ~80 fF, plus the comparator input and
#: wiring, rounded up).
OTA_C_LOAD = 0.2e-12


def _ota_file() -> str:
    from gaincell.spice.netlist import circuits_dir

    return str(circuits_dir() / "gf180" / "gf180_ota.cir")


def macro_file() -> str:
    """The integrator macro-model sub-circuit file (``gc_integrator_macro``)."""
    from gaincell.spice.netlist import circuits_dir

    return str(circuits_dir() / "gf180" / "gf180_integrator_macro.cir")


def ota_dc_bench(kit: CircuitKit, device: DeviceParams, ib: float, span: float = 0.05,
                 points: int = 401) -> Netlist:
    """Open-loop DC transfer of ``gf180_ota`` at ``device.vdd``: non-inverting input at
    ``vcm = device.v_weight_zero``, inverting input swept over ``vcm +- span`` V. Vectors
    ``v(out)`` (V) and ``i(vdda)`` (A; minus the supply current)."""
    vdd, vcm = device.vdd, device.v_weight_zero
    lines = _header("gf180_ota open-loop DC transfer", kit, device)
    step = 2 * span / (points - 1)
    lines += [f".include {_ota_file()}", f"vdda vdda 0 {sn(vdd)}", f"vp inp 0 {sn(vcm)}",
              f"vn inn 0 {sn(vcm)}", f"xo inp inn out vdda 0 gf180_ota ib={sn(ib)}",
              f"cl out 0 {sn(OTA_C_LOAD)}",
              f".dc vn {sn(vcm - span)} {sn(vcm + span + step / 2)} {sn(step)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "ota_dc.cir", ["v(out)", "i(vdda)"],
                   {"vcm": vcm, "span": span, "ib": ib})


def ota_step_bench(kit: CircuitKit, device: DeviceParams, v0: float, dv: float, ib: float,
                   c_load: float = OTA_C_LOAD) -> Netlist:
    """``gf180_ota`` as a unity-gain follower with ``c_load`` F, input stepped from ``v0`` to
    ``v0 + dv`` V at 1 ns (10 ps edge). Vectors ``v(out)``, ``i(vdda)``."""
    vdd = device.vdd
    lines = _header("gf180_ota unity-gain step response", kit, device)
    lines += [f".include {_ota_file()}", f"vdda vdda 0 {sn(vdd)}",
              f"vp inp 0 pwl(0 {sn(v0)} 1e-09 {sn(v0)} 1.01e-09 {sn(v0 + dv)})",
              f"xo inp out out vdda 0 gf180_ota ib={sn(ib)}", f"cl out 0 {sn(c_load)}",
              ".tran 1e-12 2e-08 0 2e-11", ".end"]
    return Netlist("\n".join(lines) + "\n", "ota_step.cir", ["v(out)", "i(vdda)"],
                   {"t_step": 1e-9, "v0": v0, "dv": dv, "ib": ib, "c_load": c_load})


def conversion_energy_bench(kit: CircuitKit, device: DeviceParams, ib: float, q: float,
                            c_bl: float, cf: float = CF_C2P) -> Netlist:
    """One first-stage conversion on the transistor-level amplifier: an integrator
    (``gf180_ota``, ``cf`` F, bit line ``c_bl`` F) reset, then receiving ``q`` C over one
    t_max (the cells' current), then discharged by the reference current ``stage1_q_sat /
    t_max`` for ``q / (stage1_q_sat / t_max)`` s (the converter's pulse; the comparator is
    behavioural and not part of the energy). Vectors ``i(vdda)``, ``v(out)``, ``v(in)``;
    ``meta["window"]`` is the conversion (integrate + convert), s."""
    tm, vdd = device.t_max, device.vdd
    iref = device.stage1_q_sat / tm
    t_in = T_GAP
    t_dis = t_in + tm + T_GAP
    w = q / iref
    lines = _header("one conversion on the transistor-level GF180 integrator", kit, device)
    lines += [TRAN_OPTIONS, f".include {_ota_file()}", f"vdda vdda 0 {sn(vdd)}",
              f"vref vref 0 {sn(device.v_weight_zero)}", _reset(device),
              f"xo vref in out vdda 0 gf180_ota ib={sn(ib)}", f"cf in out {sn(cf)}",
              f"cbl in 0 {sn(c_bl)}", "srst in out rst 0 gc_sw_e",
              ".model gc_sw_e sw vt={} vh=0.05 ron=100 roff=1e15".format(sn(vdd / 2)),
              f"iin 0 in {pwl_pulse(t_in, tm, 0.0, q / tm)}",
              f"idis in 0 {pwl_pulse(t_dis, w, 0.0, iref)}",
              f".tran {sn(tm / 1500)} {sn(t_dis + tm + T_GAP)} 0 {sn(tm / 300)}", ".end"]
    return Netlist("\n".join(lines) + "\n", "conversion_energy.cir",
                   ["i(vdda)", "v(out)", "v(in)"],
                   {"window": (t_in, t_dis + tm), "q": q, "iref": iref, "ib": ib})


def gate_energy_bench(kit: CircuitKit, device: DeviceParams, period: float = 4e-9,
                      cycles: int = 4) -> Netlist:
    """A chain of four minimum-size GF180 3.3 V inverters (nmos 0.44/0.3 um, pmos
    1.0/0.3 um), the input toggled ``cycles`` times; the third inverter has its own supply
    ``vdd3`` (vector ``i(vdd3)``): its energy per cycle is the switched energy of one gate
    driving one gate load (two transitions)."""
    vdd = device.vdd
    lines = _header("minimum GF180 3.3 V inverter chain: energy per toggle", kit, device)
    lines += [f"vdda vdda 0 {sn(vdd)}", f"vdd3 vdd3 0 {sn(vdd)}",
              f"vin a0 0 pulse(0 {sn(vdd)} {sn(period / 2)} 5e-11 5e-11 {sn(period / 2)} "
              f"{sn(period)})"]
    for k in range(4):
        sup = "vdd3" if k == 2 else "vdda"
        lines += [f"mp{k} a{k + 1} a{k} {sup} {sup} pmos_3p3 w=1e-06 l=3e-07 as=5e-13 ad=5e-13 "
                  f"ps=3e-06 pd=3e-06",
                  f"mn{k} a{k + 1} a{k} 0 0 nmos_3p3 w=4.4e-07 l=3e-07 as=2.2e-13 ad=2.2e-13 "
                  f"ps=2e-06 pd=2e-06"]
    lines += [f".tran 1e-12 {sn(period * (cycles + 0.5))} 0 1e-11", ".end"]
    return Netlist("\n".join(lines) + "\n", "gate_energy.cir", ["i(vdd3)", "v(a3)"],
                   {"period": period, "cycles": cycles})
