"""A small nanoGPT-like character-level decoder with a choice of attention.

``attention`` selects the variant of every layer:

- ``"softmax"``: sliding-window softmax attention (software baseline);
- ``"linear"``: the gain-cell hardware with the paper's linear intermediate cell
  (``I = 19.3 uA/V * w``), same quantizers, HardSigmoid, sub-arrays and leakage;
- ``"nonlinear"``: the gain-cell hardware with the cubic cell of the ``leroux2025`` preset,
  trained with the linear surrogate gradient.

Hardware layers map the float projections into hardware units with per-head
:class:`~gaincell.nn.scaler.AffineScaler` s (q -> pulse width, k, v -> stored voltage) and map
the digital output back with a fourth one, as the paper does. All variants share parameter
names, so a checkpoint of one initializes another (``load_state_dict``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gaincell.array.mapping import InputClippedWarning
from gaincell.nn._torch import torch
from gaincell.nn.attention import GainCellAttention, softmax_attention
from gaincell.nn.scaler import AffineScaler
from gaincell.params import LEROUX2025_V_WEIGHT_ZERO, AttentionConfig

nn = torch.nn
F = torch.nn.functional

__all__ = ["ModelConfig", "GPT", "VARIANTS"]

VARIANTS = ("softmax", "linear", "nonlinear")
#: Scaler initialization of the paper (CODE, LinearDRAMAttention / DRAMAttention):
#: q: a = 1, b = 0; k and v: a = 1, b = VDD/2 = 0.45 V; output a = 1.
SCALER_NAMES = ("q", "k", "v", "out")


@dataclass(frozen=True)
class ModelConfig:
    """Geometry of the decoder and its attention variant.

    Attributes
    ----------
    vocab_size : int
        Number of tokens (characters).
    block_size : int
        Context length T in tokens (training sequences and generation context).
    n_layer, n_head, n_embd : int
        Layers, heads per layer and embedding width; head dim = n_embd / n_head must equal
        the hardware config's head_dim (64 in the ``leroux2025`` preset).
    window : int
        Sliding-window length in tokens (<= block_size; a multiple of the sub-array columns,
        64, for the hardware variants).
    attention : str
        ``"softmax"``, ``"linear"`` or ``"nonlinear"``.
    dropout : float
        Dropout probability on residual branches (0 keeps training deterministic).
    hw_overrides : dict
        Keyword overrides of ``AttentionConfig.leroux2025`` (device or attention fields,
        e.g. ``{"kv_levels": 16}``, or mismatch and noise ``{"sigma_gain_mismatch": 0.05}``);
        ``n_heads``, ``head_dim``, ``window`` and ``cell_model`` come from this config.
    hw_seed : int
        Seed of the simulated chips: layer ``l``'s torch twin holds the static draws and the
        noise streams of ``gaincell.GainCellAttention(cfg, seed=hw_seed + l)``. Default 0.
    """

    vocab_size: int = 65
    block_size: int = 128
    n_layer: int = 3
    n_head: int = 2
    n_embd: int = 128
    window: int = 64
    attention: str = "softmax"
    dropout: float = 0.0
    hw_overrides: dict = field(default_factory=dict)
    hw_seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.hw_seed, bool) or not isinstance(self.hw_seed, int) or \
                self.hw_seed < 0:
            raise ValueError(f"ModelConfig.hw_seed = {self.hw_seed!r}: allowed an integer >= 0")
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd", "window"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"ModelConfig.{name} = {v!r}: allowed an integer >= 1")
        if self.attention not in VARIANTS:
            raise ValueError(f"ModelConfig.attention = {self.attention!r}: allowed one of "
                             f"{VARIANTS}")
        if self.n_embd % self.n_head:
            raise ValueError(f"ModelConfig.n_embd = {self.n_embd} is not a multiple of "
                             f"n_head = {self.n_head}: allowed n_embd = n_head x head_dim")
        if self.window > self.block_size:
            raise ValueError(f"ModelConfig.window = {self.window} is larger than the context "
                             f"block_size = {self.block_size}: allowed 1 <= window <= "
                             f"block_size")
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"ModelConfig.dropout = {self.dropout!r}: allowed [0, 1)")
        own = {"n_heads", "window", "cell_model"}
        bad = sorted(own & set(self.hw_overrides))
        if bad:
            raise ValueError(f"ModelConfig.hw_overrides sets {bad}: these come from the model "
                             f"config (n_head, window, attention)")
        # validate the hardware config now (fail fast), for every variant
        self.attention_config("linear")

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def attention_config(self, variant: str | None = None) -> AttentionConfig:
        """The hardware :class:`AttentionConfig` of one layer for ``variant`` (default: own).

        Raises ValueError if the preset (with ``hw_overrides``) has a head_dim other than
        n_embd / n_head, or if the window is not a whole number of sub-arrays.
        """
        variant = variant or self.attention
        cell = "linear" if variant == "linear" else "poly"
        ov = dict(self.hw_overrides)
        head_dim = ov.pop("head_dim", AttentionConfig().head_dim)
        if head_dim != self.head_dim:
            raise ValueError(f"head dim n_embd / n_head = {self.n_embd} / {self.n_head} = "
                             f"{self.head_dim} does not match the hardware preset's head_dim "
                             f"= {head_dim}: allowed n_embd = n_head x {head_dim}")
        return AttentionConfig.leroux2025(n_heads=self.n_head, head_dim=head_dim,
                                          window=self.window, cell_model=cell, **ov)

    def replace(self, **changes: Any) -> "ModelConfig":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _paper_scaler_init(variant: str) -> dict[str, tuple[float, float]]:
    if variant == "softmax":
        return {n: (1.0, 0.0) for n in SCALER_NAMES}
    z = LEROUX2025_V_WEIGHT_ZERO
    return {"q": (1.0, 0.0), "k": (1.0, z), "v": (1.0, z), "out": (1.0, 0.0)}


class SelfAttention(nn.Module):
    """Causal sliding-window multi-head self-attention of one layer (any variant)."""

    def __init__(self, cfg: ModelConfig, layer: int = 0):
        super().__init__()
        self.cfg = cfg
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)
        trainable = cfg.attention != "softmax"
        init = _paper_scaler_init(cfg.attention)
        self.scalers = nn.ModuleDict({
            n: AffineScaler(cfg.n_head, *init[n], trainable=trainable) for n in SCALER_NAMES})
        self.core = (None if cfg.attention == "softmax"
                     else GainCellAttention(cfg.attention_config(), seed=cfg.hw_seed + layer))
        #: optional NumPy simulator (``gaincell.GainCellAttention``) used instead of ``core``
        #: for inference (see :mod:`gaincell.nn.sensitivity`).
        self.simulator = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        H, D = self.cfg.n_head, self.cfg.head_dim
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, H, D).transpose(1, 2) for t in (q, k, v))
        s = self.scalers
        if self.core is None:
            y = s["out"](softmax_attention(s["q"](q), s["k"](k), s["v"](v), self.cfg.window))
        else:
            qh, kh, vh = s["q"](q), s["k"](k), s["v"](v)
            if self.simulator is not None:
                y_hw = _simulate(self.simulator, qh, kh, vh)
            else:
                y_hw = self.core(qh, kh, vh)
            y = s["out"](y_hw)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


def _simulate(sim, q, k, v) -> torch.Tensor:
    """Run the NumPy simulator on hardware-unit tensors (no gradient). The model was trained
    through the same converters (the torch twin clips as the hardware does), so their clipping
    is part of its function: the simulator's InputClippedWarning is not raised here."""
    def np64(t):
        return t.detach().to("cpu", torch.float64).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InputClippedWarning)
        y = sim.forward(np64(q), np64(k), np64(v))
    return torch.from_numpy(np.asarray(y, dtype=np.float64)).to(q.dtype)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, layer: int = 0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.n_embd)
        self.attn = SelfAttention(cfg, layer)
        self.ln_2 = nn.LayerNorm(cfg.n_embd)
        self.mlp = nn.Sequential(nn.Linear(cfg.n_embd, 4 * cfg.n_embd), nn.GELU(),
                                 nn.Linear(4 * cfg.n_embd, cfg.n_embd))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x):
        x = x + self.drop(self.attn(self.ln_1(x)))
        return x + self.drop(self.mlp(self.ln_2(x)))


