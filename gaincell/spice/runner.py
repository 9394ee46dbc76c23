"""Running ngspice: PySpice's shared-library backend, a ``ngspice -b`` fallback, timeouts.

Every run happens in a child process (``fork`` on Linux, ``spawn`` elsewhere; override with
``GAINCELL_SPICE_MP``): ngspice's shared library allows one instance per process and, after a
fatal netlist error, "cannot recover and awaits to be detached", so a fresh process per run is
the only robust isolation. The parent waits at most ``timeout_s`` seconds and kills the child
after that (:class:`~gaincell.spice.errors.SpiceTimeout`): a hang becomes a clear error.
Sweeps run several children at once (:func:`simulate_many`, process-level parallelism).

Workers never outlive the command: each child asks the kernel for SIGKILL when its parent
dies (Linux ``prctl(PR_SET_PDEATHSIG)``; a SIGKILL, SIGTERM or SIGHUP of the parent ends its
workers), and carries its own limits whatever the parent does: ``RLIMIT_CPU`` and a
wall-clock ``alarm`` of ``timeout_s + CHILD_GRACE_S``. ``ngspice -b`` runs in its own
process group with the same parent-death signal and CPU limit, in a temporary folder named
``gaincell_spice_<worker pid>_*`` that is removed on every exit path of the worker, by the
parent when the worker ends or is killed, and, for workers that died with a killed parent,
by the next run (folders of dead processes only).

Every deck and every file it includes is screened first (:mod:`gaincell.spice.trust`: a
netlist is code; ``.control`` blocks and other interpreter commands are refused unless
allowed).

Backends
--------
``shared``      PySpice 1.5 ``NgSpiceShared`` on ``libngspice.so`` (ngspice 39 works; PySpice's
                "Unsupported Ngspice version" warning is silenced).
``subprocess``  ``ngspice -b`` on a deck with a ``.control`` block that writes the vectors with
                ``wrdata`` and ends with ``quit``.
``auto``        ``shared`` when PySpice and libngspice load, else ``subprocess``.

Only ``shared`` needs PySpice, which comes with the ``spice`` extra
(``pip install 'gaincell[spice]'``); without it every SPICE command runs on ``ngspice -b``
(same results: the same decks, the same ngspice).

ngspice's messages are mapped to :mod:`gaincell.spice.errors` classes whose text names the
netlist file and line (``file:line: text``): the file among the deck and its includes (a
user's cell or model file keeps its own line numbers in ngspice's messages), selected by the
text ngspice quotes.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import glob
import math
import multiprocessing as mp
import multiprocessing.connection as mpc
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from gaincell._io import pid_alive
from gaincell.spice.errors import (
    ConvergenceError,
    ModelCardError,
    NetlistError,
    NgspiceNotFound,
    SpiceError,
    SpiceTimeout,
)
from gaincell.spice.netlist import Netlist, preflight
from gaincell.spice.trust import deck_sources, screen_deck

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
    cpu_s : float
        CPU time of the child process and its ngspice, s (independent of the machine's load;
        NaN where the platform does not report it).
    """

    scale: np.ndarray
    vectors: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    backend: str = ""
    wall_s: float = 0.0
    cpu_s: float = float("nan")

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


#: What to install for the shared-library backend (PySpice is the ``spice`` extra).
PYSPICE_HINT = "PySpice is missing: pip install 'gaincell[spice]'"


def _has_pyspice() -> bool:
    try:
        import PySpice  # noqa: F401
    except ImportError:
        return False
    return True


def ngspice_available() -> dict:
    """Which backends can run here: ``{"shared": bool, "subprocess": bool, "executable": path}``."""
    exe = shutil.which("ngspice")
    return {"shared": bool(_has_pyspice() and _shared_library()), "subprocess": exe is not None,
            "executable": exe}


def default_backend() -> str:
    """The backend ``auto`` resolves to; raises :class:`NgspiceNotFound` when none works."""
    a = ngspice_available()
    if a["shared"]:
        return "shared"
    if a["subprocess"]:
        return "subprocess"
    raise NgspiceNotFound(
        "ngspice not found: neither libngspice.so (with PySpice, pip install 'gaincell[spice]') "
        "nor the ngspice executable is installed. Install them (Debian/Ubuntu: apt-get install "
        "ngspice libngspice0-dev; or `make ngspice`), or set NGSPICE_LIBRARY_PATH to "
        "libngspice.so")


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


