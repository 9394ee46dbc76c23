"""SPICE layer: netlist builders, the ngspice runner, characterization, validation.

- :mod:`~gaincell.spice.netlist`: :class:`Netlist`, :class:`CircuitKit` (model cards and cell
  sub-circuit; swap in a PDK), the pre-flight check;
- :mod:`~gaincell.spice.runner`: :func:`simulate`, :func:`simulate_many` (one ngspice per
  child process, timeouts, PySpice shared library or ``ngspice -b``);
- :mod:`~gaincell.spice.benches`: test benches built from :class:`~gaincell.DeviceParams`;
- :mod:`~gaincell.spice.characterize`: I-V sweep, retention, charge-to-pulse transfer, fits,
  versioned output with provenance;
- :mod:`~gaincell.spice.validate`: the behavioural-vs-SPICE checks and their error budgets;
- :mod:`~gaincell.spice.report`: the validation report.

See ``gaincell/spice/README.md``.
"""

from gaincell.spice.errors import (
                                   ConvergenceError,
                                   ModelCardError,
                                   NetlistError,
                                   NgspiceNotFound,
                                   SpiceError,
                                   SpiceTimeout,
)
from gaincell.spice.netlist import CircuitKit, Netlist, circuits_dir, preflight
from gaincell.spice.runner import (
                                   SimResult,
                                   ngspice_available,
                                   ngspice_version,
                                   simulate,
                                   simulate_many,
)

__all__ = [
    "SpiceError", "NgspiceNotFound", "NetlistError", "ModelCardError", "ConvergenceError",
    "SpiceTimeout", "CircuitKit", "Netlist", "circuits_dir", "preflight", "SimResult",
    "ngspice_available", "ngspice_version", "simulate", "simulate_many",
]
