"""Imports run downward only (GUIDE.md, "Layers"): a package may import its own layer or lower ones."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# higher number = higher layer; claims, rules and audit are siblings and never import each other
LAYER = {"medcore": 0, "claims": 1, "rules": 1, "audit": 1, "serving": 2, "handlers": 3, "jobs": 4, "medcode": 5}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out & set(LAYER)


def test_no_upward_or_sideways_imports():
    bad = []
    for pkg, level in LAYER.items():
        for f in (ROOT / pkg).rglob("*.py"):
            for dep in imports(f):
                if dep == pkg:
                    continue
                if LAYER[dep] > level or (LAYER[dep] == level and level == 1):
                    bad.append(f"{f.relative_to(ROOT)} imports {dep}")
    assert not bad, bad


def test_nothing_imports_the_cli():
    users = [f for pkg in LAYER if pkg != "medcode" for f in (ROOT / pkg).rglob("*.py") if "medcode" in imports(f)]
    assert not users
