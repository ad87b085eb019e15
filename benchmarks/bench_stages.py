"""CPU time of each stage of one workbook's processing, on generated workbooks, in one process.

    python benchmarks/bench_stages.py [--n 60] [--repeat 5] [--only STAGE,...]

Runs every stage of ``pipeline.process_bytes`` separately (read, score, validate, write-back
edits, write-back apply, report context, charts, report render) over the same ``--n``
generated workbooks (benchmarks/.cache/workbooks-1000, the batch benchmark's set), ``--repeat``
times, and prints for each stage the smallest total CPU time (``time.process_time``) divided by
the number of workbooks.  CPU time and the minimum over repeats make the figures comparable
between runs on a busy machine, which wall-clock figures are not.  The batch benchmark
(bench_batch.py) gives the end-to-end rate.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def stages(pack):
    """(name, function of the previous stages' results) in pipeline order."""
    from perfxl import marks, pipeline, scoring, validate, writeback
    from perfxl.report import context, render
    from perfxl.report import charts as ch
    from perfxl.edits import apply_edits_bytes

    def read(s):
        s["model"] = pipeline.load(s["name"], s["data"])

    def score(s):
        s["used"] = pipeline.effective_pack(s["model"], pack, True)
        s["scores"] = scoring.score(s["model"], s["used"])

    def check(s):
        s["findings"] = list(validate.check(s["model"], pack, s["scores"]))

    def edits(s):
        s["edits"] = (writeback.score_edits(s["model"], s["used"], s["scores"])
                      + marks.mark_edits(s["model"], s["findings"]))

    def apply(s):
        s["workbook"] = apply_edits_bytes(s["data"], s["edits"])

    def ctx(s):
        s["ctx"] = context.build(s["model"], s["scores"], s["used"], s["findings"])

    def charts(s):
        s["images"] = ch.render_all(context.chart_data(s["model"], s["scores"], s["used"]))

    def docx(s):
        s["report"] = render.render_bytes(s["ctx"], None, s["images"])

    return [("read", read), ("score", score), ("check", check), ("edits", edits), ("apply", apply),
            ("context", ctx), ("charts", charts), ("docx", docx)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args(argv)

    from gen_workbooks import generate

    from perfxl.errors import PerfxlError
    from perfxl.rulepack import load

    pack = load()
    files = generate(1000, ROOT / "benchmarks" / ".cache" / "workbooks-1000")
    states = []
    for f in files:
        if len(states) >= args.n:
            break
        s = {"name": f.name, "data": f.read_bytes()}
        try:
            stages(pack)[0][1](s)
        except PerfxlError:
            continue  # unreadable on purpose: not part of a stage's cost
        states.append(s)
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        for name, fn in stages(pack):
            t = time.process_time()
            for s in states:
                fn(s)
            best[name] = min(best.get(name, float("inf")), time.process_time() - t)
    n = len(states)
    width = max(map(len, best))
    for name, secs in best.items():
        print(f"{name:<{width}}  {secs / n * 1000:6.2f} ms")
    print(f"{'total':<{width}}  {sum(best.values()) / n * 1000:6.2f} ms  (CPU per workbook, best of "
          f"{args.repeat}, {n} workbooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
