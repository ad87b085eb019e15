"""Generate N varied standard workbooks for batch tests and benchmarks.

    python benchmarks/gen_workbooks.py N OUTDIR [--seed S] [--jobs J]

Each workbook is the bundled sample (samples/lechang-2023.json) varied through its data dict:
department name and year, money scaled, spending progress, 1–30 units, 0–20 awards, 1–10 key
tasks, 3–20 targets, random manual scores (some without 评价说明), some planted errors (a
negative amount, text in a money cell, 已下达 > 指标数, an empty required field, a staff count
that disagrees with the table) — and a few broken files: a truncated zip, a CSV renamed to
.xlsx, an empty file.  Built with ``template.build_workbook`` in a process pool.

Generation is deterministic in (N, seed) and cached: OUTDIR keeps a ``.perfxl-gen.json``
marker, and a second call with the same parameters (and the same generator, template and
sample) returns at once.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import hashlib
import json
import os
import random
import shutil
import sys
import time
from multiprocessing import Pool
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "samples" / "lechang-2023.json"
MARKER = ".perfxl-gen.json"

PLACES = ("乐昌市", "仁化县", "始兴县", "南雄市", "翁源县", "新丰县", "乳源瑶族自治县", "曲江区", "武江区",
          "浈江区", "连州市", "英德市", "阳山县", "佛冈县", "连南瑶族自治县", "清新区", "封开县", "德庆县")
BUREAUS = ("民政局", "教育局", "财政局", "卫生健康局", "交通运输局", "农业农村局", "自然资源局", "水务局",
           "文化广电旅游体育局", "人力资源和社会保障局", "市场监督管理局", "住房和城乡建设管理局", "司法局",
           "应急管理局", "林业局", "统计局", "退役军人事务局", "生态环境分局")
SUBUNITS = ("服务中心", "事务中心", "管理站", "监测站", "培训中心", "档案馆", "保障中心", "执法大队", "研究所")
STAFF_TYPES = ("行政", "参公", "事业", "工勤", "其他")
AWARD_LEVELS = ("国家级", "省级", "市级", "县级")
ERRORS = ("negative", "text_money", "issued_over_quota", "required_empty", "staff_mismatch")


def _money(x: float) -> float:
    return round(x, 2)


def vary(base: dict, i: int, rng: random.Random) -> tuple[str, dict]:
    """File name and data dict of workbook ``i``."""
    d = copy.deepcopy(base)
    f, t = d["fields"], d["tables"]
    place, bureau = rng.choice(PLACES), rng.choice(BUREAUS)
    dept = place + bureau
    year = rng.choice((2022, 2023, 2023, 2024))
    f["dept_name"], f["fiscal_year"] = dept, year
    f["report_date"] = dt.date(year + 1, rng.randint(1, 6), rng.randint(1, 28)).isoformat()

    scale = rng.uniform(0.05, 5)
    for k, v in list(f.items()):
        if isinstance(v, float) or k.startswith(("income_", "exp_", "budget_", "quota_", "issued_", "proc_",
                                                 "sangong_", "public_", "asset_o", "asset_n", "stock_",
                                                 "carryover", "upper_", "special_", "payable_")):
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                f[k] = _money(v * scale)
    f["issued_basic"] = _money(f["quota_basic"] * rng.uniform(0.7, 1.0))
    f["issued_project"] = _money(f["quota_project"] * rng.uniform(0.4, 1.0))
    f["stock_curr"] = _money(f["stock_prev"] * rng.uniform(0.5, 2.5))
    f["carryover_balance"] = _money(f["upper_funds_total"] * rng.uniform(0.02, 0.4))
    f["sangong_actual"] = _money(f["sangong_budget"] * rng.uniform(0.7, 1.1))
    f["public_actual"] = _money(f["public_budget"] * rng.uniform(0.8, 1.05))
    f["projects_total"] = rng.randint(3, 40)
    f["projects_with_targets"] = rng.randint(max(1, f["projects_total"] - 3), f["projects_total"])

    units = []
    for u in range(rng.randint(1, 30)):
        quota = rng.randint(2, 40)
        units.append({"单位名称": dept if u < 2 else place + rng.choice(SUBUNITS) + f"（{u}）",
                      "层级": "本级" if u < 2 else "下属", "编制类型": "行政" if u == 0 else rng.choice(STAFF_TYPES),
                      "单位性质": "行政单位" if u < 2 else "公益一类", "经费保障": "财政全额拨款",
                      "核定编制数": quota, "年末实有人数": rng.randint(max(0, quota - 6), quota)})
    t["tbl_units"] = units
    f["staff_actual_stated"] = sum(u["年末实有人数"] for u in units)

    awards = []
    for a in range(rng.randint(0, 20)):
        penalty = rng.random() < 0.1
        row = {"序号": a + 1, "项目名称": f"{year}年度{rng.choice(('先进单位', '优秀案例', '示范点', '考核优秀'))}（{a + 1}）",
               "授奖机关": place + ("委、政府" if rng.random() < 0.5 else "人民政府"),
               "授奖时间": dt.date(year, rng.randint(1, 12), rng.randint(1, 28)).isoformat(),
               "授奖依据": f"关于表彰{year}年度先进集体的决定（第{a + 1}号）",
               "授奖级别": rng.choice(AWARD_LEVELS), "类型": "减分" if penalty else "加分"}
        if penalty:
            row["自评得分"] = rng.choice((0.5, 1, 2))
        awards.append(row)
    t["tbl_awards"] = awards

    tasks = copy.deepcopy(base["tables"]["tbl_key_tasks"])
    while len(tasks) < 10:
        tasks += copy.deepcopy(base["tables"]["tbl_key_tasks"])
    tasks = tasks[:rng.randint(1, 10)]
    for n, r in enumerate(tasks, 1):
        r["序号"] = n
        r["完成状态"] = rng.choices(("已完成", "部分完成", "未完成"), (8, 2, 1))[0]
    t["tbl_key_tasks"] = tasks
    targets = base["tables"]["tbl_targets"] * 2
    t["tbl_targets"] = copy.deepcopy(targets[:rng.randint(3, 20)])
    t["tbl_duties"] = copy.deepcopy(base["tables"]["tbl_duties"][:rng.randint(3, 11)])

    for r in t["tbl_scores"]:
        if "自评得分" not in r:
            continue
        points = r["自评得分"]  # the sample gives every manual indicator full marks
        if rng.random() < 0.25:
            r["自评得分"] = max(0, points - rng.choice((0.5, 1, 1.5, 2)))
        if rng.random() < 0.15:
            r["评价说明"] = None
    if rng.random() < 0.05:  # all full marks and no explanation at all: a review risk
        for r in t["tbl_scores"]:
            if "自评得分" in r:
                r["评价说明"] = None
    if rng.random() < 0.1:
        t["tbl_narrative"] = [r for r in t["tbl_narrative"] if r["章节"] != "五、存在问题"]

    if rng.random() < 0.12:
        kind = rng.choice(ERRORS)
        if kind == "negative":
            f["exp_public"] = -abs(f["exp_public"])
        elif kind == "text_money":
            f["income_general"] = "一万二千五百"
        elif kind == "issued_over_quota":
            f["issued_project"] = _money(f["quota_project"] * 1.2)
        elif kind == "required_empty":
            f["dept_head"] = None
        else:
            f["staff_actual_stated"] += rng.randint(1, 3)

    spacer = " " if i % 7 == 0 else ""
    name = f"{i:04d}-{place}{spacer}{bureau}-{year}年度.xlsx"
    return name, d


def _build(args: tuple[str, dict]) -> tuple[str, bytes]:
    from perfxl import template

    name, data = args
    return name, template.build_workbook(data)


def _fingerprint(n: int, seed: int) -> str:
    h = hashlib.sha256()
    for p in (Path(__file__), SAMPLE, ROOT / "perfxl" / "template.py", ROOT / "perfxl" / "schema.py",
              ROOT / "perfxl" / "writeback.py"):
        h.update(p.read_bytes() if p.exists() else b"-")
    h.update(f"{n}/{seed}".encode())
    return h.hexdigest()


def generate(n: int, outdir: str | os.PathLike, seed: int = 2023, jobs: int | None = None,
             broken: int | None = None) -> list[Path]:
    """Write ``n`` workbooks into ``outdir`` (``broken`` of them unreadable; default 1 %, at
    least 3 when n ≥ 10); reuse the folder when it was generated with the same parameters."""
    out = Path(outdir)
    fp = _fingerprint(n, seed)
    marker = out / MARKER
    if marker.exists() and json.loads(marker.read_text("utf-8")).get("fingerprint") == fp:
        return sorted(p for p in out.iterdir() if not p.name.startswith("."))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = random.Random(seed)
    base = json.loads(SAMPLE.read_text("utf-8"))
    if broken is None:
        broken = max(3, n // 100) if n >= 10 else 0
    specs = [vary(base, i, rng) for i in range(n - broken)]
    with Pool(jobs or os.cpu_count()) as pool:
        built = pool.map(_build, specs, chunksize=8)
    for name, body in built:
        (out / name).write_bytes(body)
    good = built[0][1] if built else b""
    for k in range(broken):
        name = f"{n - broken + k:04d}-损坏的文件{k}.xlsx"
        kind = k % 3
        if kind == 0:  # a download that stopped half-way
            body = good[: len(good) // 2]
        elif kind == 1:  # a CSV export renamed to .xlsx
            body = "部门名称,年度,总分\n某某局,2023,95\n".encode("utf-8")
        else:
            body = b""
        (out / name).write_bytes(body)
    marker.write_text(json.dumps({"fingerprint": fp, "n": n, "seed": seed, "broken": broken}), "utf-8")
    return sorted(p for p in out.iterdir() if not p.name.startswith("."))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="生成用于批量测试的标准工作簿")
    ap.add_argument("n", type=int)
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=2023)
    ap.add_argument("--jobs", type=int)
    args = ap.parse_args(argv)
    t = time.perf_counter()
    files = generate(args.n, args.outdir, args.seed, args.jobs)
    print(f"{len(files)} 个工作簿 → {args.outdir}（{time.perf_counter() - t:.1f} 秒）")


if __name__ == "__main__":
    main()
