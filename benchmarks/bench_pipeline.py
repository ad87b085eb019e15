"""Per-stage cost of ``pipeline.process_bytes(..., report=False, mark=True)`` in a warm process.

Prints the median (of --n runs) of each stage in ``Processed.timings`` (read, check_score,
writeback), the sum of those medians, and the median wall and CPU time of the whole call, for
the committed sample (which has cached values) and for the same workbook re-saved by openpyxl
(no cached values: what a clerk's first save may look like).  On a shared machine pin it to one
core (``taskset -c 1 python benchmarks/bench_pipeline.py``) and run it more than once.

    python benchmarks/bench_pipeline.py [--n 50] [--profile]
"""
from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def _no_cache(data: bytes) -> bytes:
    """The workbook re-saved by openpyxl: formulas kept, cached values dropped."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _run(label: str, data: bytes, n: int, profile: bool) -> None:
    from perfxl import pipeline, rulepack

    pack = rulepack.load()
    for _ in range(3):  # warm imports and caches
        p = pipeline.process_bytes(data, "x.xlsx", pack, report=False, mark=True)
    assert p.error is None, p.error
    stages: dict[str, list[float]] = {}
    total, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        p = pipeline.process_bytes(data, "x.xlsx", pack, report=False, mark=True)
        total.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        for k, v in p.timings.items():
            stages.setdefault(k, []).append(v)
    parts = ", ".join(f"{k} {statistics.median(v) * 1000:.2f} ms" for k, v in stages.items())
    stage_sum = sum(statistics.median(v) for v in stages.values()) * 1000
    print(f"{label}: {parts} (sum {stage_sum:.2f} ms); whole call {statistics.median(total) * 1000:.2f} ms wall, "
          f"{statistics.median(cpu) * 1000:.2f} ms CPU (medians of {n})")
    if profile:
        import cProfile
        import pstats

        pr = cProfile.Profile()
        pr.enable()
        for _ in range(20):
            pipeline.process_bytes(data, "x.xlsx", pack, report=False, mark=True)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of 20 runs each")
    args = ap.parse_args()
    data = SAMPLE.read_bytes()
    _run("sample (cached values)", data, args.n, args.profile)
    _run("re-saved by openpyxl (no cached values)", _no_cache(data), args.n, args.profile)


if __name__ == "__main__":
    main()
