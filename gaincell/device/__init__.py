"""Behavioural device layer: cell transfer, fitting, leakage, quantizers, readout, noise."""

from gaincell.device.coherence import DesignUsage, design_usage, design_warnings
from gaincell.device.fit import CellFit, fit_cell, fit_poly
from gaincell.device.leakage import decay_factor, leak_per_step, relax, sample_tau
from gaincell.device.noise import (
                                   add_read_noise,
                                   add_write_noise,
                                   as_rng,
                                   comparator_offsets,
                                   gain_mismatch,
)
from gaincell.device.pedestal import fit_write_pedestal, write_pedestal
from gaincell.device.quantize import counter, dac, pwm, quantize, quantize_codes, quantizer_step
from gaincell.device.readout import hardsigmoid, pulse_width, signed_readout
from gaincell.device.retention_table import (
                                   RetentionInterp,
                                   retention_voltage,
                                   seconds_per_leak,
)
from gaincell.device.transfer import (
                                   CellTransfer,
                                   eval_poly,
                                   interp_lut,
                                   linear_equivalent_gain_ua_per_v,
                                   poly_read_coeffs_ua,
)

__all__ = [
    "CellFit", "fit_cell", "fit_poly",
    "decay_factor", "leak_per_step", "relax", "sample_tau",
    "add_read_noise", "add_write_noise", "as_rng", "comparator_offsets", "gain_mismatch",
    "counter", "dac", "pwm", "quantize", "quantize_codes", "quantizer_step",
    "hardsigmoid", "pulse_width", "signed_readout",
    "CellTransfer", "eval_poly", "interp_lut", "poly_read_coeffs_ua",
    "linear_equivalent_gain_ua_per_v",
    "DesignUsage", "design_usage", "design_warnings",
    "write_pedestal", "fit_write_pedestal",
    "RetentionInterp", "retention_voltage", "seconds_per_leak",
]
