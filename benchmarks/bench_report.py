"""Report speed: warm medians of the report's stages on the sample, and the whole
`python -m perfxl report SAMPLE -o OUT.docx` command (cold process, what a clerk waits for).

    python benchmarks/bench_report.py [--n 50] [--pdf]

Stages (warm, median of --n, wall and CPU time of this process): context (model + scores →
formatted text), docx (render into the default template and zip), each chart, the whole
``report_bytes`` without and with charts; then the first report of a fresh process (template
preparation, font lookup), the CLI command (median of 3 processes; wall, and user+sys CPU of
the child) and, with --pdf, one LibreOffice conversion.  CPU time is the steadier figure on a
shared machine.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def _median(fn, n: int) -> tuple[float, float, float]:
    wall, cpu = [], []
    for _ in range(n):
        t, c = time.perf_counter(), time.process_time()
        fn()
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - t)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def _line(label: str, med: float, best: float, cpu: float) -> None:
    print(f"{label:<34} median {med * 1000:7.1f} ms   best {best * 1000:7.1f} ms   cpu {cpu * 1000:7.1f} ms")


FIRST = """
import sys, time
t = time.perf_counter(); c = time.process_time()
from perfxl import reader, rulepack, scoring
from perfxl.report import report_bytes
p = rulepack.load(); m = reader.read(sys.argv[1]); s = scoring.score(m, p)
t1 = time.perf_counter(); c1 = time.process_time()
report_bytes(m, s, pack=p, charts=True)
t2 = time.perf_counter(); c2 = time.process_time()
report_bytes(m, s, pack=p, charts=True)
t3 = time.perf_counter()
print(f"{(t2 - t1) * 1000:.1f} {(c2 - c1) * 1000:.1f} {(t3 - t2) * 1000:.1f} {(t1 - t) * 1000:.1f}")
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50)
    ap.add_argument("--pdf", action="store_true", help="also time one PDF conversion (LibreOffice)")
    args = ap.parse_args()

    from perfxl import reader, rulepack, scoring
    from perfxl.report import charts, context, render, report_bytes

    pack = rulepack.load()
    model = reader.read(SAMPLE)
    scores = scoring.score(model, pack)

    # a fresh process: what the first report costs (imports excluded: they are printed apart)
    first = subprocess.run([sys.executable, "-c", FIRST, str(SAMPLE)], check=True, capture_output=True,
                           text=True, cwd=ROOT).stdout.split()
    report_bytes(model, scores, pack=pack, charts=True)  # warm imports and caches

    print(f"sample: {SAMPLE.name}, warm, n={args.n}")
    _line("context.build", *_median(lambda: context.build(model, scores, pack), args.n))
    ctx = context.build(model, scores, pack)
    _line("render docx (default template)", *_median(lambda: render.render_bytes(ctx), args.n))
    _line("report_bytes (no charts)", *_median(lambda: report_bytes(model, scores, pack=pack, charts=False), args.n))

    t = time.perf_counter()
    font = charts.cjk_font()
    print(f"{'charts: CJK font lookup (once)':<34} {(time.perf_counter() - t) * 1000:7.1f} ms  "
          f"({font}: {getattr(charts, 'cjk_font_file', lambda: 'matplotlib')()})")
    if font:
        data = context.chart_data(model, scores, pack)
        _line("chart: scores", *_median(lambda: charts.score_chart(data["groups"]), args.n))
        _line("chart: expenditure", *_median(lambda: charts.expense_chart(data["expense"]), args.n))
        _line("report_bytes (with charts)",
              *_median(lambda: report_bytes(model, scores, pack=pack, charts=True), args.n))
    print(f"{'first report of a process':<34} wall {float(first[0]):7.1f} ms   cpu {float(first[1]):7.1f} ms"
          f"   (second: {float(first[2]):.1f} ms; imports + read + score before it: {float(first[3]):.0f} ms)")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.docx"
        cmd = [sys.executable, "-m", "perfxl", "report", str(SAMPLE), "-o", str(out)]
        if importlib.util.find_spec("perfxl.cli") is None:  # before the CLI exists: call the function
            cmd = [sys.executable, "-c",
                   "import sys; from perfxl import reader, rulepack, scoring; from perfxl.report import render_report;"
                   "p = rulepack.load(); m = reader.read(sys.argv[1]);"
                   "render_report(m, scoring.score(m, p), sys.argv[2], pack=p)", str(SAMPLE), str(out)]
        procs, cpus = [], []
        for _ in range(3):
            before = os.times()
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            procs.append(time.perf_counter() - t)
            after = os.times()
            cpus.append(after.children_user - before.children_user + after.children_system - before.children_system)
        print(f"{'command: ' + ' '.join(cmd[1:4]) + ' …':<34} median {statistics.median(procs) * 1000:7.1f} ms "
              f"  cpu {statistics.median(cpus) * 1000:7.1f} ms  (3 processes, cold)")
        if args.pdf:
            from perfxl.report import pdf

            t = time.perf_counter()
            pdf.docx_to_pdf_bytes(out.read_bytes())
            print(f"{'PDF (LibreOffice, fresh profile)':<34} {(time.perf_counter() - t) * 1000:7.1f} ms  (once)")


if __name__ == "__main__":
    main()
