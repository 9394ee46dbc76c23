"""The ``gaincell`` command line.

Each sub-command lives in :mod:`gaincell.commands` (the layers hold the physics only) and
registers itself here through its module's ``register(subparsers)`` function, in
``_COMMAND_MODULES`` order. Errors in user input (a bad design file, an out-of-range option, a
truncated or wrong-type input file) and a lack of memory print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys

from gaincell.commands import bench, demo, design, explore, model_demo, report, simulate, spice

__all__ = ["main", "build_parser"]

#: Modules that contribute sub-commands, in --help order.
_COMMAND_MODULES = (demo, design, simulate, report, explore, bench, model_demo, spice)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    from gaincell._version import __version__

    p = argparse.ArgumentParser(
        prog="gaincell",
        description="Simulate gain-cell analog in-memory attention: device, array, system "
                    "and SPICE layers.")
    p.add_argument("--version", action="version", version=f"gaincell {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for mod in _COMMAND_MODULES:
        mod.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 ok, 2 bad input, unusable path or not
    enough memory, 1 failure reported by a command)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as e:
        print(f"gaincell {args.command}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:   # a path the user gave cannot be read or written
        where = f"{e.filename}: " if e.filename else ""
        print(f"gaincell {args.command}: error: {where}{e.strerror or e}", file=sys.stderr)
        return 2
    except MemoryError as e:   # numpy says how much it asked for ("Unable to allocate ...")
        asked = f" ({e})" if str(e) else ""
        print(f"gaincell {args.command}: error: out of memory{asked}; reduce "
              f"{_MEMORY_HINTS.get(args.command, 'the problem size')}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"gaincell {args.command}: interrupted", file=sys.stderr)
        return 130


#: What reduces the memory a command needs (named in its out-of-memory message).
_MEMORY_HINTS = {
    "simulate": "--tokens or --batch, or use --stream",
    "report": "the design's window or heads (--config), or --tokens",
    "demo": "the design's window or heads (--config)",
    "sweep": "the grid (fewer --set values)",
    "model-demo": "--batch-size, --block-size or --n-embd",
    "characterize": "--v-store-points or --v-in-points",
    "validate": "--column-cases, --tile-cases or --workers",
    "bench": "the benchmark size",
}


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
