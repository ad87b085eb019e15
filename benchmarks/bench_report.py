"""Report speed: warm medians of the report's stages on the sample, and the whole
`python -m perfxl report SAMPLE -o OUT.docx` command (cold process, what a clerk waits for).

    python benchmarks/bench_report.py [--n 20] [--pdf]

Stages (warm, median of --n): context (model + scores → formatted text), docx (render into the
default template and zip), charts (each matplotlib chart), report with charts; then the CLI
command (median of 3 processes) and, with --pdf, one LibreOffice conversion.
"""
from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"


def _median(fn, n: int) -> tuple[float, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def _line(label: str, med: float, best: float) -> None:
    print(f"{label:<34} median {med * 1000:8.1f} ms   best {best * 1000:8.1f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--pdf", action="store_true", help="also time one PDF conversion (LibreOffice)")
    args = ap.parse_args()

    from perfxl import reader, rulepack, scoring
    from perfxl.report import charts, context, render, report_bytes

    pack = rulepack.load()
    model = reader.read(SAMPLE)
    scores = scoring.score(model, pack)
    report_bytes(model, scores, pack=pack)  # warm imports and caches

    print(f"sample: {SAMPLE.name}, warm, n={args.n}")
    _line("context.build", *_median(lambda: context.build(model, scores, pack), args.n))
    ctx = context.build(model, scores, pack)
    _line("render docx (default template)", *_median(lambda: render.render_bytes(ctx), args.n))
    _line("report_bytes (no charts)", *_median(lambda: report_bytes(model, scores, pack=pack), args.n))

    t = time.perf_counter()
    font = charts.cjk_font()
    print(f"{'charts: CJK font lookup (once)':<34} {(time.perf_counter() - t) * 1000:8.1f} ms  ({font})")
    if font:
        data = context.chart_data(model, scores, pack)
        _line("chart: scores", *_median(lambda: charts.score_chart(data["groups"]), args.n))
        _line("chart: expenditure", *_median(lambda: charts.expense_chart(data["expense"]), args.n))
        _line("report_bytes (with charts)",
              *_median(lambda: report_bytes(model, scores, pack=pack, charts=True), args.n))

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.docx"
        cmd = [sys.executable, "-m", "perfxl", "report", str(SAMPLE), "-o", str(out)]
        if importlib.util.find_spec("perfxl.cli") is None:  # before the CLI exists: call the function
            cmd = [sys.executable, "-c",
                   "import sys; from perfxl import reader, rulepack, scoring; from perfxl.report import render_report;"
                   "p = rulepack.load(); m = reader.read(sys.argv[1]);"
                   "render_report(m, scoring.score(m, p), sys.argv[2], pack=p)", str(SAMPLE), str(out)]
        procs = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=ROOT)
            procs.append(time.perf_counter() - t)
        print(f"{'command: ' + ' '.join(cmd[1:4]) + ' …':<34} median {statistics.median(procs) * 1000:8.1f} ms "
              f"  (3 processes, cold)")
        if args.pdf:
            from perfxl.report import pdf

            t = time.perf_counter()
            pdf.docx_to_pdf_bytes(out.read_bytes())
            print(f"{'PDF (LibreOffice, fresh profile)':<34} {(time.perf_counter() - t) * 1000:8.1f} ms  (once)")


if __name__ == "__main__":
    main()
