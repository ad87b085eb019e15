"""What each process-global memo saves: the CPU its function spends with the memo off.

    python benchmarks/bench_memos.py [--n 40]

Runs ``pipeline.process`` (check, score, marks, report with charts: the batch's work) over --n
generated workbooks in one warm process, once per memo with that memo disabled (an lru_cache'd
function replaced by the function it wraps, a dict memo by one that never stores), and times
the CPU spent inside the memoised function (time.process_time around each call): the time the
memo saves, per workbook, next to the whole workbook's CPU.  Timing only the function makes the
figure robust on a loaded machine, where end-to-end differences of a few per cent are noise.
The figures are quoted beside each memo in the code; memos that saved < 0.1 ms were removed
(formulas.total_expr 0.088, formulas.grade_expr 0.097, validate._SKIP 0.054 ms).
"""
from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_workbooks import generate  # noqa: E402

# (module, memo attribute, the function to time when it is off: None = the memo's own function)
MEMOS = [
    ("perfxl.reader", "_parse_rels", None), ("perfxl.reader", "_parse_table", None),
    ("perfxl.reader", "_cell_index", None), ("perfxl.reader", "_locate", None),
    ("perfxl.formulas", "_RENDERED", "rendered"), ("perfxl.formulas", "_BY_INDICATOR", "_per_indicator"),
    ("perfxl.formulas", "bonus_expr", None), ("perfxl.formulas", "_base_expr", None),
    ("perfxl.writeback", "_PARAM_ROWS", "_param_rows"),
    ("perfxl.report.numfmt", "_QUANTUM", "_dec"), ("perfxl.report.render", "_inline_xml", None),
    ("perfxl.report.charts", "_glyphs", None), ("perfxl.report.charts", "_width", None),
    ("perfxl.report.charts", "_font", None),
]


class _NoStore(dict):
    def __setitem__(self, key, value):
        pass


def _disable(module: str, attr: str):
    mod = importlib.import_module(module)
    old = getattr(mod, attr)
    if isinstance(old, dict):
        setattr(mod, attr, _NoStore())
    else:
        setattr(mod, attr, old.__wrapped__)
    return lambda: setattr(mod, attr, old)


def _timed(module: str, name: str, spent: list[float]):
    """Wrap ``module.name`` so that its CPU time adds up in ``spent[0]`` and its calls in
    ``spent[1]``; returns the restorer."""
    mod = importlib.import_module(module)
    fn = getattr(mod, name)

    def timed(*a, **k):
        t = time.process_time()
        try:
            return fn(*a, **k)
        finally:
            spent[0] += time.process_time() - t
            spent[1] += 1

    setattr(mod, name, timed)
    return lambda: setattr(mod, name, fn)


def _run(items, pack) -> float:
    from perfxl.pipeline import process

    t = time.process_time()
    for data, name in items:
        process(data, name, pack, explicit=True, score=True, mark=True, report=True, charts=True)
    return (time.process_time() - t) / len(items) * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    args = ap.parse_args(argv)
    from perfxl.rulepack import load

    pack = load()
    files = generate(args.n, ROOT / "benchmarks" / ".cache" / f"workbooks-{args.n}")
    items = [(p.read_bytes(), p.name) for p in files]
    _run(items, pack)  # warm
    whole = _run(items, pack)
    # what the timing wrapper itself costs a call (subtracted: memoised functions are called often)
    probe, n = [0.0, 0], 200_000
    sys.modules[__name__].__dict__["_noop"] = lambda: None
    restore_probe = _timed(__name__, "_noop", probe)
    t = time.process_time()
    for _ in range(n):
        globals()["_noop"]()
    overhead = (time.process_time() - t) / n
    restore_probe()
    print(f"whole workbook (all memos on): {whole:.2f} ms CPU; per memo, CPU inside its function with it off:")
    for module, attr, target in MEMOS:
        restore = _disable(module, attr)
        spent = [0.0, 0]
        untime = _timed(module, target or attr, spent)
        try:
            _run(items, pack)
        finally:
            untime()
            restore()
        ms = max(0.0, spent[0] - spent[1] * overhead) / len(items) * 1000
        print(f"{module}.{attr}: {ms:.3f} ms per workbook ({100 * ms / whole:.1f}% of the workbook; "
              f"{spent[1] / len(items):.0f} calls)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
