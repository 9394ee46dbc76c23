"""Running ngspice: PySpice's shared-library backend, a ``ngspice -b`` fallback, timeouts.

Every run happens in a child process (``fork`` on Linux, ``spawn`` elsewhere; override with
``GAINCELL_SPICE_MP``): ngspice's shared library allows one instance per process and, after a
fatal netlist error, "cannot recover and awaits to be detached", so a fresh process per run is
the only robust isolation. The parent waits at most ``timeout_s`` seconds and kills the child
after that (:class:`~gaincell.spice.errors.SpiceTimeout`): a hang becomes a clear error.
Sweeps run several children at once (:func:`simulate_many`, process-level parallelism).

Backends
--------
``shared``      PySpice 1.5 ``NgSpiceShared`` on ``libngspice.so`` (ngspice 39 works; PySpice's
                "Unsupported Ngspice version" warning is silenced).
``subprocess``  ``ngspice -b`` on a deck with a ``.control`` block that writes the vectors with
                ``wrdata`` and ends with ``quit``.
``auto``        ``shared`` when PySpice and libngspice load, else ``subprocess``.

ngspice's messages are mapped to :mod:`gaincell.spice.errors` classes whose text names the
netlist file and line (``file:line: text``).
"""

from __future__ import annotations

import ctypes.util
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from gaincell.spice.errors import (
    ConvergenceError,
    ModelCardError,
    NetlistError,
    NgspiceNotFound,
    SpiceError,
    SpiceTimeout,
)
from gaincell.spice.netlist import Netlist, locate, preflight

__all__ = ["SimResult", "simulate", "simulate_many", "ngspice_available", "ngspice_version",
           "default_backend", "DEFAULT_TIMEOUT_S"]

#: Default wall-clock limit of one run, s (assumption: every shipped bench runs in < 10 s).
DEFAULT_TIMEOUT_S = 60.0
_BACKENDS = ("auto", "shared", "subprocess")


@dataclass
class SimResult:
    """Vectors of one run.

    Attributes
    ----------
    scale : numpy.ndarray
        The analysis' independent variable: time (s) for ``.tran``, the (first) swept source
        value (V or A) for ``.dc``, flattened over nested sweeps (inner sweep fastest).
    vectors : dict of str -> numpy.ndarray
        The requested vectors, keyed exactly as requested (``"v(bl)"``, ``"i(vbl)"``).
    log : list of str
        ngspice's output lines.
    backend : str
        ``"shared"`` or ``"subprocess"``.
    wall_s : float
        Wall-clock time of the run in its child process, including the process start, s.
    """

    scale: np.ndarray
    vectors: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    backend: str = ""
    wall_s: float = 0.0

    def __getitem__(self, key: str) -> np.ndarray:
        return self.vectors[key]


# ---------------------------------------------------------------------------------------------
# availability
# ---------------------------------------------------------------------------------------------


def _shared_library() -> str | None:
    env = os.environ.get("NGSPICE_LIBRARY_PATH")
    if env:
        return env if Path(env).exists() else None
    if ctypes.util.find_library("ngspice") is None:
        return None
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib",
              "/usr/local/lib", "/opt/homebrew/lib"):
        if (Path(d) / "libngspice.so").exists() or (Path(d) / "libngspice.dylib").exists():
            return str(Path(d) / "libngspice.so")
    return None


def ngspice_available() -> dict:
    """Which backends can run here: ``{"shared": bool, "subprocess": bool, "executable": path}``."""
    try:
        import PySpice  # noqa: F401
        has_pyspice = True
    except ImportError:
        has_pyspice = False
    exe = shutil.which("ngspice")
    return {"shared": bool(has_pyspice and _shared_library()), "subprocess": exe is not None,
            "executable": exe}


