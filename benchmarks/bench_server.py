"""Benchmark `perfxl serve`: POST /api/check on the sample with 2 pipeline workers.

    python benchmarks/bench_server.py [--n 200] [--clients 4] [--workers 2] [--db URL]

Starts the real server (uvicorn on a free port, a fresh data folder), warms it, then reports:
* throughput: requests/s with ``--clients`` concurrent clients sending ``--n`` requests;
* the latency a clerk sees: p50/p95/max of the same requests, and of ``--n // 4`` requests from
  one client alone (an idle server).
Results are also written to benchmarks/.cache/bench-server.json.  Figures are noisy on a shared
machine: run it when the machine is otherwise idle.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
sys.path.insert(0, str(ROOT / "tests"))


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]


def run(client: httpx.Client, data: bytes) -> float:
    t0 = time.perf_counter()
    r = client.post("/api/check", files={"file": (SAMPLE.name, data)})
    dt = time.perf_counter() - t0
    if r.status_code != 200 or abs(r.json()["total"] - 98.31) > 1e-6:
        raise SystemExit(f"unexpected answer {r.status_code}: {r.text[:200]}")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", help="database URL (default: SQLite in a temp folder)")
    args = ap.parse_args()
    os.environ["PERFXL_WORKERS"] = str(args.workers)
    from serverkit import Server

    data = SAMPLE.read_bytes()
    with tempfile.TemporaryDirectory(prefix="perfxl-bench-") as tmp:
        srv = Server(Path(tmp) / "data", args.db, {"PERFXL_WORKERS": str(args.workers)})
        token = srv.user("bench", "reviewer")
        srv.start()
        try:
            with srv.client(token) as c:
                for _ in range(2 * args.workers):  # warm every worker
                    run(c, data)
                solo = [run(c, data) for _ in range(max(5, args.n // 4))]

            def worker(k: int) -> list[float]:
                with srv.client(token) as c:
                    return [run(c, data) for _ in range(k)]

            per = [args.n // args.clients + (1 if i < args.n % args.clients else 0) for i in range(args.clients)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                lat = [x for xs in pool.map(worker, per) for x in xs]
            wall = time.perf_counter() - t0
        finally:
            srv.stop()
    ms = lambda x: round(1000 * x, 1)  # noqa: E731
    result = {
        "workers": args.workers, "clients": args.clients, "requests": len(lat),
        "requests_per_s": round(len(lat) / wall, 1),
        "loaded_ms": {"p50": ms(pct(lat, 50)), "p95": ms(pct(lat, 95)), "max": ms(max(lat))},
        "idle_ms": {"p50": ms(pct(solo, 50)), "p95": ms(pct(solo, 95)), "mean": ms(statistics.mean(solo))},
        "cpus": os.cpu_count(),
    }
    out = ROOT / "benchmarks" / ".cache" / "bench-server.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=1), "utf-8")
    print(f"POST /api/check, sample workbook, {args.workers} workers, {args.clients} clients: "
          f"{result['requests_per_s']} requests/s over {len(lat)} requests")
    print(f"  latency under load: p50 {result['loaded_ms']['p50']} ms, p95 {result['loaded_ms']['p95']} ms, "
          f"max {result['loaded_ms']['max']} ms")
    print(f"  one clerk alone:    p50 {result['idle_ms']['p50']} ms, p95 {result['idle_ms']['p95']} ms")


if __name__ == "__main__":
    main()
