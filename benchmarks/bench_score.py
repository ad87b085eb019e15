"""Scoring speed: the process time of `perfxl score SAMPLE -o OUT` (cold start, what a clerk
waits for), and scoring + write-back per workbook in a warm process (median over --n), with
its parts: read (calamine + package XML), score (Python evaluator), edits (formula rendering),
patch (perfxl.xlsx).

    python benchmarks/bench_score.py [--n 50] [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def _ms(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50, help="warm repetitions")
    ap.add_argument("--runs", type=int, default=5, help="process runs")
    args = ap.parse_args()
    from perfxl import api, pipeline, reader, rulepack, scoring, writeback
    from perfxl.edits import apply_edits_bytes

    with tempfile.TemporaryDirectory(prefix="perfxl-bench-") as tmp:
        sample = SAMPLE
        if not sample.exists():  # not committed yet: build it
            import json

            from perfxl import template

            sample = Path(tmp) / SAMPLE.name
            sample.write_bytes(template.build_workbook(json.loads((ROOT / "samples" / "lechang-2023.json")
                                                                  .read_text("utf-8"))))
        out = Path(tmp) / "out.xlsx"
        procs = []
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "perfxl", "score", str(sample), "-o", str(out)], check=True,
                           capture_output=True, cwd=ROOT)
            procs.append(time.perf_counter() - t)

        pack = rulepack.load()
        data = sample.read_bytes()
        pipeline.score_workbook_bytes(data, pack)  # warm imports and caches
        total, parts = [], {"read": [], "score": [], "edits": [], "patch": []}
        for _ in range(args.n):
            t0 = time.perf_counter()
            model = reader.read("x.xlsx", data=data)
            t1 = time.perf_counter()
            scores = scoring.score(model, pack)
            t2 = time.perf_counter()
            edits = writeback.score_edits(model, pack, scores)
            t3 = time.perf_counter()
            apply_edits_bytes(data, edits)
            t4 = time.perf_counter()
            total.append(t4 - t0)
            for k, a, b in (("read", t0, t1), ("score", t1, t2), ("edits", t2, t3), ("patch", t3, t4)):
                parts[k].append(b - a)
        files = []
        for _ in range(max(5, args.n // 5)):
            t = time.perf_counter()
            api.score_file(sample, out, pack=pack)
            files.append(time.perf_counter() - t)

    print(f"`perfxl score SAMPLE -o OUT` process, median of {args.runs}: {_ms(procs)}")
    print(f"score + write-back per workbook (bytes → bytes, warm), median of {args.n}: {_ms(total)}")
    print("  of which " + ", ".join(f"{k} {_ms(v)}" for k, v in parts.items()))
    print(f"score_file (file → file, atomic write, warm), median of {len(files)}: {_ms(files)}")
    print(f"edits per workbook: {len(edits)}")


if __name__ == "__main__":
    main()
