"""Exceptions of the SPICE layer: every failure of an ngspice run becomes one of these.

Each message names the netlist file and, where ngspice points at one, the line it complained
about (``file:line: text``), so a user never has to read a traceback from inside PySpice.
"""

from __future__ import annotations

__all__ = ["SpiceError", "NgspiceNotFound", "NetlistError", "ModelCardError", "UnsafeNetlist",
           "ConvergenceError", "SpiceTimeout"]


class SpiceError(RuntimeError):
    """Any failure of a SPICE run. ``log`` holds ngspice's own output (list of lines)."""

    def __init__(self, message: str, log: list[str] | None = None):
        super().__init__(message)
        self.log = list(log or [])


class NgspiceNotFound(SpiceError):
    """Neither ngspice's shared library (libngspice) nor the ``ngspice`` executable is usable."""


class NetlistError(SpiceError):
    """ngspice rejected the netlist (syntax error, unknown element or sub-circuit)."""


class ModelCardError(NetlistError):
    """A model card or an included model-card file is missing."""


class ConvergenceError(SpiceError):
    """The analysis did not converge (operating point or transient time step too small)."""


class SpiceTimeout(SpiceError):
    """The run exceeded its time limit and was killed."""


class UnsafeNetlist(NetlistError, ValueError):
    """A netlist holds what gaincell refuses to run: an ngspice interpreter block
    (``.control``, ``shell``, ...), an invalid name, an include that is not a regular file.

    Also a ``ValueError``: it is bad input, and the command line exits with code 2.
    """