def _norm(x: str) -> str:
    return " ".join(x.lower().replace("{", " { ").replace("}", " } ").split())


def _logical(body: str) -> list[tuple[int, str]]:
    """(first physical line, text with ``+`` continuations joined) of each line of a file."""
    out: list[tuple[int, str]] = []
    for n, raw in enumerate(body.splitlines(), 1):
        s = raw.strip()
        if s.startswith("+") and out:
            out[-1] = (out[-1][0], out[-1][1] + " " + s[1:])
        else:
            out.append((n, raw))
    return out


def _unbalanced_subckt(srcs) -> str | None:
    """``file:line: text`` of a ``.subckt`` without its ``.ends`` in the same file."""
    for fname, body in srcs:
        stack = []
        for n, raw in enumerate(body.splitlines(), 1):
            tok = raw.split()
            if tok and tok[0].lower() == ".subckt":
                stack.append((n, raw.strip()))
            elif tok and tok[0].lower() == ".ends" and stack:
                stack.pop()
        if stack:
            n, text = stack[-1]
            return f"{fname}:{n}: {text} (no matching .ends)"
    return None


def _where(netlist: Netlist, log: list[str]) -> str:
    """``file:line: text`` of the line ngspice complained about, or the deck's name.

    ngspice numbers lines within the file they come from (an included cell or model file
    keeps its own numbering) and often quotes the offending text; the quote, and the number
    where given, select the file among the deck and its includes, user files first.
    """
    try:
        srcs = deck_sources(netlist.text, netlist.name)
    except (OSError, SpiceError):
        srcs = [(netlist.name, netlist.text)]
    srcs = srcs[1:] + srcs[:1]   # included (user) files first: the generated deck is checked
    text = "\n".join(log).lower()
    if "mismatch of .subckt" in text:
        hit = _unbalanced_subckt(srcs)
        if hit:
            return hit
    numbers: list[int] = []
    frags: list[str] = []
    for k, line in enumerate(log):
        m = re.search(r"(?:netlist line no\.|error on line|model issue on line)\s*(\d+)", line,
                      re.I)
        if m and int(m.group(1)) > 0:
            numbers.append(int(m.group(1)))
            if re.search(r"model issue on line", line, re.I) and k + 1 < len(log):
                frags.append(log[k + 1].strip().removesuffix("...").strip())
        for pat in (r"expression err:\s*(.+)$", r"undefined parameter\s*\[(.+?)\]",
                    r"check line\s+(.+)$", r"(?:include|library) file\s+(\S+)",
                    r"unknown subckt:\s*(.+)$", r"illegal subckt call.*?:\s*(.+)$",
                    r"in line\s*:?\s*(.+)$", r"unknown model\s+(\S+)",
                    r"could not find (?:a valid )?model(?:name)?\s+(\S+)"):
            m = re.search(pat, line, re.I)
            if m and len(m.group(1).strip()) >= 2:
                frags.append(m.group(1).strip())
    frags = [_norm(f) for f in frags if f]

    def match(logical: str, frag: str) -> bool:
        lt = _norm(logical)
        if frag in lt:
            return True
        words = frag.split()   # ngspice truncates long quotes: try leading words
        for k in range(len(words) - 1, 1, -1):
            if " ".join(words[:k]) in lt and len(" ".join(words[:k])) >= 8:
                return True
        return False

    for n in numbers:           # a numbered line whose text carries the quote
        for fname, body in srcs:
            for first, logical in _logical(body):
                if first == n and any(match(logical, f) for f in frags):
                    return f"{fname}:{n}: {body.splitlines()[n - 1].strip()}"
    for f in frags:             # the quote alone
        for fname, body in srcs:
            for first, logical in _logical(body):
                if not logical.lstrip().startswith("*") and match(logical, f):
                    return f"{fname}:{first}: {body.splitlines()[first - 1].strip()}"
    for n in numbers:           # the number alone: only if one file has such a line
        cand = [(f, b) for f, b in srcs if any(first == n and not lg.lstrip().startswith("*")
                                                for first, lg in _logical(b))]
        if len(cand) == 1:
            f, b = cand[0]
            return f"{f}:{n}: {b.splitlines()[n - 1].strip()}"
    return netlist.name


