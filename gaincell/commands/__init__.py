"""The ``gaincell`` sub-commands that are not tied to one layer (each registers itself in
:mod:`gaincell.cli`). Commands parse arguments and print; the physics lives in the layers."""
