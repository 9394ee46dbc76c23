"""Throughput of `gaincell explore`: points per second serially and on a two-worker
LocalCluster, and the Dask scheduler's overhead per point.

Run: ``.venv/bin/python benchmarks/bench_explore.py [--points N] [--chips C]``. Three
measurements, in one run on this machine:

1. serial: ``run_study(..., workers=0)`` of a study of N accuracy points (C chips each);
2. cluster: the same study on a ``LocalCluster`` of two single-threaded worker processes,
   started beforehand (its start-up is printed apart), through the same runner;
3. overhead: the runner's Dask loop with a no-op point function on the same cluster:
   wall time per point = scheduling, serialization and result hand-over.

The ratio cluster / serial is the speed-up; on a machine with fewer than two free cores it
stays below 2 (``uptime`` is printed to tell).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time

from gaincell.explore import Space, Study, Workload, run_study, runner
from gaincell.explore.space import parse_axis
from gaincell.params import AttentionConfig
from gaincell.system.spec import SystemSpec


def _noop(ctx, i, p):
    return {"index": i, "status": "ok", **p}


def study(n: int, chips: int) -> Study:
    axes = [parse_axis("device.sigma_read_noise", {"lo": 0.0, "hi": 2e-14}),
            parse_axis("device.kv_levels", [4, 8, 16])]
    return Study(space=Space(axes, sample="random", n=n, seed=0),
                 cfg=AttentionConfig.leroux2025(n_heads=2, window=128), spec=SystemSpec(),
                 chips=chips, workload=Workload(tokens=32, heads=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=48)
    ap.add_argument("--chips", type=int, default=4)
    ap.add_argument("--noop-points", type=int, default=400)
    a = ap.parse_args()
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    st = study(a.points, a.chips)
    with tempfile.TemporaryDirectory() as tmp:
        run_study(study(2, a.chips), os.path.join(tmp, "warm"), workers=0, progress=False)
        t = time.perf_counter()
        run_study(st, os.path.join(tmp, "serial"), workers=0, progress=False)
        serial = time.perf_counter() - t
        t = time.perf_counter()
        with runner.local_cluster(2) as cluster:
            start = time.perf_counter() - t
            addr = cluster.scheduler_address
            run_study(study(4, a.chips), os.path.join(tmp, "warm2"), scheduler=addr,
                      progress=False)   # compile/caches on both workers
            t = time.perf_counter()
            run_study(st, os.path.join(tmp, "cluster"), scheduler=addr, progress=False)
            clus = time.perf_counter() - t
            n0 = a.noop_points
            noop = Study(space=Space([parse_axis("device.tau",
                                                 {"lo": 1e-3, "hi": 1e-2})], "random", n0),
                         chips=0)
            rows = []
            t = time.perf_counter()
            with runner._client(None, addr) as client:
                runner._run_dask(noop.context(), iter(noop.space), rows.append, client, fn=_noop)
            over = (time.perf_counter() - t) / n0
            assert len(rows) == n0
    print(f"study: {a.points} random points, {a.chips} chips each, 2 heads x 32 tokens, "
          f"window 128")
    print(f"serial          : {a.points / serial:8.2f} points/s ({serial / a.points * 1e3:.1f} "
          f"ms/point)")
    print(f"2-worker cluster: {a.points / clus:8.2f} points/s ({clus / a.points * 1e3:.1f} "
          f"ms/point); cluster start-up {start:.1f} s")
    print(f"speed-up cluster / serial: {serial / clus:.2f}x")
    print(f"scheduler overhead: {over * 1e3:.2f} ms per point (no-op points through the "
          f"runner's Dask loop, {n0} points)")
    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
