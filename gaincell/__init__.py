"""gaincell: a simulator for analog in-memory-computing attention on gain-cell memories.

The public API is small and re-exported from the layers:

- parameters: :class:`AttentionConfig`, :class:`DeviceParams`, :class:`IVTable`,
  :class:`RetentionTable`,
  :func:`load_toml`, :func:`save_toml`;
- :class:`GainCellAttention` (one layer of heads, batched and streaming) and
  :class:`AttentionStack` (several layers), :mod:`gaincell.reference` (ideal attention),
  :func:`monte_carlo` (the spread over chips);
- :mod:`gaincell.device`: cell transfer, fitting, leakage, quantizers, readout, noise;
- :mod:`gaincell.system`: latency, energy and area estimates, GPU baselines, reports.
"""

from gaincell import device, explore, reference, system
from gaincell._version import __version__
from gaincell.array import Activity, AttentionStack, AttentionTrace, GainCellAttention
from gaincell.array.montecarlo import MonteCarloResult, monte_carlo
from gaincell.params import (
    AttentionConfig,
    DeviceParams,
    IVTable,
    RetentionTable,
    load_toml,
    save_toml,
)

__all__ = [
    "AttentionConfig", "DeviceParams", "IVTable", "RetentionTable", "load_toml", "save_toml",
    "GainCellAttention", "AttentionStack", "AttentionTrace", "Activity",
    "monte_carlo", "MonteCarloResult",
    "device", "reference", "system", "explore", "__version__",
]
