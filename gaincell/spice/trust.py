"""What a netlist may contain: a SPICE deck is code, and gaincell runs only decks it can trust.

ngspice is an interpreter. Besides circuit elements, a deck may carry a ``.control`` ...
``.endc`` block of interactive commands, and those include ``shell`` (run any program),
``source`` (read more commands), ``codemodel`` (load a shared library), ``write``/``wrdata``
(write any file). A cell file or model-card file from elsewhere, or a name typed on the command
line (``--subckt $'gaincell_cell\\n.control\\nshell touch FILE\\n.endc'``), can therefore run
commands with the user's rights, on both backends (the shared library executes ``.control``
blocks of a loaded circuit, ``ngspice -b`` too).

The rules, applied to the whole deck and to every file it includes, recursively, before any
ngspice sees it (:func:`screen_deck`, called by :func:`gaincell.spice.runner.simulate_many`):

- **names** must match :data:`NAME_PATTERN` (:func:`check_name`): letters, digits,
  ``_ . - $``, starting with a letter or ``_`` (nodes may start with a digit), at most 128
  characters; no whitespace, so no line break can smuggle a command in. Checked for names a
  user types (``--subckt``) and, in every file, for ``.subckt`` names and ports, ``.model``
  names and the sub-circuit of each ``X`` instance (also when control is allowed);
- **interpreter blocks and commands** are refused: ``.control``, ``.endc``, ``.exec``,
  ``.shell``, ``.source``, ``.codemodel``, ``.pre_*`` lines, and a ``*ng_script`` marker (which
  makes ngspice read a file as a command script). The file and line are named. Passing
  ``allow_control=True`` (``--allow-control`` on ``characterize`` and ``validate``) switches
  this rule off for decks the user vouches for;
- **included files** (``.include``, ``.inc``, ``.lib``) must be regular files (a FIFO or a
  device such as ``/dev/zero`` would hang or flood ngspice) and are screened by the same
  rules. Their location is not restricted: reading a model card is not running code, and
  foundry PDKs live anywhere; the content is what is checked.

Not covered (documented in the SPICE README): ngspice's own start-up files (``spinit``,
``~/.spiceinit``) are read by ngspice itself and are the user's own configuration; the
runner's ``ngspice -b`` backend runs in a fresh temporary folder, so no ``.spiceinit`` of the
current folder is read. gaincell's own benches never contain ``.control``; the runner appends
its own ``wrdata`` block for ``ngspice -b`` after the screen.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import stat
from pathlib import Path
from typing import Iterator

from gaincell.spice.errors import UnsafeNetlist

__all__ = ["NAME_PATTERN", "NODE_PATTERN", "check_name", "deck_sources", "screen_text",
           "screen_deck", "permit_control", "control_allowed"]

#: Sub-circuit, model and parameter names a user may give.
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_.$\-]{0,127}")
#: Node names (may start with a digit: ``0`` is ground).
NODE_PATTERN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.$\-]{0,127}")

#: Dot commands that open or belong to ngspice's command interpreter.
_REFUSED_DOT = ("control", "endc", "exec", "shell", "source", "codemodel", "pre_")
_DOT = re.compile(r"^\s*\+?\s*\.([A-Za-z_]+)")
_SCRIPT = re.compile(r"^\s*\*\s*ng_script", re.I)
_INCLUDE = re.compile(r"^\s*\.(include|inc|lib)\s+(\"[^\"]+\"|'[^']+'|\S+)", re.I)

_allow = False


def control_allowed() -> bool:
    """Whether :func:`permit_control` is in effect (interpreter blocks accepted)."""
    return _allow


@contextlib.contextmanager
def permit_control(allow: bool = True) -> Iterator[None]:
    """Within the block, accept ``.control`` and similar in decks (``--allow-control``).

    The screen runs in the calling process (before any ngspice child starts), so this
    process-wide switch covers every run started inside the block.
    """
    global _allow
    old, _allow = _allow, bool(allow)
    try:
        yield
    finally:
        _allow = old


def check_name(kind: str, value: object) -> str:
    """``value`` if it is a valid ``kind`` name (``"node"``: :data:`NODE_PATTERN`, anything
    else: :data:`NAME_PATTERN`); else ``ValueError`` naming the kind, the value and the rule."""
    pat = NODE_PATTERN if kind == "node" else NAME_PATTERN
    if not isinstance(value, str) or not pat.fullmatch(value):
        raise ValueError(f"{kind} name {value!r} is invalid: allowed letters, digits and "
                         f"'_ . - $', starting with a letter or '_'"
                         f"{' or a digit' if kind == 'node' else ''}, at most 128 characters "
                         f"(no spaces or line breaks)")
    return value


def _include_target(fname: str, n: int, raw: str) -> str | None:
    m = _INCLUDE.match(raw)
    if not m:
        return None
    return os.path.expanduser(m.group(2).strip("\"'"))


def _read_included(f: str, where: str) -> str | None:
    """The text of an included file; ``None`` if it does not exist (the pre-flight check and
    ngspice report that); :class:`UnsafeNetlist` if it is not a regular file."""
    try:
        st = os.stat(f)
    except OSError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeNetlist(f"{where}: included file {f} is not a regular file (a device, "
                            f"FIFO or folder): refusing to let ngspice read it")
    return _read_cached(f, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _read_cached(f: str, mtime_ns: int, size: int) -> str:
    """File text, cached by (path, modification time, size): a sweep of many decks including
    the same large PDK file reads it once."""
    return Path(f).read_text(encoding="utf-8", errors="replace")


def deck_sources(text: str, name: str) -> list[tuple[str, str]]:
    """``(file name, text)`` of the deck and of every file it includes, recursively, each
    once, in include order; included files that do not exist are left out."""
    out = [(name, text)]
    seen: set[str] = set()
    k = 0
    while k < len(out):
        fname, body = out[k]
        k += 1
        for n, raw in enumerate(body.splitlines(), 1):
            f = _include_target(fname, n, raw)
            if f is None or f in seen:
                continue
            seen.add(f)
            inc = _read_included(f, f"{fname}:{n}")
            if inc is not None:
                out.append((f, inc))
    return out


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\{[^}]*\}")


def _logical_lines(text: str) -> list[tuple[int, list[str]]]:
    """(first line, tokens) of each element or dot line, continuations joined, comments out;
    quoted and braced expressions (``lr='(a==0) ? 1e-15 : a'``) become one token ``'_'``."""
    out: list[tuple[int, list[str]]] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = _QUOTED.sub("'_'", raw).split(";")[0].split(" $ ")[0].strip()
        if not line or line.startswith("*"):
            continue
        if line.startswith("+") and out:
            out[-1][1].extend(line[1:].split())
        else:
            out.append((n, line.split()))
    return out


def _check_names(text: str, name: str, title: bool = False) -> None:
    """Sub-circuit, model and port names of ``.subckt``/``.model`` lines and the sub-circuit
    of each ``X`` instance must match :data:`NAME_PATTERN` / :data:`NODE_PATTERN`. ``title``:
    the first line is the deck's title (ngspice ignores it)."""
    for n, tok in _logical_lines(text):
        if title and n == 1:
            continue
        head = tok[0].lower()
        try:
            if head == ".subckt" and len(tok) > 1:
                check_name("sub-circuit", tok[1])
                for port in tok[2:]:
                    if "=" in port or port.lower() == "params:":
                        break
                    check_name("node", port)
            elif head == ".model" and len(tok) > 1:
                check_name("model", tok[1])
            elif head.startswith("x") and len(tok) > 2:
                low = [t.lower() for t in tok]
                args = tok[1:low.index("params:")] if "params:" in low else tok[1:]
                names = [t for t in args if "=" not in t]
                if names:
                    check_name("sub-circuit", names[-1])
        except ValueError as e:
            raise UnsafeNetlist(f"{name}:{n}: {e}") from None


