"""How long a click on the 绩效自评 tab costs on the Python side (issue #7; target under 1 s).

1. ``import perfxl.excel`` in a fresh interpreter (``python -X importtime``), median of runs.
   For context, ``import xlwings`` too: RunPython imports it before our code runs, whatever
   perfxl does, so it is part of every click but not ours to shorten.
2. ``perfxl.app.run_action("all", FileSource(sample), …)`` on the bundled sample workbook
   (read, check, score, edits, Word report), first call and best warm call.  Skipped, with a
   message, while ``samples/乐昌市民政局-2023.xlsx`` is not in the tree.

Run: ``python benchmarks/bench_excel.py [--runs N]``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
TARGET_S = 1.0


def import_ms(module: str, runs: int) -> tuple[float, bool]:
    """Median ms of importing ``module`` (its top-level import lines summed), and whether it
    pulled in xlwings."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    totals, pulled = [], False
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"],
                              capture_output=True, text=True, env=env, check=True)
        total = 0
        for line in done.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cumulative, name = (part.strip() for part in line.split("|"))
            if not cumulative.isdigit():  # the header line
                continue
            top = line.split("|")[2]
            if not top.startswith("  ") and name.split(".")[0] == module.split(".")[0]:
                total += int(cumulative)
            pulled |= name.strip() == "xlwings"
        totals.append(total / 1000)
    return statistics.median(totals), pulled


def run_action_s(runs: int) -> tuple[float, float, str] | None:
    """(first call s, best warm call s, outcome message) of run_action('all') on the sample."""
    if not SAMPLE.exists():
        return None
    sys.path.insert(0, str(ROOT))
    from perfxl import app
    from perfxl.reader import FileSource

    times, message = [], ""
    with tempfile.TemporaryDirectory(prefix="perfxl-bench-") as tmp:
        book = Path(tmp) / SAMPLE.name
        shutil.copyfile(SAMPLE, book)
        for _ in range(runs):
            t0 = time.perf_counter()
            outcome = app.run_action("all", FileSource(book), str(book))
            times.append(time.perf_counter() - t0)
            message = outcome.message
    return times[0], min(times[1:] or times), message


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()

    ms, pulled = import_ms("perfxl.excel", args.runs)
    print(f"import perfxl.excel: {ms:.1f} ms (median of {args.runs} fresh interpreters)"
          + ("  — WARNING: it imports xlwings at module level" if pulled else ""))
    xw_ms, _ = import_ms("xlwings", args.runs)
    print(f"import xlwings (paid by RunPython on every click, not ours): {xw_ms:.1f} ms")

    try:
        result = run_action_s(max(2, min(args.runs, 5)))
    except ImportError as e:  # the pipeline is being written module by module
        print(f"run_action('all'): skipped — perfxl is not complete yet ({e})")
        return 0
    if result is None:
        print(f"run_action('all'): skipped — {SAMPLE.relative_to(ROOT)} is not in the tree yet")
        return 0
    first, warm, message = result
    verdict = "OK" if first + ms / 1000 < TARGET_S else f"over the {TARGET_S:.0f} s target"
    print(f"run_action('all') on the sample: first {first * 1000:.0f} ms, warm {warm * 1000:.0f} ms ({verdict})")
    print("  " + message.replace("\n", "\n  "))
    return 0


if __name__ == "__main__":
    sys.exit(main())
