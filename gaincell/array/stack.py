"""Several attention layers, each with its own ring buffers, streamed token by token."""

from __future__ import annotations

import numbers

import numpy as np

from gaincell._checks import as_finite
from gaincell.array.attention import GainCellAttention
from gaincell.params import AttentionConfig

__all__ = ["AttentionStack"]


class AttentionStack:
    """``n_layers`` independent :class:`GainCellAttention` layers (a whole model's attention).

    Layer ``l`` is seeded with ``(seed, l)``. Feed each layer its own q, k, v: either all
    layers at once (``step`` with (L, B, H, D) arrays; ``forward`` with (L, B, H, T, D)), or
    one layer at a time with :meth:`step_layer` when a model computes layer l+1's inputs from
    layer l's output.
    """

    def __init__(self, cfg: AttentionConfig, n_layers: int, seed: int = 0):
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise ValueError(f"n_layers = {n_layers!r} is invalid: allowed an integer >= 1")
        self.cfg = cfg
        self.layers = [GainCellAttention(cfg, seed=(seed, layer)) for layer in range(n_layers)]

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def state_nbytes(self) -> int:
        """Bytes of all layers' streaming state."""
        return sum(layer.state_nbytes for layer in self.layers)

    def reset(self) -> None:
        """Empty every layer's ring buffer."""
        for layer in self.layers:
            layer.reset()

    def _split(self, name: str, x, ndim: int) -> np.ndarray:
        a = as_finite(name, x)
        if a.ndim != ndim or a.shape[0] != self.n_layers:
            raise ValueError(f"{name} has shape {a.shape}: allowed a {ndim}-D array with "
                             f"first axis n_layers = {self.n_layers}")
        return a

    def step_layer(self, layer: int, q, k, v, trace: bool = False):
        """Stream one token through layer ``layer`` ((B, H, D) arrays)."""
        if (isinstance(layer, bool) or not isinstance(layer, numbers.Integral)
                or not 0 <= layer < self.n_layers):
            raise ValueError(f"layer = {layer!r} is invalid: allowed 0 .. {self.n_layers - 1}")
        return self.layers[layer].step(q, k, v, trace=trace)

    def step(self, q, k, v) -> np.ndarray:
        """One token through every layer: (L, B, H, D) arrays -> (L, B, H, D)."""
        q, k, v = (self._split(n, x, 4) for n, x in (("q", q), ("k", k), ("v", v)))
        return np.stack([lay.step(q[i], k[i], v[i]) for i, lay in enumerate(self.layers)])

    def forward(self, q, k, v) -> np.ndarray:
        """Whole sequences through every layer: (L, B, H, T, D) -> (L, B, H, T, D)."""
        q, k, v = (self._split(n, x, 5) for n, x in (("q", q), ("k", k), ("v", v)))
        return np.stack([lay.forward(q[i], k[i], v[i]) for i, lay in enumerate(self.layers)])
