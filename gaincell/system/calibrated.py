"""The calibrated mode: the component library with one constant per energy group fitted to the
paper's published totals, so that the ``leroux2025`` design reproduces them exactly.

The four fitted constants (stage-1 and stage-2 conversion energy, DAC conversion energy,
controller power per tile) and the output handshake time are each the residual of their
published group after the physical terms; :func:`calibrate` solves for them from a
:class:`Published` record (default :data:`LEROUX2025`). Change the published record and the
calibrated estimate moves; the predicted mode (:mod:`gaincell.system.predicted`) does not read
it at all. Away from the paper's design the calibrated constants are carried over unchanged
(the digital ones scaled with the node by constant-field scaling).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import lru_cache
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
from gaincell.system.spec import SystemSpec
from gaincell.system.workload import Workload, levels_of

__all__ = ["Published", "LEROUX2025", "Calibration", "calibrate", "build_components",
           "is_paper_point", "latency", "area", "tile_pitch", "energy"]


@dataclass(frozen=True)
class Published:
    """Published totals a calibration is fitted to (SI units).

    Attributes
    ----------
    latency_s : float
        Latency per token of one layer, s.
    stage1_j, stage2_j, digital_j, dac_j : float
        Energy per token per head of the phi(Q K) stage, the phi(S) V stage, digital control
        and routing, and the DACs, J.
    area_head_m2 : float
        Area per head, m^2 (not used by the calibration: unconfirmed).
    leak_per_step : float
        The paper's leak per token step.
    source : str
        Where the numbers come from.
    """

    latency_s: float = 65e-9
    stage1_j: float = 1120e-12
    stage2_j: float = 700e-12
    digital_j: float = 4000e-12
    dac_j: float = 330e-12
    area_head_m2: float = 0.5e-6
    leak_per_step: float = 1.6e-4
    source: str = ("Leroux et al., Nat. Comput. Sci. 5, 813 (2025); code utils/plot_energy.py "
                   "(energy groups); area per head from a secondary summary (unconfirmed)")

    @property
    def energy_j(self) -> float:
        """Energy per token per head, J (sum of the four groups)."""
        return self.stage1_j + self.stage2_j + self.digital_j + self.dac_j

    def groups(self) -> dict[str, float]:
        """Group key -> published energy, J."""
        return {"stage1": self.stage1_j, "stage2": self.stage2_j, "digital": self.digital_j,
                "dac": self.dac_j}


#: The paper's published figures.
LEROUX2025 = Published()


@dataclass(frozen=True)
class Calibration:
    """The fitted constants (see :func:`calibrate`).

    Attributes
    ----------
    stage1_conversion_j, stage2_conversion_j : float
        Energy per first- / second-stage conversion, J.
    dac_energy_ref_j : float
        DAC conversion energy at the reference level count, J.
    control_power_per_tile_w : float
        Controller power per tile at the reference node, W.
    t_handshake_s : float
        Output handshake time, s (closes the published latency).
    published : Published
        What they were fitted to.
    """

    stage1_conversion_j: float
    stage2_conversion_j: float
    dac_energy_ref_j: float
    control_power_per_tile_w: float
    t_handshake_s: float
    published: Published


_ZERO = Calibration(0.0, 0.0, 0.0, 0.0, 0.0, LEROUX2025)


def is_paper_point(cfg: AttentionConfig) -> bool:
    """True when ``cfg`` is the leroux2025 design (any number of heads)."""
    return dataclasses.replace(cfg, n_heads=12) == AttentionConfig.leroux2025()


def _bits(levels: int) -> int:
    return max(1, int(math.ceil(math.log2(levels))))


def build_components(cfg: AttentionConfig, spec=None,
                     calibration: Calibration | None = None) -> dict[str, Any]:
    """The components of one head of design ``cfg``, keyed by role (``SystemSpec`` overrides
    applied after the calibration). Errors name the ``[system.<role>]`` table."""
    spec = spec or SystemSpec()
    cal = calibrate() if calibration is None else calibration
    d = cfg.device
    tech = Technology(node=spec.technology_nm * 1e-9, vdd=d.vdd)
    rows_k = cfg.n_row_tiles * cfg.array_rows
    counter_levels = levels_of(d.out_levels)
    base: dict[str, Any] = {
        "array": GainCellArray(rows=rows_k, cols=cfg.window, v_read=d.v_read,
                               v_bitline=d.v_weight_zero, vdd=d.vdd, c_store=d.c_store),
        "dac": WriteDAC(levels=levels_of(d.kv_levels), line_cells=cfg.array_cols, vdd=d.vdd,
                        energy_ref=cal.dac_energy_ref_j),
        "pwm": PWMDriver(levels=levels_of(d.q_levels), t_max=d.t_max, line_cells=cfg.window,
                         v_read=d.v_read, v_idle=d.v_read_idle, vdd=d.vdd, tech=tech),
        "stage1": ChargeToPulse(signed=False, q_sat=d.stage1_q_sat, t_max=d.t_max,
                                energy_conv=cal.stage1_conversion_j, line_cells=cfg.head_dim,
                                v_read=d.v_read, v_idle=d.v_read_idle, vdd=d.vdd),
        "stage2": ChargeToPulse(signed=True, q_sat=d.stage2_q_sat, t_max=d.t_max,
                                energy_conv=cal.stage2_conversion_j, line_cells=0,
                                v_read=d.v_read, v_idle=d.v_read_idle, vdd=d.vdd),
        "counter": SignedCounter(levels=counter_levels, tech=tech),
        "controller": Controller(n_tiles=cfg.n_subarrays * cfg.n_row_tiles, tech=tech,
                                 power_per_tile=cal.control_power_per_tile_w,
                                 t_handshake=cal.t_handshake_s),
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


def latency(cfg: AttentionConfig, c: dict[str, Any]) -> Breakdown:
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


def area(cfg: AttentionConfig, c: dict[str, Any]) -> Breakdown:
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


def tile_pitch(cfg: AttentionConfig, area: Breakdown, c: dict[str, Any]) -> float:
    """Edge of one tile, m: the head's tiled blocks (everything but routing and head-level
    control) over the tiles, as a square."""
    per_item = area.by_item()
    tiled = area.total - per_item["routing channels"] - c["controller"].area_head \
        * c["controller"].tech.area_scale
    return math.sqrt(max(tiled, 0.0) / (cfg.n_subarrays * cfg.n_row_tiles))


def energy(cfg: AttentionConfig, c: dict[str, Any], wl: Workload, t_token: float,
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


def _nonneg(name: str, value: float, group: str) -> float:
    if value < 0:
        raise ValueError(f"published {group} is below the physical terms of its group: the "
                         f"calibrated {name} would be {value:.4g} (< 0); allowed a published "
                         f"total at least the computed physical part")
    return value


@lru_cache(maxsize=8)
def calibrate(published: Published = LEROUX2025) -> Calibration:
    """Fit the calibrated constants so the leroux2025 design reproduces ``published``.

    The handshake closes the latency; each energy constant is its group's published total
    minus the group's physical terms, divided by its count at the design point (stage-1
    conversions, stage-2 conversions, cells written, tiles x token time).
    """
    if not isinstance(published, Published):
        raise ValueError(f"published must be a Published, got {type(published).__name__}")
    cfg, spec = AttentionConfig.leroux2025(), SystemSpec()
    comps = build_components(cfg, spec, _ZERO)
    t_hs = _nonneg("handshake time", published.latency_s - latency(cfg, comps).total,
                   "latency")
    zero = dataclasses.replace(_ZERO, t_handshake_s=t_hs)
    comps = build_components(cfg, spec, zero)
    t_token = latency(cfg, comps).total
    ar = area(cfg, comps)
    wl = Workload.average_case(cfg)
    g = energy(cfg, comps, wl, t_token, tile_pitch(cfg, ar, comps), "").by_group()
    n_tiles = comps["controller"].n_tiles
    return Calibration(
        stage1_conversion_j=_nonneg("stage-1 conversion energy",
                                    (published.stage1_j - g["stage1"]) / wl.stage1_conversions,
                                    "stage-1 energy"),
        stage2_conversion_j=_nonneg("stage-2 conversion energy",
                                    (published.stage2_j - g["stage2"]) / wl.stage2_conversions,
                                    "stage-2 energy"),
        dac_energy_ref_j=_nonneg("DAC conversion energy",
                                 (published.dac_j - g["dac"]) / wl.cells_written, "DAC energy"),
        control_power_per_tile_w=_nonneg("controller power per tile",
                                         (published.digital_j - g["digital"])
                                         / (n_tiles * t_token), "digital energy"),
        t_handshake_s=t_hs, published=published)