def _raise_for(netlist: Netlist, phase: str, log: list[str], detail: str = "") -> None:
    text = "\n".join(log).lower()
    msgs = [ln.strip() for ln in log if ln.strip() and (
        "error" in ln.lower() or "warning" in ln.lower() or "too small" in ln.lower()
        or "fail" in ln.lower() or "cannot" in ln.lower() or "could not" in ln.lower()
        or "unable" in ln.lower() or "line no" in ln.lower() or "unknown" in ln.lower()
        or "undefined" in ln.lower() or "err:" in ln.lower())]
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


#: Extra time a child grants itself beyond the parent's limit before its own limit kills it,
#: s (assumption: the parent, when alive, always acts first).
CHILD_GRACE_S = 2.0
#: Prefix of the temporary folders of the ``ngspice -b`` backend; the writer's process id
#: follows, so a later run removes the folders of dead writers.
TEMP_PREFIX = "gaincell_spice_"
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int | None = None) -> None:
    """Linux: have the kernel SIGKILL this process when its parent dies (``prctl``
    ``PR_SET_PDEATHSIG``); exit at once if the parent is already gone. No-op elsewhere."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)   # the parent died before prctl took effect


def _limit_cpu(timeout_s: float) -> None:
    """``RLIMIT_CPU``: the kernel ends this process (SIGXCPU, then SIGKILL) after
    ``timeout_s + CHILD_GRACE_S`` CPU seconds, whatever its parent does."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    soft = int(math.ceil(timeout_s + CHILD_GRACE_S))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    want_hard = soft + 2 if hard == resource.RLIM_INFINITY else min(hard, soft + 2)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (min(soft, want_hard), want_hard))
    except (ValueError, OSError):  # pragma: no cover - a lower limit is already set
        pass


def _child_limits(parent_pid: int | None, timeout_s: float) -> None:
    """Everything a worker does first: die with its parent, carry its own CPU and wall-clock
    limits (``SIGALRM`` with its default action ends the process)."""
    _die_with_parent(parent_pid)
    _limit_cpu(timeout_s)
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.alarm(int(math.ceil(timeout_s + CHILD_GRACE_S)))


def _ngspice_preexec(parent_pid: int, timeout_s: float):
    def f() -> None:   # runs in the ngspice process between fork and exec
        os.setpgid(0, 0)   # own process group: a timeout kills ngspice and what it started
        _die_with_parent(parent_pid)
        _limit_cpu(timeout_s)
    return f


def _temp_folders(pid: int | None = None) -> list[str]:
    pat = f"{TEMP_PREFIX}{pid if pid is not None else '*'}_*"
    return glob.glob(os.path.join(tempfile.gettempdir(), pat))


def _remove_temp(pid: int) -> None:
    """Remove the ``ngspice -b`` temporary folders of worker ``pid``."""
    for d in _temp_folders(pid):
        shutil.rmtree(d, ignore_errors=True)


def remove_stale_temp() -> int:
    """Remove temporary folders left by workers that died (killed with their parent, say);
    returns how many were removed. Folders of live processes are kept."""
    n = 0
    for d in _temp_folders():
        m = re.match(re.escape(TEMP_PREFIX) + r"(\d+)_", os.path.basename(d))
        if m and not pid_alive(int(m.group(1))):
            shutil.rmtree(d, ignore_errors=True)
            n += 1
    return n


