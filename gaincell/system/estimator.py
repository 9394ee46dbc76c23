"""The estimator: latency, energy and area of a gain-cell attention design, with breakdowns.

Per head and token the hardware (i) writes the new key and value through the DACs, (ii) resets
the bit lines, (iii) applies the query as PWM pulses to the K array (first dot product), (iv)
converts every K column's charge into a pulse phi that drives a V-array word line (second dot
product), (v) converts every V sub-array output into a signed count, (vi) adds the sub-array
counts in a tree and hands the result over. Heads run in parallel; layers one after another.
Every number below comes from a component action in :mod:`gaincell.system.components`
applied to a :class:`~gaincell.system.workload.Workload` (the average case, or the activity of
a simulation); nothing is scaled from a published total.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from gaincell.params import AttentionConfig
from gaincell.system.breakdown import Breakdown
from gaincell.system.components import (
    AdderTree,
    ChargeToPulse,
    Controller,
    GainCellArray,
    PWMDriver,
    Routing,
    SignedCounter,
    Technology,
    WriteDAC,
)
from gaincell.system.components.converter import STAGE2_CONVERSION_J
from gaincell.system.gpu import GPUComparison, compare_gpus
from gaincell.system.retention import RetentionLink
from gaincell.system.spec import SystemSpec
from gaincell.system.workload import Workload, levels_of

__all__ = ["estimate", "Estimate", "build_components"]


def _bits(levels: int) -> int:
    return max(1, int(math.ceil(math.log2(levels))))


def build_components(cfg: AttentionConfig, spec: SystemSpec | None = None) -> dict[str, Any]:
    """The components of one head of design ``cfg``, keyed by role (``SystemSpec`` overrides
    applied). Errors name the ``[system.<role>]`` table."""
    spec = spec or SystemSpec()
    d = cfg.device
    tech = Technology(node=spec.technology_nm * 1e-9, vdd=d.vdd)
    rows_k = cfg.n_row_tiles * cfg.array_rows
    counter_levels = levels_of(d.out_levels)
    base: dict[str, Any] = {
        "array": GainCellArray(rows=rows_k, cols=cfg.window, v_read=d.v_read,
                               v_bitline=d.v_weight_zero, vdd=d.vdd, c_store=d.c_store),
        "dac": WriteDAC(levels=levels_of(d.kv_levels), line_cells=cfg.array_cols, vdd=d.vdd),
        "pwm": PWMDriver(levels=levels_of(d.q_levels), t_max=d.t_max, line_cells=cfg.window,
                         v_read=d.v_read, v_idle=d.v_read_idle, vdd=d.vdd, tech=tech),
        "stage1": ChargeToPulse(signed=False, q_sat=d.stage1_q_sat, t_max=d.t_max,
                                line_cells=cfg.head_dim, v_read=d.v_read,
                                v_idle=d.v_read_idle, vdd=d.vdd),
        "stage2": ChargeToPulse(signed=True, q_sat=d.stage2_q_sat, t_max=d.t_max,
                                energy_conv=STAGE2_CONVERSION_J, line_cells=0,
                                v_read=d.v_read, v_idle=d.v_read_idle, vdd=d.vdd),
        "counter": SignedCounter(levels=counter_levels, tech=tech),
        "controller": Controller(n_tiles=cfg.n_subarrays * cfg.n_row_tiles, tech=tech),
        "routing": Routing(vdd=d.vdd),
    }
    base["adder"] = AdderTree(n_inputs=cfg.n_subarrays, width=cfg.head_dim,
                              in_bits=base["counter"].bits, tech=tech)
    out = {}
    for role, comp in base.items():
        over = spec.components.get(role, {})
        try:
            out[role] = dataclasses.replace(comp, **over) if over else comp
        except ValueError as e:
            raise ValueError(f"[system.{role}]: {e}") from None
    return out


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
        return self.n_layers * (self.latency_layer_s + self.spec.overhead_per_layer_s)

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
            "n_heads": self.cfg.n_heads, "head_dim": self.cfg.head_dim,
            "window": self.cfg.window, "array_rows": self.cfg.array_rows,
            "array_cols": self.cfg.array_cols, "q_levels": self.cfg.device.q_levels,
            "kv_levels": self.cfg.device.kv_levels, "out_levels": self.cfg.device.out_levels,
            "vdd_V": self.cfg.device.vdd, "t_max_s": self.cfg.device.t_max,
            "tau_s": self.cfg.device.tau, "n_layers": self.n_layers,
            "technology_nm": self.spec.technology_nm,
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
            "design": self.cfg.to_dict(),
            "system": self.spec.to_dict(),
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
            "gpu": [c.to_dict() for c in self.gpu],
            "components": {role: {"class": type(c).__name__,
                                  "params": {k: (v if isinstance(v, (int, float, str, bool))
                                                 else repr(v))
                                             for k, v in c.params().items()},
                                  "sources": c.sources()}
                           for role, c in self.components.items()},
        }


def _latency(cfg: AttentionConfig, c: dict[str, Any]) -> Breakdown:
    stage2 = max(c["stage2"].convert(1).latency, c["counter"].count(1, 0).latency)
    items = (
        ("write", "K/V write (DAC settle + write pulse)", c["dac"].convert(0, 0).latency),
        ("read", "bit-line and integrator reset", c["controller"].reset().latency),
        ("read", "query pulses on K (stage-1 integration)", c["pwm"].pulse(0).latency),
        ("read", "stage-1 charge-to-pulse (phi drives V)", c["stage1"].convert(0).latency),
        ("read", "stage-2 signed conversion and count", stage2),
        ("digital", "adder tree over sub-arrays", c["adder"].add().latency),
        ("digital", "output handshake", c["controller"].handshake().latency),
    )
    return Breakdown("latency per token per layer", "s", items)


def _area(cfg: AttentionConfig, c: dict[str, Any]) -> Breakdown:
    D, W, n_sub = cfg.head_dim, cfg.window, cfg.n_subarrays
    rows = cfg.n_row_tiles * cfg.array_rows
    cell = c["array"].cell_area
    items = [
        ("cells", "K gain cells", rows * W * cell),
        ("cells", "V gain cells", W * rows * cell),
        ("periphery", "stage-1 integrators and converters", W * c["stage1"].area()),
        ("periphery", "stage-2 signed converters", n_sub * D * c["stage2"].area()),
        ("periphery", "query PWM drivers", D * c["pwm"].area(n_sub * cfg.n_row_tiles)),
        ("periphery", "write DACs", 2 * D * c["dac"].area()),
        ("digital", "signed counters", n_sub * D * c["counter"].area()),
        ("digital", "adder tree", c["adder"].area()),
        ("digital", "controller", c["controller"].area()),
    ]
    routed = sum(v for _, _, v in items)
    items.append(("digital", "routing channels", c["routing"].area(routed)))
    return Breakdown("area per head", "m^2", tuple(items))


def _tile_pitch(cfg: AttentionConfig, area: Breakdown, c: dict[str, Any]) -> float:
    """Edge of one tile, m: the head's tiled blocks (everything but routing and head-level
    control) over the tiles, as a square."""
    per_item = area.by_item()
    tiled = area.total - per_item["routing channels"] - c["controller"].area_head \
        * c["controller"].tech.area_scale
    return math.sqrt(max(tiled, 0.0) / (cfg.n_subarrays * cfg.n_row_tiles))


def _energy(cfg: AttentionConfig, c: dict[str, Any], wl: Workload, t_token: float,
            pitch: float, quantity: str) -> Breakdown:
    d = cfg.device
    D, n_sub = cfg.head_dim, cfg.n_subarrays
    length = n_sub * pitch                                   # head length, m (tiles in a row)
    q_bits = _bits(levels_of(d.q_levels))
    kv_bits = _bits(levels_of(d.kv_levels))
    adder = c["adder"]
    bm_query = D * q_bits * length                          # broadcast to every tile
    bm_kv = 2 * D * kv_bits * length / 2                    # to one tile, on average half way
    bm_sums = D * c["counter"].bits * adder.stages * length / 2   # binary tree along the row
    items = (
        ("stage1", "K array read (cell charge)", c["array"].read(wl.k_charge_abs).energy),
        ("stage1", "query word lines", c["pwm"].pulse(wl.q_pulses).energy),
        ("stage1", "query pulse generators", c["pwm"].generate(D).energy),
        ("stage1", "stage-1 converters", c["stage1"].convert(wl.stage1_conversions).energy),
        ("stage2", "V array read (cell charge)", c["array"].read(wl.v_charge_abs).energy),
        ("stage2", "phi word lines", c["stage1"].drive(wl.phi_pulses).energy),
        ("stage2", "stage-2 signed converters",
         c["stage2"].convert(wl.stage2_conversions).energy),
        ("stage2", "signed counters",
         c["counter"].count(wl.stage2_conversions, wl.counter_counts_abs).energy),
        ("digital", "controller", c["controller"].run(t_token).energy),
        ("digital", "adder tree", adder.add().energy),
        ("digital", "routing: query broadcast", c["routing"].move(bm_query).energy),
        ("digital", "routing: K/V delivery", c["routing"].move(bm_kv).energy),
        ("digital", "routing: partial sums", c["routing"].move(bm_sums).energy),
        ("dac", "DAC conversions and write bit lines",
         c["dac"].convert(wl.cells_written, wl.write_voltage_sum).energy),
        ("dac", "K/V cell writes", c["array"].write(wl.cells_written,
                                                     wl.write_voltage_sum).energy),
    )
    return Breakdown(quantity, "J", items)


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


def estimate(cfg: AttentionConfig | None = None, n_layers: int | None = None,
             tokens: int | None = None, *, activity=None,
             spec: SystemSpec | None = None) -> Estimate:
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
        Activity counts of a simulation; adds the data-dependent energy beside the
        average case.
    spec : SystemSpec, optional
        Node, overheads and component overrides (as a design file's ``[system]`` table).

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
    comps = build_components(cfg, spec)
    latency = _latency(cfg, comps)
    area = _area(cfg, comps)
    pitch = _tile_pitch(cfg, area, comps)
    t_token = latency.total
    wl = Workload.average_case(cfg)
    energy = _energy(cfg, comps, wl, t_token, pitch, "energy per token per head")
    data_wl = data_energy = None
    if activity is not None:
        data_wl = Workload.from_activity(activity)
        _check_activity_matches(cfg, data_wl)
        data_energy = _energy(cfg, comps, data_wl, t_token, pitch,
                              "data-dependent energy per token per head")
    period = spec.n_layers * (t_token + spec.overhead_per_layer_s)
    retention = RetentionLink(token_period_s=period, tau_s=cfg.device.tau,
                              config_leak_per_step=cfg.leak_per_step, window=cfg.window)
    est = Estimate(cfg=cfg, spec=spec, components=comps, workload=wl, latency=latency,
                   energy=energy, area=area, data_workload=data_wl, data_energy=data_energy,
                   retention=retention, gpu=())
    return dataclasses.replace(est, gpu=compare_gpus(est))
