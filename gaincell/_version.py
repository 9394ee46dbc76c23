"""The package version (one place; the layers read it from here, not from the package)."""

__version__ = "0.1.0"
