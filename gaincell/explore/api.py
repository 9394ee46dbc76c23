"""``explore()``: build (or take) a study, run it, evaluate the paper's point, write the report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Mapping

from gaincell.explore.runner import RunResult, _write_json, run_study
from gaincell.explore.study import Study, load_study

__all__ = ["explore"]


def explore(study: Study | str | os.PathLike | None = None, out: str | os.PathLike = "explore",
            *, set: Mapping[str, Any] | None = None, workers: int | None = 0,
            scheduler: str | None = None, progress: bool = True, report: bool = True,
            figures: bool = True, flush_s: float = 1.0, **options: Any) -> RunResult:
    """Run a design-space study into folder ``out`` (resuming what is there).

    Parameters
    ----------
    study : Study, path of a study file, or None
        With a path or None, ``set`` (extra axes ``{key: [values] or {lo, hi, ...}}``) and
        ``options`` (``config``, ``sample``, ``n``, ``seed``, ``chips``, ``workload``,
        ``tokens``, ``batch``, ``heads``, ``model``) complete or override the file.
    out : path
        Study folder: ``results.parquet``, ``results.csv``, ``run.json``, ``report.md`` and
        the Pareto figures.
    workers : int or None
        0: in this process (default of the Python API); N: a LocalCluster of N worker
        processes; None: one worker per usable core.
    scheduler : str, optional
        Address (``tcp://HOST:8786``) or scheduler file of an existing Dask cluster.
    report, figures : bool
        Write ``report.md`` (and the figures) after the run.
    """
    study_file = None
    if not isinstance(study, Study):
        if study is not None:
            try:
                study_file = {"path": str(Path(study).resolve()),
                              "text": Path(study).read_text(encoding="utf-8")}
            except (OSError, UnicodeDecodeError):
                study_file = None   # load_study names the problem
        study = load_study(study, set=dict(set or {}), **options)
    elif set or options:
        raise ValueError("set and options apply to a study file: allowed with a path or None, "
                         "not with a Study object")
    res = run_study(study, out, workers=workers, scheduler=scheduler, progress=progress,
                    flush_s=flush_s)
    rj = Path(out) / "run.json"
    record = json.loads(rj.read_text(encoding="utf-8"))
    if study_file is not None and record.get("study_file") != study_file:
        record["study_file"] = study_file
        _write_json(rj, record)
    if "paper_point" not in record:
        from gaincell.explore.report import paper_point

        record["paper_point"] = paper_point(study)
        _write_json(rj, record)
    if report:
        from gaincell.explore.report import write_report

        write_report(out, figures=figures)
    return res