class GPT(nn.Module):
    """Decoder-only character model: token + position embeddings, ``n_layer`` blocks,
    final LayerNorm, weight-tied head. ``forward(idx, targets=None) -> (logits, loss)``."""

    def __init__(self, cfg: ModelConfig, seed: int = 0):
        super().__init__()
        self.cfg = cfg
        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG left untouched
            torch.manual_seed(int(seed))
            self._build(cfg)

    def _build(self, cfg: ModelConfig) -> None:
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.blocks = nn.ModuleList([Block(cfg, li) for li in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(cfg.n_embd)
        self.head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.head.weight = self.wte.weight
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight") or name.endswith("mlp.2.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def attentions(self) -> list[SelfAttention]:
        return [b.attn for b in self.blocks]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        B, T = idx.shape
        if T > self.cfg.block_size:
            raise ValueError(f"sequence length {T} exceeds block_size = "
                             f"{self.cfg.block_size}: allowed T <= block_size")
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for b in self.blocks:
            x = b(x)
        logits = self.head(self.ln_f(x))
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def with_variant(self, attention: str, seed: int = 0) -> "GPT":
        """A new model of another variant holding a copy of these weights (scalers included).

        Going from softmax to a hardware variant resets the scalers to the paper's
        initialization (q: a = 1, b = 0; k, v: a = 1, b = 0.45 V; out: a = 1, b = 0).
        """
        new = GPT(self.cfg.replace(attention=attention), seed=seed)
        sd = self.state_dict()
        if self.cfg.attention == "softmax" and attention != "softmax":
            sd = {k: v for k, v in sd.items() if ".scalers." not in k}
            missing, _ = new.load_state_dict(sd, strict=False)
            assert all(".scalers." in k for k in missing)
        else:
            new.load_state_dict(sd)
        return new

    def with_hardware(self, overrides: dict, hw_seed: int | None = None) -> "GPT":
        """A copy of this hardware model (same weights) whose attention design has the extra
        ``overrides`` (e.g. mismatch and noise) and, optionally, other chips (``hw_seed``)."""
        if self.cfg.attention == "softmax":
            raise ValueError("with_hardware needs a hardware model: attention = 'softmax'")
        hw = dict(self.cfg.hw_overrides)
        hw.update(overrides)
        cfg = self.cfg.replace(hw_overrides=hw,
                               hw_seed=self.cfg.hw_seed if hw_seed is None else hw_seed)
        new = GPT(cfg)
        new.load_state_dict(self.state_dict())
        return new

    def noise_aware(self, on: bool, generator=None) -> None:
        """Noise-aware training on or off for every attention layer's twin: in training mode
        it then samples write and read noise at every forward from ``generator``."""
        for att in self.attentions():
            if att.core is not None:
                att.core.noise_aware = bool(on)
                att.core.generator = generator if on else None

    @property
    def has_sampled_noise(self) -> bool:
        """True when the hardware design has read or write noise (what noise-aware training
        samples)."""
        if self.cfg.attention == "softmax":
            return False
        d = self.attentions()[0].core.cfg.device
        return d.sigma_read_noise > 0 or d.write_noise_sigma > 0

    @torch.no_grad()
    def generate(self, idx: torch.Tensor, n_new: int, temperature: float = 0.8,
                 gen: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``n_new`` tokens after ``idx`` (B, T0), context cropped to block_size."""
        was = self.training
        self.eval()
        for _ in range(int(n_new)):
            ctx = idx[:, -self.cfg.block_size:]
            logits, _ = self(ctx)
            p = torch.softmax(logits[:, -1, :] / temperature, dim=-1)
            nxt = torch.multinomial(p, 1, generator=gen)
            idx = torch.cat([idx, nxt], dim=1)
        self.train(was)
        return idx
