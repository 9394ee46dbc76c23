"""SPICE errors in a user's files name that file and line (issue 15, defect 11).

ngspice numbers lines within the file they come from and quotes the offending text; on
commit f5ba4a6 the runner read every line number as a line of the generated bench
(``cell_dc.cir:17: <an unrelated bench line>``) or fell back to the bench's name, so all three
cases below named ``cell_dc.cir`` instead of the user's file.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from spice_support import require_spice

from gaincell.params import DeviceParams
from gaincell.spice.benches import cell_dc_bench
from gaincell.spice.errors import NetlistError
from gaincell.spice.netlist import CircuitKit, circuits_dir
from gaincell.spice.runner import simulate

BACKENDS = ["shared", "subprocess"]


def _line_of(text: str, needle: str) -> int:
    return next(n for n, ln in enumerate(text.splitlines(), 1) if needle in ln)


def _case(kind: str, tmp_path):
    cell = (circuits_dir() / "gaincell_cell.cir").read_text()
    models = (circuits_dir() / "models" / "generic_bsim4.lib").read_text()
    if kind == "brace":
        cell = cell.replace("w={w_wr}", "w={w_wr*}")
        bad, needle = "cell.cir", "w={w_wr*}"
    elif kind == "ends":
        cell = "\n".join(ln for ln in cell.splitlines() if not ln.startswith(".ends"))
        bad, needle = "cell.cir", ".subckt gaincell_cell"
    else:  # a bad .model parameter value on a continuation line of gc_nmos
        models = models.replace("+ vsat=1e5 nfactor=1.2 rdsw=100",
                                "+ vsat=abc nfactor=1.2 rdsw=100", 1)
        bad, needle = "models.lib", ".model gc_nmos "
    (tmp_path / "cell.cir").write_text(cell)
    (tmp_path / "models.lib").write_text(models)
    kit = CircuitKit.default(cell_file=str(tmp_path / "cell.cir"),
                             model_files=(str(tmp_path / "models.lib"),))
    text = (tmp_path / bad).read_text()
    return kit, tmp_path / bad, _line_of(text, needle)


@pytest.mark.spice
@pytest.mark.parametrize("kind", ["brace", "ends", "model"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_error_names_the_users_file_and_line(kind, backend, tmp_path):
    require_spice(backend)
    kit, path, line = _case(kind, tmp_path)
    nl = cell_dc_bench(5, np.array([0.9]), DeviceParams.leroux2025(), kit)
    with pytest.raises(NetlistError) as e:
        simulate(nl, timeout_s=30, backend=backend)
    assert str(e.value).startswith(f"{path}:{line}: "), str(e.value)
    assert not re.match(r"cell_dc\.cir", str(e.value))