def default_backend() -> str:
    """The backend ``auto`` resolves to; raises :class:`NgspiceNotFound` when none works."""
    a = ngspice_available()
    if a["shared"]:
        return "shared"
    if a["subprocess"]:
        return "subprocess"
    raise NgspiceNotFound(
        "ngspice not found: neither libngspice.so (for PySpice) nor the ngspice executable is "
        "installed. Install them (Debian/Ubuntu: apt-get install ngspice libngspice0-dev; or "
        "`make ngspice`), or set NGSPICE_LIBRARY_PATH to libngspice.so")


@lru_cache(maxsize=1)
def ngspice_version() -> str:
    """ngspice's version line (e.g. ``"ngspice-39"``), from the executable or the library."""
    exe = shutil.which("ngspice")
    if exe:
        try:
            out = subprocess.run([exe, "-v"], capture_output=True, text=True, timeout=20).stdout
            m = re.search(r"ngspice-\S+", out)
            if m:
                return m.group(0)
        except (OSError, subprocess.TimeoutExpired):
            pass
    if ngspice_available()["shared"]:
        r = _run_children([("version", None, 20.0)], 1, None)[0]
        if r[0] == "ok":
            return f"ngspice-{r[1]}"
    raise NgspiceNotFound("ngspice not found: cannot read its version (install ngspice)")


# ---------------------------------------------------------------------------------------------
# error mapping
# ---------------------------------------------------------------------------------------------

_CONVERGENCE = ("timestep too small", "singular matrix", "gmin stepping failed",
                "source stepping failed", "no convergence", "iteration limit reached",
                "simulation(s) aborted", "transient op failed", "dc solution failed")
_MODEL = ("could not find include file", "could not find library file", "unable to find definition",
          "could not find a valid modelname", "unknown model", "model not found",
          "can't find model", "cannot find model")


#: Phrases after which ngspice's results are not a solution, even if it wrote some.
_FATAL = ("timestep too small", "simulation(s) aborted", "source stepping failed",
          "there aren't any circuits loaded", "circuit not parsed", "cannot recover")


def _failed(log: list[str]) -> bool:
    text = "\n".join(log).lower()
    return any(k in text for k in _FATAL)


def _where(netlist: Netlist, log: list[str]) -> str:
    """``file:line: text`` of the netlist line ngspice complained about, or the file name."""
    for line in log:
        m = re.search(r"(?:netlist line no\.|error on line)\s*(\d+)", line, re.I)
        if m:
            n = int(m.group(1))
            if 1 <= n <= len(netlist.lines):
                return f"{netlist.name}:{n}: {netlist.lines[n - 1].strip()}"
        for pat in (r"(?:include|library) file\s+(\S+)", r"unknown subckt:\s*(.+)$",
                    r"illegal subckt call.*?:\s*(.+)$",
                    r"in line\s*:?\s*(.+)$", r"model\s+(\S+)", r"^\s*([a-z]\S*\s+\S+\s+\S+.*)$"):
            m = re.search(pat, line, re.I)
            if m:
                hit = locate(netlist, m.group(1).strip())
                if hit:
                    return hit
    return netlist.name


def _raise_for(netlist: Netlist, phase: str, log: list[str], detail: str = "") -> None:
    text = "\n".join(log).lower()
    msgs = [ln.strip() for ln in log if ln.strip() and (
        "error" in ln.lower() or "warning" in ln.lower() or "too small" in ln.lower()
        or "fail" in ln.lower() or "cannot" in ln.lower() or "could not" in ln.lower()
        or "unable" in ln.lower() or "line no" in ln.lower() or "unknown" in ln.lower())]
    summary = "; ".join(dict.fromkeys(msgs))[:600] or detail or "no message from ngspice"
    where = _where(netlist, log)
    if any(k in text for k in _MODEL):
        raise ModelCardError(f"{where}: missing model card or include file: {summary}", log)
    if any(k in text for k in _CONVERGENCE):
        raise ConvergenceError(f"{where}: ngspice did not converge: {summary}", log)
    if phase == "load":
        raise NetlistError(f"{where}: ngspice rejected the netlist: {summary}", log)
    raise SpiceError(f"{where}: ngspice run failed: {summary}", log)


