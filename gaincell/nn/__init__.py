"""Trainable PyTorch twin of the gain-cell attention and the paper's training recipe.

Optional layer (extra ``gaincell[torch]``, ``torch==2.13.0``). It reads :mod:`gaincell.params`
and is tested against the NumPy simulator (:class:`gaincell.GainCellAttention`):

- :class:`GainCellAttention` computes exactly the simulator's forward (same config object)
  with straight-through quantizers and the paper's linear surrogate gradient;
- :class:`AffineScaler` the per-head ``a x + b`` input/output mappings;
- :func:`adapt` the paper's adaptation (initialization) algorithm;
- :class:`GPT` a small character-level decoder with softmax / linear / nonlinear attention;
- :func:`run_pipeline` softmax -> linear HW -> adaptation -> nonlinear HW, with checkpoints;
- :func:`sensitivity_sweeps` validation loss vs device parameters, evaluated with the NumPy
  simulator plugged into inference.

Importing :mod:`gaincell` never imports torch. The names above are loaded on first access
(so that ``gaincell --help``, which registers ``gaincell.commands.model_demo``, works without
torch); accessing one without torch installed raises an ImportError saying
``pip install gaincell[torch]``.
"""

import importlib

_EXPORTS = {
    "GainCellAttention": "attention", "softmax_attention": "attention",
    "window_decay": "attention", "quantize_ste": "quant", "AffineScaler": "scaler",
    "adapt": "adapt", "record_targets": "adapt", "init_from_float": "adapt",
    "AdaptReport": "adapt", "GPT": "model", "ModelConfig": "model", "CharData": "data",
    "TrainSettings": "train", "train": "train", "evaluate": "train",
    "PipelineSettings": "pipeline", "run_pipeline": "pipeline",
    "evaluate_with_simulator": "sensitivity", "sensitivity_sweeps": "sensitivity",
    "default_sweeps": "sensitivity", "write_report": "report",
    "record_qkv": "record", "save_qkv": "record",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        mod = importlib.import_module(f"gaincell.nn.{_EXPORTS[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module 'gaincell.nn' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
