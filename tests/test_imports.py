"""Imports point down the layers only (docs/design.md): params -> device -> array -> system;
spice beside them reads params, device and (for the tile check) array; nn reads params,
device and array; explore and the commands sit on top. No layer imports the package's
``__init__``, and no two modules import each other, directly or through others (no cycle,
inside a layer either). Every ``import`` of every module counts, function-level and
``TYPE_CHECKING`` ones included."""

import ast
from pathlib import Path

import gaincell

ROOT = Path(gaincell.__file__).parent

#: Module (first name under gaincell) -> its layer.
LAYER = {
    "_version": "util", "_io": "util", "_checks": "util", "metrics": "util",
    "params": "params", "device": "device", "array": "array", "reference": "array",
    "system": "system", "spice": "spice", "nn": "nn", "explore": "explore",
    "commands": "commands", "cli": "commands", "__main__": "commands",
}
_BASE = {"util", "params", "device", "array"}
#: Layer -> the layers it may import.
MAY_IMPORT = {
    "util": {"util"},
    "params": {"util", "params"},
    "device": {"util", "params", "device"},
    "array": _BASE,
    "system": _BASE | {"system"},
    "spice": _BASE | {"spice"},
    "nn": _BASE | {"nn"},
    "explore": _BASE | {"system", "nn", "explore"},
    "commands": _BASE | {"system", "spice", "nn", "explore", "commands", "package"},
    "package": _BASE | {"system", "explore", "commands", "package"},
}


def _layer(module: str) -> str:
    parts = module.split(".")
    return "package" if len(parts) == 1 else LAYER[parts[1]]


def _module_name(f: Path) -> str:
    rel = f.relative_to(ROOT.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def _import_nodes():
    """(file, module, node) for every absolute import statement of the package."""
    for f in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) or (
                    isinstance(node, ast.ImportFrom) and node.level == 0 and node.module):
                yield f.relative_to(ROOT.parent), _module_name(f), node


def _edges():
    for path, mod, node in _import_nodes():
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
        for n in names:
            if n == "gaincell" or n.startswith("gaincell."):
                yield path, mod, n


def test_every_module_has_a_layer():
    missing = sorted({m.split(".")[1] for _, m, _ in _edges() if "." in m} - set(LAYER))
    assert not missing, f"give these modules a layer in LAYER: {missing}"


def test_imports_point_down_the_layers():
    up = [f"{path}: {mod} ({_layer(mod)}) imports {target} ({_layer(target)})"
          for path, mod, target in _edges()
          if _layer(target) not in MAY_IMPORT[_layer(mod)]]
    assert not up, "upward imports:\n" + "\n".join(up)


def test_the_checker_sees_an_upward_arrow():
    assert "system" not in MAY_IMPORT["device"] and "package" not in MAY_IMPORT["spice"]
    assert _layer("gaincell.system.estimator") == "system" and _layer("gaincell") == "package"


def _graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports. ``from pkg import sub`` (a module) points at
    ``pkg.sub``; ``from pkg import name`` at ``pkg`` (its ``__init__``)."""
    mods = {_module_name(f) for f in ROOT.rglob("*.py")}
    g = {m: set() for m in mods}
    for _, mod, node in _import_nodes():
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        else:
            targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in mods
                       else node.module for a in node.names]
        g[mod] |= {t for t in targets if t in mods and t != mod}
    return g


def _cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out = {}, {}, set(), [], []
    for root in sorted(g):
        if root in index:
            continue
        work = [(root, iter(sorted(g[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(g[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycle():
    g = _graph()
    found = _cycles(g)
    assert not found, "import cycles (module -> what it imports inside the cycle):\n" + \
        "\n".join(f"{a} -> {sorted(g[a] & set(c))}" for c in found for a in c)


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    g = _graph()
    assert "gaincell.system.calibrated" in g["gaincell.system.estimator"]
    assert "gaincell.array._kernels" in g["gaincell.array._fast"]   # from pkg import module
