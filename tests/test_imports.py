"""Imports point down the layers only (docs/design.md): params -> device -> array -> system;
spice beside them reads params, device and (for the tile check) array; nn reads params,
device and array; explore and the commands sit on top. No layer imports the package's
``__init__``. Every ``import`` of every module counts, function-level ones included."""

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


def _edges():
    for f in sorted(ROOT.rglob("*.py")):
        rel = f.relative_to(ROOT.parent).with_suffix("")
        mod = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for n in names:
                if n == "gaincell" or n.startswith("gaincell."):
                    yield f.relative_to(ROOT.parent), mod, n


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
