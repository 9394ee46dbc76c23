"""Component library: one small class per block, each with actions (energy J, latency s),
an area (m^2), its parameters' sources in ``SOURCES`` and the overridable ones in ``TUNABLE``.
"""

from gaincell.system.components.array import GainCellArray
from gaincell.system.components.base import Action, Technology
from gaincell.system.components.converter import ChargeToPulse
from gaincell.system.components.counter import SignedCounter
from gaincell.system.components.dac import WriteDAC
from gaincell.system.components.digital import AdderTree, Controller
from gaincell.system.components.pwm import PWMDriver
from gaincell.system.components.routing import Routing

__all__ = ["Action", "Technology", "GainCellArray", "WriteDAC", "PWMDriver", "ChargeToPulse",
           "SignedCounter", "AdderTree", "Controller", "Routing"]