@functools.lru_cache(maxsize=256)
def _screen_cached(text: str, name: str, allow: bool, title: bool) -> None:
    screen_text(text, name, allow, title)


def screen_text(text: str, name: str, allow_control: bool | None = None,
                title: bool = False) -> None:
    """Screen one file's text (not its includes); raise :class:`UnsafeNetlist` naming
    ``name:line`` at the first refused line. Names are checked in every case; interpreter
    lines unless control is allowed."""
    allow = control_allowed() if allow_control is None else allow_control
    if allow:
        _check_names(text, name, title)
        return
    for n, raw in enumerate(text.splitlines(), 1):
        if _SCRIPT.match(raw):
            raise UnsafeNetlist(f"{name}:{n}: {raw.strip()[:80]!r} marks an ngspice command "
                                f"script: refused (pass --allow-control to run decks with "
                                f"interpreter commands you trust)")
        m = _DOT.match(raw)
        if m and m.group(1).lower().startswith(_REFUSED_DOT):
            raise UnsafeNetlist(f"{name}:{n}: {raw.strip()[:80]!r}: ngspice interpreter "
                                f"commands (.control, .exec, shell, source, ...) can run "
                                f"programs and are refused in netlists; pass "
                                f"--allow-control (allow_control=True) to run a deck you "
                                f"trust")
    _check_names(text, name, title)


def screen_deck(text: str, name: str, allow_control: bool | None = None) -> None:
    """Screen a deck (its first line is the title) and every file it includes, recursively
    (see the module docstring)."""
    allow = control_allowed() if allow_control is None else bool(allow_control)
    for k, (fname, body) in enumerate(deck_sources(text, name)):
        if k == 0:
            screen_text(body, fname, allow, title=True)
        else:   # included files repeat across the decks of a sweep: screened once
            _screen_cached(body, fname, allow, False)
