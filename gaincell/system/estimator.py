"""The estimator: latency, energy and area of a gain-cell attention design, with breakdowns.

Per head and token the hardware (i) writes the new key and value through the DACs, (ii) resets
the bit lines, (iii) applies the query as PWM pulses to the K array (first dot product), (iv)
converts every K column's charge into a pulse phi that drives a V-array word line (second dot
product), (v) converts every V sub-array output into a signed count, (vi) adds the sub-array
counts in a tree and hands the result over. Heads run in parallel; layers one after another.

Two modes (``SystemSpec.mode`` or ``estimate(mode=...)``):

- ``calibrated`` (:mod:`gaincell.system.calibrated`): the component library with one constant
  per energy group fitted to the paper's published totals; reproduces them exactly at the
  paper's design;
- ``predicted`` (:mod:`gaincell.system.predicted`): every block from circuit physics, the
  technology table and stated circuit assumptions (or SPICE-measured per-action energies); no
  constant is fitted to a published total.

``auto`` (the default) is calibrated for the paper's design and predicted for any other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gaincell.params import AttentionConfig
from gaincell.system import calibrated as cal
from gaincell.system.breakdown import Breakdown
from gaincell.system.calibrated import LEROUX2025, Published, build_components, is_paper_point
from gaincell.system.gpu import GPUComparison, compare_gpus
from gaincell.system.retention import RetentionLink
from gaincell.system.spec import MODES, SystemSpec
from gaincell.system.workload import Workload

__all__ = ["estimate", "Estimate", "build_components", "resolve_mode", "leak_per_step_for",
           "retention_config"]


@dataclass(frozen=True)
class Estimate:
    """Latency, energy and area of one design.

    Attributes
    ----------
    cfg : AttentionConfig
        The design (one attention layer).
    spec : SystemSpec
        Layers, tokens, node, overheads, component overrides.
    components : dict
        The component instances of one head, by role.
    workload : Workload
        Average-case activity per query read.
    latency : Breakdown
        Per-token latency of one layer (all heads in parallel), s, by phase.
    energy : Breakdown
        Average-case energy per token per head, J, grouped as the paper: ``stage1``
        (phi(Q K)), ``stage2`` (phi(S) V), ``digital`` (control and routing), ``dac``.
    area : Breakdown
        Area of one head, m^2.
    data_workload, data_energy : Workload or None, Breakdown or None
        The same from a simulation's activity (data-dependent), when one was given.
    retention : RetentionLink
        Token period from the latency and the leakage per step it implies.
    gpu : tuple of GPUComparison
        Ratios against every stored GPU baseline.
    mode : str
        ``"calibrated"`` or ``"predicted"``.
    overhead_per_layer_s : float
        Time per layer outside attention used in the token period, s.
    overhead_source : str
        Where that time comes from (design file or the mode's default).
    analytic_energy, analytic_data_energy : Breakdown or None
        Predicted mode with SPICE energies: the analytic estimate beside ``energy`` /
        ``data_energy`` (which use the SPICE-measured per-action energies).
    derived : dict
        Predicted mode: the derived circuit quantities (amplifier bias, capacitors, clock,
        technology row), JSON-ready.
    published : Published
        The published totals (what the calibrated mode is fitted to).
    """

    cfg: AttentionConfig
    spec: SystemSpec
    components: dict
    workload: Workload
    latency: Breakdown
    energy: Breakdown
    area: Breakdown
    data_workload: Workload | None
    data_energy: Breakdown | None
    retention: RetentionLink
    gpu: tuple[GPUComparison, ...]
    mode: str = "calibrated"
    overhead_per_layer_s: float = 0.0
    overhead_source: str = ""
    analytic_energy: Breakdown | None = None
    analytic_data_energy: Breakdown | None = None
    derived: dict = field(default_factory=dict)
    published: Published = LEROUX2025

    # -- headline numbers --------------------------------------------------------------------
    @property
    def n_layers(self) -> int:
        """Layers per token."""
        return self.spec.n_layers

    @property
    def latency_layer_s(self) -> float:
        """Per-token latency of one attention layer (heads in parallel), s."""
        return self.latency.total

    @property
    def token_period_s(self) -> float:
        """Time per generated token, s: ``n_layers (latency_layer + overhead_per_layer)``."""
        return self.n_layers * (self.latency_layer_s + self.overhead_per_layer_s)

    @property
    def energy_head_j(self) -> float:
        """Average-case energy per token per head, J."""
        return self.energy.total

    @property
    def energy_layer_j(self) -> float:
        """Average-case energy per token per layer, J (``n_heads`` heads)."""
        return self.energy_head_j * self.cfg.n_heads

    @property
    def energy_model_j(self) -> float:
        """Average-case attention energy per token of the whole model, J."""
        return self.energy_layer_j * self.n_layers

    @property
    def energy_sequence_j(self) -> float:
        """Attention energy of a ``tokens``-token sequence, J (full-window average case)."""
        return self.energy_model_j * self.spec.tokens

    @property
    def time_sequence_s(self) -> float:
        """Time to generate ``tokens`` tokens, s."""
        return self.token_period_s * self.spec.tokens

    @property
    def power_w(self) -> float:
        """Average attention power of the model while generating, W."""
        return self.energy_model_j / self.token_period_s

    @property
    def area_head_m2(self) -> float:
        """Area of one head, m^2."""
        return self.area.total

    @property
    def area_layer_m2(self) -> float:
        """Area of one layer's attention, m^2 (``n_heads`` heads)."""
        return self.area_head_m2 * self.cfg.n_heads

    @property
    def area_model_m2(self) -> float:
        """Area of the model's attention, m^2 (every layer has its own arrays)."""
        return self.area_layer_m2 * self.n_layers

    @property
    def data_energy_head_j(self) -> float | None:
        """Data-dependent energy per token per head, J (None without an activity)."""
        return None if self.data_energy is None else self.data_energy.total

    def energy_layer(self) -> Breakdown:
        """Average-case energy per token per layer, J, by item."""
        return self.energy.scaled(self.cfg.n_heads, "energy per token per layer")

    def energy_model(self) -> Breakdown:
        """Average-case attention energy per token of the model, J, by item."""
        return self.energy.scaled(self.cfg.n_heads * self.n_layers, "energy per token (model)")

    def flat(self) -> dict[str, Any]:
        """One flat row of the design and its headline numbers (for sweeps and CSV)."""
        row: dict[str, Any] = {
            "mode": self.mode,
            "n_heads": self.cfg.n_heads, "head_dim": self.cfg.head_dim,
            "window": self.cfg.window, "array_rows": self.cfg.array_rows,
            "array_cols": self.cfg.array_cols, "q_levels": self.cfg.device.q_levels,
            "kv_levels": self.cfg.device.kv_levels, "out_levels": self.cfg.device.out_levels,
            "vdd_V": self.cfg.device.vdd, "t_max_s": self.cfg.device.t_max,
            "tau_s": self.cfg.device.tau, "n_layers": self.n_layers,
            "technology_nm": self.spec.technology_nm,
            "overhead_per_layer_s": self.overhead_per_layer_s,
            "latency_layer_s": self.latency_layer_s, "token_period_s": self.token_period_s,
            "energy_head_J": self.energy_head_j, "energy_layer_J": self.energy_layer_j,
            "energy_model_J": self.energy_model_j,
        }
        for g, v in self.energy.by_group().items():
            row[f"energy_head_{g}_J"] = v
        row.update({"area_head_m2": self.area_head_m2, "area_model_m2": self.area_model_m2,
                    "leak_per_step": self.retention.leak_per_step})
        if self.data_energy is not None:
            row["data_energy_head_J"] = self.data_energy.total
        return row

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (SI units; keys name non-obvious units)."""
        return {
            "mode": self.mode,
            "design": self.cfg.to_dict(),
            "system": self.spec.to_dict(),
            "overhead_per_layer_s": self.overhead_per_layer_s,
            "overhead_source": self.overhead_source,
            "headline": {
                "latency_per_token_layer_s": self.latency_layer_s,
                "token_period_s": self.token_period_s,
                "energy_per_token_head_J": self.energy_head_j,
                "energy_per_token_layer_J": self.energy_layer_j,
                "energy_per_token_model_J": self.energy_model_j,
                "energy_per_sequence_J": self.energy_sequence_j,
                "time_per_sequence_s": self.time_sequence_s,
                "attention_power_W": self.power_w,
                "area_head_m2": self.area_head_m2,
                "area_layer_m2": self.area_layer_m2,
                "area_model_m2": self.area_model_m2,
                "data_energy_per_token_head_J": self.data_energy_head_j,
            },
            "latency": self.latency.to_dict(),
            "energy": self.energy.to_dict(),
            "area": self.area.to_dict(),
            "workload": self.workload.to_dict(),
            "data_workload": None if self.data_workload is None else self.data_workload.to_dict(),
            "data_energy": None if self.data_energy is None else self.data_energy.to_dict(),
            "retention": self.retention.to_dict(),
            "analytic_energy": None if self.analytic_energy is None
            else self.analytic_energy.to_dict(),
            "derived": self.derived,
            "gpu": [c.to_dict() for c in self.gpu],
            "components": {role: {"class": type(c).__name__,
                                  "params": {k: (v if isinstance(v, (int, float, str, bool))
                                                 else repr(v))
                                             for k, v in c.params().items()},
                                  "sources": c.sources()}
                           for role, c in self.components.items()},
        }


def _check_activity_matches(cfg: AttentionConfig, wl: Workload) -> None:
    """An activity from another design would give meaningless energies: refuse it."""
    if wl.stage1_conversions > cfg.window * (1 + 1e-9):
        raise ValueError(f"activity has {wl.stage1_conversions:g} stage-1 conversions per "
                         f"query: allowed at most the design's window = {cfg.window} (the "
                         f"activity comes from another design)")
    if wl.cells_written and abs(wl.cells_written - 2 * cfg.head_dim) > 1e-6 * cfg.head_dim:
        raise ValueError(f"activity writes {wl.cells_written:g} cells per query: allowed "
                         f"2 x head_dim = {2 * cfg.head_dim} (the activity comes from another "
                         f"design)")


def resolve_mode(cfg: AttentionConfig, spec: SystemSpec, mode: str | None = None) -> str:
    """``"calibrated"`` or ``"predicted"``: ``mode`` if given, else ``spec.mode``; ``auto`` is
    calibrated for the paper's design and predicted for any other."""
    m = spec.mode if mode is None else mode
    if m not in MODES:
        raise ValueError(f"mode = {m!r} is invalid: allowed {', '.join(map(repr, MODES))}")
    if m == "auto":
        return "calibrated" if is_paper_point(cfg) else "predicted"
    return m


def _d_model(cfg: AttentionConfig) -> int:
    return cfg.n_heads * cfg.head_dim


def _overhead(cfg: AttentionConfig, spec: SystemSpec, mode: str) -> tuple[float, str]:
    """Per-layer time outside attention, s, and where it comes from."""
    if spec.overhead_per_layer_s is not None:
        return spec.overhead_per_layer_s, "design ([system] overhead_per_layer_s)"
    if mode == "calibrated":
        return 0.0, "calibrated-mode default 0 (the paper does not model it)"
    from gaincell.system.circuit import CircuitAssumptions

    rate = CircuitAssumptions(**spec.circuit).mac_rate
    macs = 12 * _d_model(cfg) ** 2
    return macs / rate, (f"predicted-mode default: 12 d_model^2 = {macs:,} MACs (QKV, output "
                         f"projection and a 4 x d_model MLP, d_model = n_heads x head_dim = "
                         f"{_d_model(cfg)}) at {rate:.3g} MAC/s (CircuitAssumptions.mac_rate"
                         f"{', design override' if 'mac_rate' in spec.circuit else ''})")


def _calibrated(cfg, spec, wl, data_wl, published):
    comps = build_components(cfg, spec, cal.calibrate(published))
    latency = cal.latency(cfg, comps)
    area = cal.area(cfg, comps)
    pitch = cal.tile_pitch(cfg, area, comps)
    t = latency.total
    energy = cal.energy(cfg, comps, wl, t, pitch, "energy per token per head")
    data_energy = None if data_wl is None else cal.energy(
        cfg, comps, data_wl, t, pitch, "data-dependent energy per token per head")
    return comps, latency, area, energy, data_energy, None, None, {}


def _predicted(cfg, spec, wl, data_wl, overhead):
    from gaincell.system.predicted import Predictor

    p = Predictor(cfg, spec)
    latency = p.latency()
    area = p.area()
    pitch = p.tile_pitch(area)
    t = latency.total
    t_token = spec.n_layers * (t + overhead)

    def run(w, q, use_spice=True):
        return None if w is None else p.energy(w, t, t_token, pitch, q, use_spice)

    energy = run(wl, "energy per token per head")
    data_energy = run(data_wl, "data-dependent energy per token per head")
    analytic = analytic_data = None
    if spec.spice_energy:
        analytic = run(wl, "energy per token per head (analytic)", False)
        analytic_data = run(data_wl, "data-dependent energy per token per head (analytic)",
                            False)
    derived = p.derived()
    derived["tile_pitch_m"] = pitch
    return {"circuit": p.ca}, latency, area, energy, data_energy, analytic, analytic_data, \
        derived


def estimate(cfg: AttentionConfig | None = None, n_layers: int | None = None,
             tokens: int | None = None, *, activity=None,
             spec: SystemSpec | None = None, mode: str | None = None,
             published: Published | None = None) -> Estimate:
    """Latency, energy and area of a design, with breakdowns and GPU comparisons.

    Parameters
    ----------
    cfg : AttentionConfig, optional
        The design; default ``AttentionConfig.leroux2025()`` (GPT-2, window 1024).
    n_layers : int, optional
        Layers per token (default ``spec.n_layers``, 12).
    tokens : int, optional
        Tokens per sequence for per-sequence totals (default ``spec.tokens``, 1024).
    activity : gaincell.array.activity.Activity, optional
        Activity counts of a simulation of this design (same heads, window and head_dim);
        adds the data-dependent energy beside the average case.
    spec : SystemSpec, optional
        Node, overheads, mode, gating, overrides (as a design file's ``[system]`` table).
    mode : str, optional
        ``"calibrated"``, ``"predicted"`` or ``"auto"``; default ``spec.mode`` (``auto``:
        calibrated for the paper's design, predicted otherwise).
    published : Published, optional
        Totals the calibrated mode is fitted to (default the paper's, ``LEROUX2025``); the
        predicted mode ignores it.

    Returns
    -------
    Estimate
    """
    cfg = AttentionConfig.leroux2025() if cfg is None else cfg
    if not isinstance(cfg, AttentionConfig):
        raise ValueError(f"cfg must be an AttentionConfig, got {type(cfg).__name__}")
    spec = SystemSpec() if spec is None else spec
    if not isinstance(spec, SystemSpec):
        raise ValueError(f"spec must be a SystemSpec, got {type(spec).__name__}")
    changes = {k: v for k, v in (("n_layers", n_layers), ("tokens", tokens)) if v is not None}
    if changes:
        spec = spec.replace(**changes)
    published = LEROUX2025 if published is None else published
    m = resolve_mode(cfg, spec, mode)
    overhead, overhead_src = _overhead(cfg, spec, m)
    wl = Workload.average_case(cfg)
    data_wl = None
    if activity is not None:
        _check_activity_design(cfg, activity)
        data_wl = Workload.from_activity(activity)
        _check_activity_matches(cfg, data_wl)
    if m == "calibrated":
        parts = _calibrated(cfg, spec, wl, data_wl, published)
    else:
        parts = _predicted(cfg, spec, wl, data_wl, overhead)
    comps, latency, area, energy, data_energy, analytic, analytic_data, derived = parts
    period = spec.n_layers * (latency.total + overhead)
    retention = RetentionLink(token_period_s=period, tau_s=_tau(cfg),
                              config_leak_per_step=cfg.leak_per_step, window=cfg.window)
    est = Estimate(cfg=cfg, spec=spec, components=comps, workload=wl, latency=latency,
                   energy=energy, area=area, data_workload=data_wl, data_energy=data_energy,
                   retention=retention, gpu=(), mode=m, overhead_per_layer_s=overhead,
                   overhead_source=overhead_src, analytic_energy=analytic,
                   analytic_data_energy=analytic_data, derived=derived,
                   published=published)
    return dataclasses.replace(est, gpu=compare_gpus(est))


def _tau(cfg: AttentionConfig) -> float:
    """Retention time constant at the device's temperature, s (``params.tau_at`` when the
    parameters carry a temperature, else ``DeviceParams.tau``)."""
    import gaincell.params as gp

    tau_at = getattr(gp, "tau_at", None)
    return float(tau_at(cfg.device)) if tau_at is not None else cfg.device.tau


def _check_activity_design(cfg: AttentionConfig, activity) -> None:
    """The activity's own record of its design must match (heads per layer)."""
    n = getattr(activity, "n_heads", None)
    if isinstance(n, int) and n > 0 and n != cfg.n_heads:
        raise ValueError(f"activity comes from a {n}-head design: allowed an activity of this "
                         f"design's n_heads = {cfg.n_heads} (simulate this design, or report "
                         f"the {n}-head design)")


def leak_per_step_for(cfg, spec=None, *, mode: str | None = None) -> float:
    """The leak per token step the simulator should use for design ``cfg``: the estimated
    token period (``n_layers (layer latency + overhead)``, of the ``mode``'s estimate) over
    tau at the device's temperature. Dimensionless."""
    return estimate(cfg, spec=spec, mode=mode).retention.leak_per_step


def retention_config(cfg, spec=None, *, mode: str | None = None):
    """``cfg`` with ``leak_per_step`` (and ``token_period`` where the parameters have it) set
    from the design's own estimated token period (see :func:`leak_per_step_for`)."""
    r = estimate(cfg, spec=spec, mode=mode).retention
    if "token_period" in {f.name for f in dataclasses.fields(cfg)}:
        return cfg.replace(token_period=r.token_period_s)   # leak_per_step follows, at tau(T)
    return cfg.replace(leak_per_step=r.leak_per_step)
