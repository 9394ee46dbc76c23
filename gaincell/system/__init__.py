"""System layer: energy, latency and area of gain-cell attention, GPU baselines, reports.

>>> import gaincell.system as gs
>>> est = gs.estimate(n_layers=12)            # the leroux2025 GPT-2 design: calibrated
>>> round(est.latency_layer_s * 1e9)          # ns per token and layer (the paper's)
65
>>> pred = gs.estimate(n_layers=12, mode="predicted")   # from circuit physics
>>> pred.mode
'predicted'
>>> paths = gs.write_report(est, "report/")   # doctest: +SKIP

See ``gaincell/system/README.md`` for the cost model and every assumption.
"""

from gaincell.system import components
from gaincell.system.breakdown import Breakdown
from gaincell.system.calibrated import LEROUX2025, Published, calibrate
from gaincell.system.circuit import CircuitAssumptions
from gaincell.system.design_file import load_design
from gaincell.system.estimator import Estimate, estimate, leak_per_step_for, retention_config
from gaincell.system.gpu import GPUBaseline, GPUComparison, compare_gpus, gpu_baselines
from gaincell.system.report import write_report
from gaincell.system.retention import RetentionLink
from gaincell.system.spec import SystemSpec
from gaincell.system.sweep import grid, sweep, write_csv
from gaincell.system.technology import NodeParams, node_params
from gaincell.system.workload import Workload

__all__ = ["estimate", "Estimate", "write_report", "sweep", "grid", "write_csv",
           "SystemSpec", "load_design", "Workload", "Breakdown", "RetentionLink",
           "GPUBaseline", "GPUComparison", "gpu_baselines", "compare_gpus", "components",
           "Published", "LEROUX2025", "calibrate", "CircuitAssumptions", "NodeParams",
           "node_params", "leak_per_step_for", "retention_config"]
