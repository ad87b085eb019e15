"""Benchmark `perfxl batch --pdf` (one LibreOffice kept alive per worker) against a loop that
starts one LibreOffice per file, in the same run; optionally `perfxl run --pdf` on one workbook.

    python benchmarks/bench_pdf.py [--n 60] [--jobs 2] [--compare 6] [--single 3 --before REF]

* kept alive: ``batch.run(pdf=True)`` — workbooks per second end to end (the broken workbooks
  of the generated set included, as in the batch's own count).
* the loop: ``batch.run(pdf=False)`` for the same workbooks, then each report converted by its
  own ``soffice --convert-to pdf`` with a fresh profile and the same fonts.conf (what perfxl did
  for every file before), ``--jobs`` of them at a time; the two times added.
* ``--compare K``: page count and ``pdftotext`` text of K reports, kept-alive vs loop: must be equal.
* ``--single R``: R rounds of ``perfxl run WB --pdf`` in a fresh process (the sample workbook),
  this tree with the user's profile template cache empty ("cold") and filled ("warm"); with
  ``--before REF`` also the perfxl of git revision REF (e.g. the commit before the converter).
  "cold" includes the one-time shutdown that keeps the profile as the template.

Targets (2 cores): kept-alive ≥ 3× the loop and ≥ 2.5 workbooks/s.  The machine may be shared:
the figures move with its load (printed).  Results also go to benchmarks/.cache/bench-pdf-result.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gen_workbooks import generate  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
TARGET_RATIO, TARGET_WPS = 3.0, 2.5


def one_soffice(docx: Path, outdir: Path, timeout: float = 300) -> Path:
    """What perfxl did for every PDF before: a LibreOffice started for this one file, with a
    fresh profile and the fonts mapping."""
    from perfxl.report.pdf import environment, find_soffice

    with tempfile.TemporaryDirectory(prefix="perfxl-bench-lo-") as tmp:
        work = Path(tmp)
        cmd = [find_soffice(), f"-env:UserInstallation={(work / 'profile').as_uri()}", "--headless", "--norestore",
               "--nologo", "--nodefault", "--nolockcheck", "--convert-to", "pdf", "--outdir", str(outdir), str(docx)]
        subprocess.run(cmd, env=environment(work), capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       check=False)
    return outdir / docx.with_suffix(".pdf").name


def pdf_facts(path: Path) -> tuple[int, str]:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return pages, text


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def single(rounds: int, before: str | None, work: Path) -> dict:
    """Seconds of `perfxl run SAMPLE --pdf` in a fresh process: this tree (cold/warm profile
    template cache) and, with ``before``, the perfxl of that git revision."""
    from perfxl.template import build_workbook

    sample = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
    wb = work / "单个.xlsx"
    wb.write_bytes(build_workbook(sample))
    trees = {"本版（配置缓存为空）": ROOT, "本版（配置缓存已有）": ROOT}
    if before:
        old = work / "before"
        old.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", before, "perfxl"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
        trees = {f"改动前（{before[:10]}）": old, **trees}
    cold_cache, warm_cache = work / "cache-cold", work / "cache-warm"
    times: dict[str, list[float]] = {k: [] for k in trees}
    for r in range(rounds):
        for label, tree in trees.items():
            shutil.rmtree(cold_cache, ignore_errors=True)
            env = {**os.environ, "PYTHONPATH": str(tree),
                   "XDG_CACHE_HOME": str(cold_cache if "为空" in label else warm_cache)}
            if "已有" in label and r == 0:  # fill the template cache once, untimed
                subprocess.run([sys.executable, "-m", "perfxl", "run", str(wb), "-o", str(work / "o"), "--pdf"],
                               env=env, capture_output=True, check=True)
            out = work / f"o-{r}-{len(times[label])}"
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "perfxl", "run", str(wb), "-o", str(out), "--pdf"], env=env,
                           capture_output=True, check=True)
            times[label].append(time.perf_counter() - t)
            assert any(out.glob("*.pdf")), f"{label}: no PDF"
    return {k: {"median_s": round(statistics.median(v), 2), "runs_s": [round(x, 2) for x in v]}
            for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--compare", type=int, default=6, help="reports whose PDFs are compared (pages, text)")
    ap.add_argument("--single", type=int, default=0, help="rounds of `perfxl run --pdf` on one workbook")
    ap.add_argument("--before", help="git revision whose perfxl is timed as 改动前 (with --single)")
    ap.add_argument("--skip-loop", action="store_true")
    ap.add_argument("--single-only", action="store_true", help="only the `perfxl run --pdf` rounds")
    args = ap.parse_args(argv)

    from perfxl import batch

    src = CACHE / f"workbooks-{args.n}"
    files = generate(args.n, src)
    print(f"输入：{len(files)} 个工作簿（{src}），{args.jobs} 个工作进程，负载 {load()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="perfxl-bench-pdf-"))
    res: dict = {"workbooks": len(files), "jobs": args.jobs, "cpus": os.cpu_count()}
    try:
        res["load_before"] = load()
        if not args.single_only:
            kept = batch.run(src, work / "kept", pdf=True, jobs=args.jobs, progress=False)
            pdfs = sorted((work / "kept").glob("*.pdf"))
            res["kept_alive"] = {"seconds": round(kept.elapsed, 2), "pdfs": len(pdfs),
                                 "workbooks_per_second": round(kept.total / kept.elapsed, 2),
                                 "pdf_ms_per_workbook": round(1000 * kept.timings.get("pdf", 0)
                                                              / max(1, kept.stage_counts.get("pdf", 1)))}
            print(f"保持 LibreOffice 运行：{kept.total} 个 {kept.elapsed:.1f} 秒 → {kept.total / kept.elapsed:.2f} 个/秒，"
                  f"PDF {len(pdfs)} 个（负载 {load()}）", flush=True)
            if not args.skip_loop:
                t = time.perf_counter()
                plain = batch.run(src, work / "loop", pdf=False, jobs=args.jobs, progress=False)
                t_batch = time.perf_counter() - t
                docs = sorted((work / "loop").glob("*.docx"))
                t = time.perf_counter()
                with ThreadPoolExecutor(args.jobs) as pool:
                    loop_pdfs = list(pool.map(lambda d: one_soffice(d, work / "loop"), docs))
                t_loop = time.perf_counter() - t
                total = t_batch + t_loop
                ratio = total / kept.elapsed
                res["loop"] = {"seconds": round(total, 2), "batch_without_pdf_s": round(t_batch, 2),
                               "soffice_per_file_s": round(t_loop, 2), "pdfs": sum(p.exists() for p in loop_pdfs),
                               "workbooks_per_second": round(plain.total / total, 2)}
                res["speedup"] = round(ratio, 2)
                print(f"每个文件启动一次 LibreOffice：{plain.total} 个 {total:.1f} 秒（不含 PDF 的批量 {t_batch:.1f} 秒 + "
                      f"{len(docs)} 次 soffice {t_loop:.1f} 秒）→ {plain.total / total:.2f} 个/秒（负载 {load()}）")
                wps = kept.total / kept.elapsed
                print(f"快 {ratio:.1f} 倍（目标 ≥ {TARGET_RATIO:g}）{'✓' if ratio >= TARGET_RATIO else '✗'}；"
                      f"{wps:.2f} 个/秒（目标 ≥ {TARGET_WPS:g}）{'✓' if wps >= TARGET_WPS else '✗'}")
                same = 0
                for p in pdfs[: args.compare]:
                    other = work / "loop" / p.name
                    if other.exists() and pdf_facts(p) == pdf_facts(other):
                        same += 1
                res["compared_equal"] = f"{same}/{min(args.compare, len(pdfs))}"
                print(f"页数与文字（pdftotext）一致：{res['compared_equal']}")
        if args.single:
            res["single"] = single(args.single, args.before, work)
            for k, v in res["single"].items():
                print(f"perfxl run --pdf（单个工作簿）{k}：中位数 {v['median_s']} 秒 {v['runs_s']}")
        res["load_after"] = load()
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "bench-pdf-result.json").write_text(json.dumps(res, ensure_ascii=False, indent=1), "utf-8")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
