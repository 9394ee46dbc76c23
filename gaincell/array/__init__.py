"""Array/tile layer: sub-arrays, K/V tile pairs, sliding-window attention heads and layers."""

from gaincell.array.activity import Activity
from gaincell.array.attention import AttentionTrace, GainCellAttention
from gaincell.array.mapping import InputClippedWarning, InputMap, clipped_fraction, fit_input_map
from gaincell.array.stack import AttentionStack
from gaincell.array.subarray import SubArray, TiledHead, TilePair

__all__ = ["Activity", "AttentionStack", "AttentionTrace", "GainCellAttention", "SubArray",
           "TiledHead", "TilePair", "InputMap", "fit_input_map", "clipped_fraction",
           "InputClippedWarning"]