# ---------------------------------------------------------------------------------------------
# the two backends (each runs inside a child process)
# ---------------------------------------------------------------------------------------------


def _shared_name(v: str) -> str:
    m = re.fullmatch(r"\s*([vi])\((.+)\)\s*", v, re.I)
    if not m:
        return v.lower()
    kind, arg = m.group(1).lower(), m.group(2).strip().lower()
    return arg if kind == "v" else f"{arg}#branch"


def _job_shared(text: str, vectors: list[str]):
    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    lib = _shared_library()
    if lib:
        NgSpiceShared.LIBRARY_PATH = lib
    ng = NgSpiceShared.new_instance()
    ng._ngspice_shared.ngSpice_Command(f"set num_threads={_threads()}".encode())
    log: list[str] = []

    def grab():
        log.extend(ng._stderr)
        log.extend(ng._stdout)
        ng.clear_output()

    ng.clear_output()
    try:
        ng.load_circuit(text)
    except Exception as e:  # PySpice raises NameError / NgSpiceCircuitError
        grab()
        return ("error", "load", log, f"{type(e).__name__}: {e}")
    grab()
    if any("error" in ln.lower() for ln in log):
        return ("error", "load", log, "")
    # ngSpice_Command directly: PySpice's run() treats every stderr line (gmin-stepping
    # notes included) as an error; failures are judged from the log by _failed() instead.
    rc = ng._ngspice_shared.ngSpice_Command(b"run")
    grab()
    if rc or _failed(log):
        return ("error", "run", log, f"ngSpice_Command('run') returned {rc}")
    names = [p for p in ng.plot_names if p != "const"]
    if not names:
        return ("error", "run", log, "no analysis produced results")
    plot = ng.plot(None, ng.last_plot)
    keys = {k.lower(): k for k in plot}
    scale = None
    for s in ("time", "v-sweep", "i-sweep", "temp-sweep", "res-sweep", "frequency"):
        if s in keys:
            scale = np.real(plot[keys[s]]._data).copy()
            break
    if scale is None:  # .dc over a named source: ngspice names the scale after it
        first = next(iter(plot))
        scale = np.real(plot[first]._data).copy()
    out = {}
    for v in vectors:
        k = _shared_name(v)
        if k not in keys:
            return ("error", "run", log, f"vector {v!r} not in the results (have "
                    f"{sorted(keys)[:20]})")
        out[v] = np.real(plot[keys[k]]._data).copy()
    return ("ok", (scale, out), log, "")


def _threads() -> int:
    """OpenMP threads of one ngspice (``GAINCELL_SPICE_THREADS``, default 1).

    ngspice's BSIM4 load loop is OpenMP-parallel with 2 threads by default; on a machine whose
    cores are busy (other processes, or our own parallel workers) its spinning barriers made
    a 64-cell column run 15-25x slower (0.08 s vs 1-2 s measured); parallelism comes from
    worker processes instead.
    """
    v = os.environ.get("GAINCELL_SPICE_THREADS", "1")
    if not v.isdigit() or int(v) < 1:
        raise ValueError(f"GAINCELL_SPICE_THREADS = {v!r} is invalid: allowed an integer >= 1")
    return int(v)


def _control_block(vectors: list[str], outfile: str) -> str:
    return "\n".join([
        ".control", "set noaskquit", "set wr_singlescale", "set wr_vecnames",
        "set filetype=ascii", f"set num_threads={_threads()}", "run",
        f"wrdata {outfile} " + " ".join(vectors), "quit", ".endc"])


