"""Reading speed: median time to read the sample into the model (warm, many reads), and the
process time of `perfxl export` on it (cold start, what a clerk or a script waits for).

    python benchmarks/bench_read.py [--n 200]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    from perfxl import reader

    reader.read(SAMPLE)  # warm imports
    times = []
    for _ in range(args.n):
        t = time.perf_counter()
        reader.read(SAMPLE)
        times.append(time.perf_counter() - t)
    data = SAMPLE.read_bytes()
    btimes = []
    for _ in range(args.n):
        t = time.perf_counter()
        reader.read("x.xlsx", data=data)
        btimes.append(time.perf_counter() - t)
    procs = []
    for _ in range(5):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "perfxl", "export", str(SAMPLE)], check=True,
                       capture_output=True, cwd=ROOT)
        procs.append(time.perf_counter() - t)
    print(f"read sample (file), median of {args.n}: {statistics.median(times) * 1000:.2f} ms")
    print(f"read sample (bytes), median of {args.n}: {statistics.median(btimes) * 1000:.2f} ms")
    print(f"`perfxl export` process, median of 5: {statistics.median(procs) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
