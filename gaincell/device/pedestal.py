"""Write pedestal: the storage-node shift the write leaves behind.

When the write word line falls, the write device's channel charge and its gate-to-node overlap
capacitance push the floating storage node away from the level the DAC drove (charge injection
and clock feed-through). The shift depends on the written level (the channel charge does), so
it is a function ``p(v)``, V, of the ideal DAC level ``v``, V; the cell then stores
``v + p(v)`` (plus the write noise, held within [0, vdd]:
:meth:`gaincell.array._state.Writer.store`). It is given as a short polynomial,
``DeviceParams.write_pedestal_coef_v`` = (c_0, c_1, ...), ``p(v) = sum_i c_i v**i``, fitted to
a SPICE write bench (:func:`fit_write_pedestal`).
"""

from __future__ import annotations

import numpy as np

from gaincell._checks import as_finite
from gaincell.params import DeviceParams

__all__ = ["write_pedestal", "fit_write_pedestal"]


def write_pedestal(v, coef) -> np.ndarray:
    """``p(v) = sum_i coef[i] v**i`` (V) at DAC levels ``v`` (V), float64 (Horner).

    ``coef`` is a sequence of coefficients in V / V^i or a :class:`DeviceParams` (its
    ``write_pedestal_coef_v``); an empty sequence gives zeros.
    """
    if isinstance(coef, DeviceParams):
        coef = coef.write_pedestal_coef_v
    v = np.asarray(v, dtype=np.float64)
    c = [float(x) for x in coef]
    if not c:
        return np.zeros_like(v)
    p = np.full_like(v, c[-1])
    for ci in reversed(c[:-1]):
        p = p * v + ci
    return p


def fit_write_pedestal(v0, pedestal, degree: int = 1) -> tuple[float, ...]:
    """Least-squares polynomial ``p(v)`` of ``degree`` (0 to 3) through measured pedestals.

    ``v0``: the levels the DAC drove, V; ``pedestal``: the node voltage just after the write
    minus ``v0``, V (same length, at least ``degree + 1`` points). Returns (c_0, ..., c_degree)
    in V / V^i, lowest power first, ready for ``DeviceParams.write_pedestal_coef_v``.
    """
    x = as_finite("v0", v0).ravel()
    y = as_finite("pedestal", pedestal).ravel()
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) \
            or not 0 <= degree <= 3:
        raise ValueError(f"degree = {degree!r} is invalid: allowed an integer in [0, 3]")
    if x.shape != y.shape or x.size < degree + 1:
        raise ValueError(f"v0 and pedestal have {x.size} and {y.size} points: allowed equal "
                         f"lengths of at least degree + 1 = {degree + 1}")
    c = np.polynomial.polynomial.polyfit(x, y, int(degree))
    return tuple(float(a) for a in c)