def _job_subprocess(text: str, vectors: list[str], timeout_s: float):
    exe = shutil.which("ngspice")
    if exe is None:
        return ("error", "missing", [], "ngspice executable not found")
    with tempfile.TemporaryDirectory(prefix="gaincell_spice_") as tmp:
        out = os.path.join(tmp, "out.txt")
        lines = text.rstrip().splitlines()
        if lines and lines[-1].strip().lower() == ".end":
            lines = lines[:-1]
        deck = "\n".join(lines) + "\n" + _control_block(vectors, out) + "\n.end\n"
        path = os.path.join(tmp, "deck.cir")
        Path(path).write_text(deck)
        try:
            p = subprocess.run([exe, "-b", path], capture_output=True, text=True,
                               timeout=timeout_s, cwd=tmp)
        except subprocess.TimeoutExpired as e:
            so = e.stdout
            so = so.decode(errors="replace") if isinstance(so, bytes) else (so or "")
            return ("error", "timeout", so.splitlines(), "")
        log = (p.stderr + "\n" + p.stdout).splitlines()
        if not os.path.exists(out):
            phase = "run" if any("doing analysis" in ln.lower() or "timestep" in ln.lower()
                                 for ln in log) else "load"
            return ("error", phase, log, f"ngspice exited with code {p.returncode}")
        if _failed(log):
            return ("error", "run", log, "")
        data = np.loadtxt(out, skiprows=1, ndmin=2)
        with open(out) as f:
            header = f.readline().split()
        if data.shape[1] != len(vectors) + 1:
            return ("error", "run", log, f"wrdata wrote columns {header}, expected "
                    f"{len(vectors) + 1}")
        return ("ok", (data[:, 0].copy(), {v: data[:, k + 1].copy()
                                           for k, v in enumerate(vectors)}), log, "")


def _child(conn, job):
    kind, payload, timeout_s = job
    try:
        if kind == "version":
            import logging
            import warnings

            warnings.filterwarnings("ignore")
            logging.disable(logging.CRITICAL)
            from PySpice.Spice.NgSpice.Shared import NgSpiceShared

            lib = _shared_library()
            if lib:
                NgSpiceShared.LIBRARY_PATH = lib
            res = ("ok", str(NgSpiceShared.new_instance().ngspice_version), [], "")
        elif kind == "shared":
            res = _job_shared(*payload)
        else:
            res = _job_subprocess(*payload, timeout_s)
    except BaseException as e:  # report, never hang the parent
        res = ("error", "crash", [], f"{type(e).__name__}: {e}")
    try:
        conn.send(res)
    finally:
        conn.close()
    os._exit(0)  # skip atexit handlers of the ngspice library


def _mp_context():
    name = os.environ.get("GAINCELL_SPICE_MP") or ("fork" if sys.platform.startswith("linux")
                                                    else "spawn")
    return mp.get_context(name)


def _run_children(jobs, workers: int, progress):
    """Run ``jobs`` (kind, payload, timeout_s) in child processes, ``workers`` at a time.

    Returns one tuple per job; a job past its timeout yields ``("error", "timeout", ...)``.
    """
    ctx = _mp_context()
    results: list = [None] * len(jobs)
    elapsed: list = [0.0] * len(jobs)
    pending = list(range(len(jobs)))
    active: dict = {}
    try:
        while pending or active:
            while pending and len(active) < workers:
                i = pending.pop(0)
                r, w = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_child, args=(w, jobs[i]), daemon=True)
                p.start()
                w.close()
                active[r] = (i, p, time.monotonic())
            now = time.monotonic()
            wait_s = min(jobs[i][2] - (now - t0) for i, _, t0 in active.values())
            ready = mpc.wait(list(active), timeout=max(0.01, wait_s))
            for r in ready:
                i, p, t_start = active.pop(r)
                try:
                    results[i] = r.recv()
                except EOFError:
                    results[i] = ("error", "crash", [], f"ngspice process died (exit code "
                                  f"{p.exitcode})")
                elapsed[i] = time.monotonic() - t_start
                r.close()
                p.join(5)
                if progress is not None:
                    progress.update(1)
            now = time.monotonic()
            for r, (i, p, t0) in list(active.items()):
                if now - t0 > jobs[i][2]:
                    p.kill()
                    p.join(5)
                    r.close()
                    del active[r]
                    results[i] = ("error", "timeout", [], "")
                    if progress is not None:
                        progress.update(1)
    finally:
        for r, (_, p, _) in active.items():
            p.kill()
            p.join(5)
            r.close()
    return [(*res, dt) for res, dt in zip(results, elapsed)]


