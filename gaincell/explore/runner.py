"""Run a study: serially or on Dask.distributed, storing each row as it finishes, resumable.

``workers = 0`` evaluates the points in this process; ``workers = N`` starts a
``distributed.LocalCluster`` of N single-threaded worker processes on this machine;
``scheduler = "tcp://HOST:8786"`` (or the path of a scheduler JSON file) uses an existing Dask
cluster, whose workers need the same gaincell installed. Points are submitted lazily (at most
a few per worker in flight), so memory does not grow with the size of the space.

Results do not depend on the workers: every random draw of a point comes from seeds derived
from the study seed and the point index (see :mod:`gaincell.explore.evaluate`).

``run.json`` records the study, its SHA-256, the seeds, the versions of gaincell, numpy,
numba, scipy, pyarrow and dask, the git commit (when gaincell runs from a checkout), the
scheduler, start and end times, and the counts of finished and failed points. A second run
on the same folder resumes (points already in the table are skipped) and refuses a folder
that holds another study.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gaincell._io import atomic_write_json
from gaincell.explore.evaluate import PointContext, evaluate_point
from gaincell.explore.storage import ResultStore, schema_for
from gaincell.explore.study import Study

__all__ = ["run_study", "RunResult", "run_record", "local_cluster"]

#: How long to try to reach an existing scheduler, s.
CONNECT_TIMEOUT_S = 20

#: Environment of LocalCluster workers: one thread each (the cluster gives the parallelism).
_WORKER_ENV = {"GAINCELL_THREADS": "1", "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class RunResult:
    """What a run did: the folder, its tables and counts."""

    out: Path
    parquet: Path
    csv: Path
    n_points: int
    n_done: int
    n_failed: int
    n_new: int
    complete: bool
    seconds: float


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _git_commit() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        r = subprocess.run(["git", "-C", str(here), "rev-parse", "HEAD"], capture_output=True,
                           text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else None


def _versions() -> dict[str, str | None]:
    from importlib import metadata

    out: dict[str, str | None] = {}
    for name in ("gaincell", "numpy", "numba", "scipy", "pyarrow", "dask", "distributed"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    from gaincell._version import __version__

    out["gaincell"] = out["gaincell"] or __version__
    return out


def run_record(study: Study) -> dict[str, Any]:
    """The static part of ``run.json`` (study, hash, seeds, versions, commit)."""
    d = study.to_dict()
    sha = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
    return {
        "study": d, "study_sha256": sha, "n_points": len(study.space),
        "seeds": {"study": study.seed,
                  "sampling": "SeedSequence(seed, spawn_key=(1, index)) (random); "
                              "SeedSequence(seed, spawn_key=(1,)) (lhs)",
                  "chips": "SeedSequence(seed, spawn_key=(2, index, chip))",
                  "workload": "SeedSequence(seed, spawn_key=(3,))"},
        "versions": _versions(), "git_commit": _git_commit(),
    }


def _write_json(path: Path, data: dict) -> None:
    atomic_write_json(path, data)


def _check_out(out: Path) -> None:
    """A study folder is new, empty, or one that gaincell explore wrote (holding run.json);
    a symbolic link or any other file is refused."""
    try:
        st = os.lstat(out)
    except FileNotFoundError:
        return
    import stat

    if not stat.S_ISDIR(st.st_mode):
        raise ValueError(f"--out {out}: exists and is not a folder (or is a symbolic link): "
                         f"allowed a new folder, an empty one, or a study folder to resume")
    if any(p.name != ".lock" for p in out.iterdir()) and not (out / "run.json").is_file():
        raise ValueError(f"--out {out}: a folder gaincell explore did not write (no run.json): "
                         f"allowed a new or empty folder, or a study folder to resume")


def _previous_runs(out: Path, sha: str) -> list:
    """The runs recorded in ``out/run.json``; ``ValueError`` if it holds another study."""
    rj = out / "run.json"
    if not rj.is_file():
        return []
    try:
        old = json.loads(rj.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ValueError(f"{rj}: not valid JSON: allowed a study folder written by gaincell "
                         f"explore") from None
    if not isinstance(old, dict) or old.get("study_sha256") != sha:
        got = old.get("study_sha256") if isinstance(old, dict) else None
        raise ValueError(f"{out}: holds the results of another study (run.json study_sha256 "
                         f"{str(got)[:12]}...): allowed the same study (resume) or a new "
                         f"--out folder")
    return list(old.get("runs", []))


@contextlib.contextmanager
def _folder_lock(out: Path):
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise ValueError(f"{out}: another run is using this folder: allowed one run per "
                             f"folder at a time") from None
        yield


def _progress(total: int, initial: int, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc="explore", unit="pt", disable=not enabled,
                dynamic_ncols=True, smoothing=0.1)


def run_study(study: Study, out, *, workers: int | None = 0, scheduler: str | None = None,
              progress: bool = True, flush_s: float = 1.0,
              on_row: Callable[[dict], None] | None = None) -> RunResult:
    """Evaluate every point of ``study`` not yet in ``out``; see the module docstring.

    ``on_row`` is called with every finished row (after it is stored). Ctrl-C (or any
    exception) still writes the partial tables and ``run.json``, then propagates.
    """
    out = Path(out)
    _check_out(out)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 0):
        raise ValueError(f"workers = {workers!r} is invalid: allowed an integer >= 0 "
                         f"(0: in this process)")
    if scheduler is not None and workers not in (None, 0):
        raise ValueError("workers and scheduler are exclusive: allowed one of them")
    record = run_record(study)
    _previous_runs(out, record["study_sha256"])   # read-only check: nothing written yet
    serial = scheduler is None and workers == 0
    with contextlib.ExitStack() as stack:
        client = None if serial else stack.enter_context(_client(workers, scheduler))
        stack.enter_context(_folder_lock(out))
        rj = out / "run.json"
        runs = _previous_runs(out, record["study_sha256"])   # again, under the lock
        store = ResultStore(out, schema_for(study.space, study.chips > 0,
                                            study.model is not None),
                            len(study.space), flush_s=flush_s)
        done_before = store.n_done
        mode = ("serial" if serial else
                f"scheduler {scheduler}" if scheduler else f"LocalCluster({workers or 'auto'})")
        this = {"started": _now(), "mode": mode, "done_before": done_before}
        record["runs"] = runs + [this]
        record.update(status="running", done=store.n_done, failed=store.n_failed)
        _write_json(rj, record)
        ctx = study.context()
        t0 = time.perf_counter()
        bar = _progress(len(study.space), done_before, progress)
        bar.set_postfix(done=store.n_done, failed=store.n_failed, refresh=False)

        def take(row: dict) -> None:
            store.add(row)
            bar.update(1)
            bar.set_postfix(done=store.n_done, failed=store.n_failed, refresh=False)
            if on_row is not None:
                on_row(row)

        todo = ((i, p) for i, p in study.space if not store.is_done(i))
        status = "error"
        try:
            if serial:
                for i, p in todo:
                    take(evaluate_point(ctx, i, p))
            else:
                _run_dask(ctx, todo, take, client)
            status = "complete" if store.n_done == len(study.space) else "partial"
        except KeyboardInterrupt:
            status = "interrupted"
            raise
        finally:
            bar.close()
            pq_path, csv_path = store.compact()
            this.update(finished=_now(), status=status,
                        seconds=round(time.perf_counter() - t0, 3),
                        new=store.n_done - done_before)
            record.update(status=status, done=store.n_done, failed=store.n_failed)
            _write_json(rj, record)
    return RunResult(out, pq_path, csv_path, len(study.space), store.n_done, store.n_failed,
                     store.n_done - done_before, status == "complete",
                     time.perf_counter() - t0)


def local_cluster(n_workers: int, **kw):
    """A ``LocalCluster`` of ``n_workers`` single-threaded worker processes.

    Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers by default; glibc then
    returns freed memory at once and every large NumPy temporary page-faults anew, which made
    the simulator's NumPy engine about 6 times slower in a worker than in this process
    (measured on this package's benchmark). The workers here keep glibc's defaults.
    """
    import dask
    from distributed import LocalCluster

    pre = {k: v for k, v in (dask.config.get("distributed.nanny.pre-spawn-environ") or {}
                             ).items() if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": pre}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                            dashboard_address=None, env=dict(_WORKER_ENV), **kw)


@contextlib.contextmanager
def _client(workers: int | None, scheduler: str | None):
    import logging

    from distributed import Client

    if scheduler is not None:
        is_file = scheduler.endswith(".json") or os.path.isfile(scheduler)
        if is_file and not os.path.isfile(scheduler):
            raise ValueError(f"--scheduler {scheduler}: no such scheduler file: allowed a "
                             f"scheduler address (tcp://HOST:8786) or an existing scheduler "
                             f"file")
        t = f"{CONNECT_TIMEOUT_S}s"
        try:
            if is_file:
                client = Client(scheduler_file=scheduler, timeout=t)
            else:
                client = Client(scheduler, timeout=t)
        except (OSError, TimeoutError) as e:
            raise ValueError(f"--scheduler {scheduler}: cannot connect ({e}): allowed the "
                             f"address of a running Dask scheduler (tcp://HOST:8786) or its "
                             f"scheduler file") from None
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                    else os.cpu_count() or 1)
    cluster = local_cluster(n, silence_logs=logging.ERROR)
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _run_dask(ctx: PointContext, todo, take, client, fn=evaluate_point) -> None:
    """Submit ``fn(ctx, i, point)`` lazily (a few per worker in flight), hand rows to ``take``."""
    from distributed import as_completed

    n_threads = max(1, sum(client.nthreads().values()))
    limit = 2 * n_threads + 2
    ctx_f = client.scatter(ctx, broadcast=True, hash=False)
    ac = as_completed()
    where: dict[Any, tuple[int, dict, Any]] = {}

    def submit() -> bool:
        try:
            i, p = next(todo)
        except StopIteration:
            return False
        f = client.submit(fn, ctx_f, i, p, pure=False,
                          key=f"explore-point-{i}-{os.urandom(4).hex()}")
        where[f.key] = (i, p, f)
        ac.add(f)
        return True

    inflight = 0
    while inflight < limit and submit():
        inflight += 1
    try:
        for f in ac:
            inflight -= 1
            i, p, _ = where.pop(f.key)
            try:
                row = f.result()
            except Exception as e:   # the worker died (memory, signal): record it
                row = {"index": i, "status": "error", **p,
                       "error": f"{type(e).__name__} on the Dask worker: {e}"}
            take(row)
            if submit():
                inflight += 1
    finally:   # on Ctrl-C or an error: drop what is still in flight
        if where:
            client.cancel([fut for _, _, fut in where.values()])
