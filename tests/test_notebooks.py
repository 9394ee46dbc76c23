"""The stored notebooks are executed copies of their sources, with inline figures.

The nbmake run (``pytest`` over ``notebooks/``) executes every notebook afresh; these tests check
what the repository keeps for a reader: each stored copy ran top to bottom in one kernel, has
the outputs of every code cell and its figures inline, holds exactly the cells that
``scripts/make_notebooks.py`` generates (so a stale copy fails), and stays small. Regenerate
with ``make notebooks-execute`` (``python scripts/make_notebooks.py --execute``).
"""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("make_notebooks",
                                               ROOT / "scripts" / "make_notebooks.py")
mk = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(mk)

MAX_BYTES = 1_500_000
HINT = "run `make notebooks-execute` (python scripts/make_notebooks.py --execute)"


def test_every_notebook_is_known_to_the_generator():
    stored = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert stored == mk.NAMES
    assert set(mk.HAND_WRITTEN).isdisjoint(mk.BOOKS)


@pytest.mark.parametrize("name", mk.NAMES)
def test_stored_copy_is_executed_and_current(name):
    problems = mk.stale(name)
    assert not problems, "\n".join(problems) + f"\n{HINT}"


@pytest.mark.parametrize("name", mk.NAMES)
def test_figures_inline_small_and_no_warnings_of_the_setup(name):
    path = ROOT / "notebooks" / f"{name}.ipynb"
    assert path.stat().st_size < MAX_BYTES, f"{path.name}: {path.stat().st_size} bytes"
    book = nbformat.read(path, as_version=4)
    src = "\n".join(c.source for c in book.cells if c.cell_type == "code")
    assert "matplotlib.use" not in src and "MPLBACKEND" not in src   # the inline backend
    assert "from tqdm import" not in src and "import tqdm\n" not in src   # tqdm.auto only
    outputs = [o for c in book.cells if c.cell_type == "code" for o in c.outputs]
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    if "plt." in src or "figures." in src:
        assert pngs, f"{path.name}: draws figures but stores none inline"
    text = json.dumps([o for o in outputs if o.output_type == "stream"])
    for bad in ("TqdmWarning", "IProgress not found", "non-interactive",
                "InputClippedWarning"):
        assert bad not in text, f"{path.name}: an output holds {bad!r}"


def test_stale_copy_is_detected(tmp_path, monkeypatch):
    """A stored copy whose cells differ from the generator, or that was not executed, fails."""
    name = "02_attention"
    book = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    monkeypatch.setattr(mk, "ROOT", tmp_path)
    nbformat.write(book, tmp_path / f"{name}.ipynb")
    assert mk.stale(name) == []
    edited = nbformat.from_dict(json.loads(json.dumps(book)))
    edited.cells[1].source += "\nprint('an edit')"
    nbformat.write(edited, tmp_path / f"{name}.ipynb")
    assert any("cell 1 differs" in p for p in mk.stale(name))
    nbformat.write(mk.nb(mk.BOOKS[name]), tmp_path / f"{name}.ipynb")   # never executed
    problems = mk.stale(name)
    assert any("not executed top to bottom" in p for p in problems)
    assert any("has no output" in p for p in problems)
    assert mk.stale("06_explore") == ["06_explore.ipynb: missing"]
    assert mk.main(["--check", name]) == 1


def test_source_of_a_hand_written_notebook_clears_its_outputs():
    book = mk.source_of("05_model_accuracy")
    code = [c for c in book.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert [c.id for c in book.cells] == [f"cell-{i:02d}" for i in range(len(book.cells))]
