"""Optional per-point accuracy of a trained model: its validation loss with the simulator in
every attention layer (``--model RUN_DIR``).

``RUN_DIR`` is a ``gaincell model-demo`` folder: ``state.json`` (the run's settings: corpus,
context length, evaluation batch sizes) and ``nonlinear.pt`` (the nonlinear hardware model,
``{"model": state_dict, "model_cfg": ...}``). At each point the point's device overrides (every
``device.X`` key, and ``leak_per_step``) are applied to every layer's hardware configuration
and :func:`gaincell.nn.sensitivity.evaluate_with_simulator` gives the mean loss (nats/char)
over the run's sensitivity batches (``sens_batches`` x ``sens_batch_size`` sequences of the
validation split, the same batches as the run's own sensitivity sweeps). The simulator's seed
is ``SeedSequence(study_seed, spawn_key=(4, index))`` (one chip per point: a model evaluation
costs far more than the single-layer accuracy).

The model fixes the geometry: a study with ``--model`` may sweep ``device.*``,
``leak_per_step`` and ``system.*`` keys only (refused before any work otherwise). Needs the
``torch`` extra.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["ModelLoss", "MODEL_KEYS_ALLOWED"]

_LOSS_DOMAIN = 4
_CHECKPOINT = "nonlinear.pt"
#: Attention keys a model study may sweep (besides device.* and system.*).
MODEL_KEYS_ALLOWED = ("leak_per_step",)


@dataclass(frozen=True)
class ModelLoss:
    """A trained model run whose validation loss is measured at every point.

    Attributes
    ----------
    run_dir : str
        Absolute path of a ``gaincell model-demo`` run folder.
    """

    run_dir: str

    def __post_init__(self) -> None:
        p = Path(self.run_dir).expanduser().resolve()
        object.__setattr__(self, "run_dir", str(p))
        for name in ("state.json", _CHECKPOINT):
            if not (p / name).is_file():
                raise ValueError(f"--model {p}: no {name}: allowed a gaincell model-demo run "
                                 f"folder (state.json and {_CHECKPOINT})")
        try:
            import torch  # noqa: F401
        except ImportError:
            raise ValueError("--model needs PyTorch: pip install 'gaincell[torch]'") from None
        _settings(str(p))

    def check_keys(self, keys) -> None:
        """Refuse axes the model fixes (its geometry and cell model)."""
        bad = [k for k in keys if not (k.startswith(("device.", "system."))
                                       or k in MODEL_KEYS_ALLOWED)]
        if bad:
            raise ValueError(f"--model: the axes {bad} change what the trained model fixes "
                             f"(heads, head dim, window, sub-arrays): allowed device.X, "
                             f"{', '.join(MODEL_KEYS_ALLOWED)} and system.X axes")

    def to_dict(self) -> dict[str, Any]:
        return {"run_dir": self.run_dir, "checkpoint": _CHECKPOINT}

    def loss(self, point: Mapping[str, Any], seed: int, index: int) -> float:
        """Validation loss (nats/char) with the point's device overrides in every layer."""
        from gaincell.nn.sensitivity import evaluate_with_simulator

        model, batches = _model_and_batches(self.run_dir)
        over = {k.split(".", 1)[1] if k.startswith("device.") else k: v
                for k, v in point.items() if not k.startswith("system.")}
        s = int(np.random.SeedSequence(seed, spawn_key=(_LOSS_DOMAIN, int(index))
                                       ).generate_state(1)[0])
        return float(evaluate_with_simulator(model, batches, overrides=over, seed=s))


@functools.lru_cache(maxsize=2)
def _settings(run_dir: str) -> dict:
    p = Path(run_dir) / "state.json"
    try:
        state = json.loads(p.read_text(encoding="utf-8"))
        s = state["settings"]
        for k in ("block_size", "sens_batches", "sens_batch_size"):
            if not isinstance(s[k], int) or s[k] < 1:
                raise KeyError(k)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(f"{p}: not a gaincell model-demo state ({type(e).__name__}: {e}): "
                         f"allowed the state.json of a run folder") from None
    return s


@functools.lru_cache(maxsize=2)
def _model_and_batches(run_dir: str):
    from gaincell.nn.data import CharData
    from gaincell.nn.model import GPT, ModelConfig
    from gaincell.nn.pipeline import _SEED_SENS
    from gaincell.nn.train import load_torch

    s = _settings(run_dir)
    ck = load_torch(os.path.join(run_dir, _CHECKPOINT))
    mcfg = ModelConfig(**{**ck["model_cfg"], "attention": "nonlinear"})
    model = GPT(mcfg)
    model.load_state_dict(ck["model"])
    model.eval()
    data = CharData.from_file(s.get("data_path"), max_chars=s.get("max_chars"))
    batches = data.fixed_batches("val", s["sens_batches"], s["sens_batch_size"],
                                 s["block_size"], _SEED_SENS)
    return model, batches
