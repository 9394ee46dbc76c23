"""The ``gaincell`` sub-commands, one module per command family, each registering itself in
:mod:`gaincell.cli` through ``register(subparsers)``. Commands parse arguments, call the layers
and print; the physics lives in the layers (params, device, array, system, spice, nn, explore).
"""
