"""docs/ARCHITECTURE.md stays true: every module of the package is named in it (the list comes
from the source tree, so a module added later fails this test until it is documented), every
module it names exists, and it does not name functions that are gone."""
from __future__ import annotations

import re

from conftest import ROOT

DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text("utf-8")
PACKAGE = ROOT / "perfxl"


def _modules() -> list[str]:
    """Every module file of the package, relative to perfxl/ (``pipeline.py``, ``report/render.py``)."""
    return sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                  if p.name not in ("__init__.py", "__main__.py") and "addins" not in p.parts)


def test_every_module_is_documented():
    missing = []
    for rel in _modules():
        stem = rel.rsplit("/", 1)[-1][:-3]
        if "/" not in rel:  # a top-level module: named with its file name
            ok = f"`{rel}`" in DOC or re.search(rf"`{re.escape(rel)}`|\b{re.escape(rel)}\b", DOC)
        else:  # in a subpackage: its file name or its name in the package's row / section
            ok = re.search(rf"`{re.escape(stem)}(\.py)?`", DOC) or f"{rel.split('/')[0]}/{stem}" in DOC
        if not ok:
            missing.append(rel)
    assert not missing, f"docs/ARCHITECTURE.md does not describe: {missing}"


def test_every_documented_module_exists():
    named = set(re.findall(r"`([a-z_]+\.py)`", DOC))
    files = {rel.rsplit("/", 1)[-1] for rel in _modules()}
    assert named <= files, f"docs/ARCHITECTURE.md names modules that do not exist: {sorted(named - files)}"


def test_the_dotted_names_it_uses_exist():
    """``module.function`` in the text resolves (it once named ``report.render(...)``, which was
    not a function)."""
    import importlib

    wrong = []
    for mod, attr in set(re.findall(r"\b(pipeline|api|batch|app|reader|validate|scoring|writeback|marks|edits"
                                    r"|report|runone|fileio|findings|problems)\.([a-z_]+)\b", DOC)):
        module = importlib.import_module(f"perfxl.{mod}")
        if attr != "py" and not hasattr(module, attr):
            try:
                importlib.import_module(f"perfxl.{mod}.{attr}")
            except ImportError:
                wrong.append(f"{mod}.{attr}")
    assert not wrong, wrong