# ---------------------------------------------------------------------------------------------
# public entry points
# ---------------------------------------------------------------------------------------------


def _check(timeout_s, backend):
    if not (isinstance(timeout_s, (int, float)) and 0 < timeout_s <= 3600):
        raise ValueError(f"timeout_s = {timeout_s!r} is invalid: allowed 0 < timeout_s <= 3600 s")
    if backend not in _BACKENDS:
        raise ValueError(f"backend = {backend!r} is invalid: allowed one of {_BACKENDS}")
    return default_backend() if backend == "auto" else backend


def simulate_many(netlists: list[Netlist], timeout_s: float = DEFAULT_TIMEOUT_S,
                  backend: str = "auto", workers: int | None = None,
                  progress: bool | str = False, check: bool = True) -> list[SimResult]:
    """Run several decks, ``workers`` child processes at a time (default: CPU count, max 8).

    Each deck is pre-flight checked (:func:`~gaincell.spice.netlist.preflight`) first unless
    ``check`` is False (ngspice's own messages are then mapped the same way). Raises
    the mapped :class:`~gaincell.spice.errors.SpiceError` subclass of the first failing deck
    (in input order); ``progress`` (True or a description) shows a tqdm bar.
    """
    backend = _check(timeout_s, backend)
    if backend == "shared" and not ngspice_available()["shared"]:
        raise NgspiceNotFound("backend 'shared' requested but libngspice.so / PySpice is not "
                              "available: install libngspice0-dev or use backend='subprocess'")
    if backend == "subprocess" and not shutil.which("ngspice"):
        raise NgspiceNotFound("backend 'subprocess' requested but the ngspice executable is not "
                              "on PATH: install ngspice")
    if check:
        for n in netlists:
            preflight(n)
    if workers is None:
        workers = min(8, os.cpu_count() or 1)
    if not (isinstance(workers, int) and workers >= 1):
        raise ValueError(f"workers = {workers!r} is invalid: allowed an integer >= 1")
    jobs = [(backend, (n.text, list(n.vectors)), float(timeout_s)) for n in netlists]
    bar = None
    if progress and len(jobs) > 1:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc=progress if isinstance(progress, str) else "ngspice",
                   unit="run", leave=False)
    try:
        raw = _run_children(jobs, workers, bar)
    finally:
        if bar is not None:
            bar.close()
    out = []
    for n, r in zip(netlists, raw):
        status, data, log, detail, wall = r
        if status != "ok":
            if data == "timeout":
                raise SpiceTimeout(f"{n.name}: ngspice ran past its {timeout_s:g} s limit and "
                                   f"was killed", log)
            if data == "missing":
                raise NgspiceNotFound(f"{n.name}: {detail}", log)
            if data == "crash" and not log:
                raise SpiceError(f"{n.name}: ngspice process failed: {detail}", log)
            _raise_for(n, data, log, detail)
        scale, vecs = data
        out.append(SimResult(scale=scale, vectors=vecs, log=log, backend=backend, wall_s=wall))
    return out


def simulate(netlist: Netlist, timeout_s: float = DEFAULT_TIMEOUT_S,
             backend: str = "auto", check: bool = True) -> SimResult:
    """Run one deck in a child process and return its vectors.

    Parameters
    ----------
    netlist : Netlist
        The deck; its ``vectors`` are returned.
    timeout_s : float
        Wall-clock limit, s (the child is killed past it: :class:`SpiceTimeout`).
    backend : {"auto", "shared", "subprocess"}
    check : bool
        Run the pre-flight check (includes, model cards, sub-circuits) first.

    Raises
    ------
    NgspiceNotFound, NetlistError, ModelCardError, ConvergenceError, SpiceTimeout, SpiceError
    """
    return simulate_many([netlist], timeout_s, backend, workers=1, check=check)[0]