def _job_subprocess(text: str, vectors: list[str], timeout_s: float):
    exe = shutil.which("ngspice")
    if exe is None:
        return ("error", "missing", [], "ngspice executable not found")
    tmp = tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{os.getpid()}_")
    try:
        out = os.path.join(tmp, "out.txt")
        lines = text.rstrip().splitlines()
        if lines and lines[-1].strip().lower() == ".end":
            lines = lines[:-1]
        deck = "\n".join(lines) + "\n" + _control_block(vectors, out) + "\n.end\n"
        path = os.path.join(tmp, "deck.cir")
        Path(path).write_text(deck)
        p = subprocess.Popen([exe, "-b", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, cwd=tmp, stdin=subprocess.DEVNULL,
                             preexec_fn=_ngspice_preexec(os.getpid(), timeout_s))
        try:
            so, se = p.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            so, _ = p.communicate()
            return ("error", "timeout", (so or "").splitlines(), "")
        log = (se + "\n" + so).splitlines()
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
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _child(conn, job, parent_pid=None):
    kind, payload, timeout_s = job
    try:
        _child_limits(parent_pid, timeout_s)
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
    try:   # the CPU time of this worker and of its ngspice process (s), load-independent
        import resource

        ru = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        cpu = float(sum(u.ru_utime + u.ru_stime for u in ru))
    except (ImportError, OSError):
        cpu = float("nan")
    try:
        conn.send((*res, cpu))
    finally:
        conn.close()
    os._exit(0)  # skip atexit handlers of the ngspice library


def _mp_context():
    name = os.environ.get("GAINCELL_SPICE_MP") or ("fork" if sys.platform.startswith("linux")
                                                    else "spawn")
    return mp.get_context(name)


#: Exit signals with which a worker's own time limits end it.
_SELF_LIMIT_SIGNALS = tuple(-getattr(signal, n) for n in ("SIGALRM", "SIGXCPU")
                            if hasattr(signal, n))


def _run_children(jobs, workers: int, progress):
    """Run ``jobs`` (kind, payload, timeout_s) in child processes, ``workers`` at a time.

    Returns one tuple per job; a job past its timeout yields ``("error", "timeout", ...)``.
    Every child dies with this process (parent-death signal) and carries its own CPU and
    wall-clock limits; its temporary folders are removed when it ends, on every path, and
    folders left by workers that died earlier are removed first.
    """
    ctx = _mp_context()
    remove_stale_temp()
    results: list = [None] * len(jobs)
    elapsed: list = [0.0] * len(jobs)
    pending = list(range(len(jobs)))
    active: dict = {}
    me = os.getpid()

    def finish(p) -> None:
        p.join(5)
        if p.pid is not None:
            _remove_temp(p.pid)

    try:
        while pending or active:
            while pending and len(active) < workers:
                i = pending.pop(0)
                r, w = ctx.Pipe(duplex=False)
                p = ctx.Process(target=_child, args=(w, jobs[i], me), daemon=True)
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
                    p.join(5)
                    if p.exitcode in _SELF_LIMIT_SIGNALS:
                        results[i] = ("error", "timeout", [], "")
                    else:
                        results[i] = ("error", "crash", [], f"ngspice process died (exit "
                                      f"code {p.exitcode})")
                elapsed[i] = time.monotonic() - t_start
                r.close()
                finish(p)
                if progress is not None:
                    progress.update(1)
            now = time.monotonic()
            for r, (i, p, t0) in list(active.items()):
                if now - t0 > jobs[i][2]:
                    p.kill()
                    finish(p)
                    r.close()
                    del active[r]
                    results[i] = ("error", "timeout", [], "")
                    if progress is not None:
                        progress.update(1)
    finally:
        for r, (_, p, _) in active.items():
            p.kill()
            finish(p)
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
    if backend == "shared" and not _has_pyspice():
        raise NgspiceNotFound(f"backend 'shared' needs PySpice: {PYSPICE_HINT} (or use "
                              "backend='subprocess', ngspice -b)")
    if backend == "shared" and not _shared_library():
        raise NgspiceNotFound("backend 'shared' requested but libngspice.so is not available: "
                              "install libngspice0-dev, set NGSPICE_LIBRARY_PATH, or use "
                              "backend='subprocess'")
    if backend == "subprocess" and not shutil.which("ngspice"):
        raise NgspiceNotFound("backend 'subprocess' requested but the ngspice executable is not "
                              "on PATH: install ngspice")
    for n in netlists:   # a netlist is code: refuse interpreter blocks (trust.py)
        screen_deck(n.text, n.name)
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
        status, data, log, detail, *cpu, wall = r
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
        out.append(SimResult(scale=scale, vectors=vecs, log=log, backend=backend, wall_s=wall,
                             cpu_s=cpu[0] if cpu else float("nan")))
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
