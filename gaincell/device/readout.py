"""Charge-to-pulse readout: the ADC-free HardSigmoid between the two dot products.

First stage (the paper's Eq. 3): the bit-line charge ``Q`` is integrated, then discharged by a
reference current while a comparator holds the output pulse; the pulse width is
``T = T_max min(max(Q - Q_off, 0), Q_sat) / Q_sat``: zero for negative charge, linear, then
saturated at ``T_max``. Here ``phi = T / T_max`` in [0, 1] is returned.

Second stage: each V sub-array's signed charge is converted the same way with a sign bit and
counted by a signed counter: ``quantize((Q - Q_off) / Q_fs, out_lo, out_hi, out_levels)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from gaincell._checks import as_finite, check_positive
from gaincell.device.quantize import quantize

__all__ = ["hardsigmoid", "pulse_width", "signed_readout"]


@njit(cache=True)
def _hardsigmoid_kernel(q, q_sat, out):  # pragma: no cover - compiled
    fq = q.ravel()
    fo = out.ravel()
    for n in range(fq.size):
        fo[n] = min(max(fq[n] / q_sat, 0.0), 1.0)


def hardsigmoid(charge, q_sat: float, offset=0.0) -> np.ndarray:
    """Pulse width as a fraction of T_max, ``clip((charge - offset) / q_sat, 0, 1)``.

    ``charge``, ``offset`` and ``q_sat`` share a unit (C in SI; the paper's code uses
    uA x T_max with ``q_sat = 80``). ``offset`` is the comparator's input-referred offset
    (scalar or broadcasting array).
    """
    q = as_finite("charge", charge)
    q_sat = check_positive("q_sat", q_sat)
    off = as_finite("offset", offset)
    if off.size > 1 or float(off.ravel()[0] if off.size else 0.0) != 0.0:
        q = q - off
    q = np.ascontiguousarray(q, dtype=np.float64)
    out = np.empty_like(q)
    _hardsigmoid_kernel(q, q_sat, out)
    return out


def pulse_width(charge, q_sat: float, t_max: float, offset=0.0) -> np.ndarray:
    """Output pulse width in seconds: ``t_max * hardsigmoid(charge, q_sat, offset)``."""
    return check_positive("t_max", t_max, "s") * hardsigmoid(charge, q_sat, offset)


def signed_readout(charge, q_fs: float, levels: int | None = 32, lo: float = -1.0,
                   hi: float = 1.0, offset=0.0) -> np.ndarray:
    """Counter value (units of full scale) of a signed charge-to-pulse converter.

    ``quantize((charge - offset) / q_fs, lo, hi, levels)``; ``q_fs`` in the unit of ``charge``.
    """
    q = as_finite("charge", charge)
    q_fs = check_positive("q_fs", q_fs)
    return quantize((q - as_finite("offset", offset)) / q_fs, lo, hi, levels)
