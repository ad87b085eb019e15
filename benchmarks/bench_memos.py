"""What each process-global memo saves: CPU per workbook with it, and with it turned off.

    python benchmarks/bench_memos.py [--n 60] [--repeat 3]

Runs ``pipeline.process`` (check, score, marks, report with charts: the batch's work) over
--n generated workbooks in one warm process, per memo alternately with every memo and with that
memo disabled (best of --repeat each) (an lru_cache'd function replaced by the function it wraps, a
dict memo by one that never stores).  The figures are quoted beside each memo in the code.
CPU time (time.process_time), so other processes on the machine matter less than wall time.
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

# (module, attribute): an lru_cache'd function or a dict used as a memo
MEMOS = [
    ("perfxl.reader", "_parse_rels"), ("perfxl.reader", "_parse_table"), ("perfxl.reader", "_cell_index"),
    ("perfxl.reader", "_locate"),
    ("perfxl.formulas", "_RENDERED"), ("perfxl.formulas", "_BY_INDICATOR"), ("perfxl.formulas", "bonus_expr"),
    ("perfxl.formulas", "_base_expr"), ("perfxl.formulas", "total_expr"), ("perfxl.formulas", "grade_expr"),
    ("perfxl.writeback", "_PARAM_ROWS"), ("perfxl.validate", "_SKIP"), ("perfxl.report.numfmt", "_QUANTUM"),
    ("perfxl.report.render", "_inline_xml"), ("perfxl.report.charts", "_glyphs"), ("perfxl.report.charts", "_width"),
    ("perfxl.report.charts", "_font"),
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


def _cpu_per_workbook(items, pack, repeat: int) -> float:
    from perfxl.pipeline import process

    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for data, name in items:
            process(data, name, pack, explicit=True, score=True, mark=True, report=True, charts=True)
        best = min(best, (time.process_time() - t) / len(items))
    return best * 1000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from perfxl.rulepack import load

    pack = load()
    files = generate(args.n, ROOT / "benchmarks" / ".cache" / f"workbooks-{args.n}")
    items = [(p.read_bytes(), p.name) for p in files]
    _cpu_per_workbook(items, pack, 1)  # warm
    print("memo turned off: CPU per workbook with it on / off (paired runs, best of --repeat each)")
    for module, attr in MEMOS:
        on = off = float("inf")
        for _ in range(args.repeat):  # on and off alternate: drift on a loaded machine hits both
            on = min(on, _cpu_per_workbook(items, pack, 1))
            restore = _disable(module, attr)
            try:
                off = min(off, _cpu_per_workbook(items, pack, 1))
            finally:
                restore()
        print(f"{module}.{attr}: {on:.2f} / {off:.2f} ms ({off - on:+.2f} ms, {100 * (off - on) / on:+.1f}%)",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
