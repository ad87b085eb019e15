"""The OOXML layer (perfxl/xlsx/) knows SpreadsheetML and nothing of perfxl's domain."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import perfxl

PKG = Path(perfxl.__file__).parent
# What the layer may use from the rest of perfxl: A1 arithmetic, the exception base, file I/O
# (and the Chinese OSError texts file I/O uses).
ALLOWED = {"perfxl.cellref", "perfxl.errors", "perfxl.fileio", "perfxl.oserrors"}


def _imports(path: Path) -> set[str]:
    """Absolute names of the perfxl modules a module of perfxl/xlsx imports (any depth, any place)."""
    here = "perfxl.xlsx"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.rsplit(".", node.level - 1)[0] if node.level > 1 else here
                mod = f"{base}.{node.module}" if node.module else base
                names = [f"{mod}.{a.name}" for a in node.names] if not node.module else [mod]
                out |= set(names)
            else:
                out.add(node.module or "")
    return {m for m in out if m == "perfxl" or m.startswith("perfxl.")}


def test_the_xlsx_layer_imports_nothing_of_the_domain():
    files = sorted((PKG / "xlsx").glob("*.py"))
    assert len(files) >= 8
    bad = {}
    for f in files:
        outside = {m for m in _imports(f) if not m.startswith("perfxl.xlsx")} - ALLOWED
        if outside:
            bad[f.name] = sorted(outside)
    assert not bad, bad


def test_importing_the_layer_loads_no_domain_module():
    """At run time too: importing perfxl.xlsx loads no perfxl module beyond what ``import perfxl``
    itself loads and the allowed helpers."""
    code = ("import sys, perfxl; before = set(sys.modules); import perfxl.xlsx; "
            "print('\\n'.join(sorted(m for m in set(sys.modules) - before if m.startswith('perfxl'))))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    outside = {m for m in got if not m.startswith("perfxl.xlsx")} - ALLOWED
    assert not outside, outside
    assert "perfxl.xlsx.patcher" in got  # the probe saw the layer load


def test_no_module_of_the_layer_is_long():
    long = {f.name: n for f in (PKG / "xlsx").glob("*.py") if (n := len(f.read_text(encoding="utf-8").splitlines())) > 500}
    assert not long, long


def test_the_domain_uses_no_private_name_of_the_layer():
    """excel.py (and every other module above the layer) imports only public names from it."""
    bad = []
    for f in PKG.rglob("*.py"):
        if (PKG / "xlsx") in f.parents:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and "xlsx" in (node.module or "").split("."):
                bad += [f"{f.name}: {a.name}" for a in node.names if a.name.startswith("_")]
    assert not bad, bad
