"""The one place that imports PyTorch for gaincell.nn, with the install hint when missing."""

try:
    import torch
except ImportError as e:  # exercised by tests/test_nn_cli.py with torch blocked
    raise ImportError(
        "gaincell.nn needs PyTorch: install it with `pip install gaincell[torch]` "
        "(pins torch==2.13.0)") from e

__all__ = ["torch"]
