"""Design-space exploration with accuracy in the loop, serially or on Dask.distributed.

>>> import gaincell
>>> res = gaincell.explore(set={"device.kv_levels": [4, 8]}, chips=2,
...                        out="study/")                      # doctest: +SKIP

The module itself is callable: ``gaincell.explore(...)`` is :func:`explore`. See
``gaincell/explore/README.md`` for the study file, the metrics and the storage.
"""

import sys
import types

from gaincell.explore.api import explore
from gaincell.explore.evaluate import ACCURACY_METRICS, COST_COLUMNS, evaluate_point
from gaincell.explore.pareto import pareto_front
from gaincell.explore.report import write_report
from gaincell.explore.runner import RunResult, run_study
from gaincell.explore.space import Axis, Space
from gaincell.explore.study import Study, build_study, load_study
from gaincell.explore.workload import Workload

__all__ = ["explore", "Study", "load_study", "build_study", "Space", "Axis", "Workload",
           "run_study", "RunResult", "evaluate_point", "pareto_front", "write_report",
           "COST_COLUMNS", "ACCURACY_METRICS"]


class _CallableModule(types.ModuleType):
    """Lets ``gaincell.explore(...)`` call :func:`explore` while the package stays a module."""

    def __call__(self, *args, **kwargs):
        return explore(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
