"""Proof by a real spreadsheet engine: LibreOffice recalculates every formula perfxl writes and
must arrive at the value Python cached, on the sample and on generated input sets placed on and
around every threshold of the default pack (and a few with the second pack).

Each workbook is built with template.build_workbook (which scores it), read back, scored again
in Python (to know each written cell and its value), recalculated by LibreOffice in batches,
and compared cell by cell: the cached value in the file, Python's value, LibreOffice's value.
"""
from __future__ import annotations

import concurrent.futures as cf
import copy
import json
import math
from pathlib import Path

import pytest
import python_calamine

from perfxl import reader, rulepack, scoring, template, writeback
from perfxl.cellref import col_to_index, split_cell
from perfxl.testing.libreoffice import recalculate, soffice_available

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
ALT_PACK = ROOT / "tests" / "rules" / "county-alt-2024.toml"
TOL = 0.005  # every score is rounded to 2 decimals: a 0.01 difference is a mismatch
RATE_TOL = 1e-9  # rates are not rounded: both engines do the same IEEE arithmetic

pytestmark = pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")


# ---------------------------------------------------------------------------------------------
# Input sets on and around the thresholds


def _units(*rows):
    """tbl_units rows from (层级, 编制类型, 核定编制数, 年末实有人数)."""
    return [{"单位名称": f"单位{i}", "层级": lvl, "编制类型": typ, "核定编制数": q, "年末实有人数": a}
            for i, (lvl, typ, q, a) in enumerate(rows, start=1)]


def _tasks(*statuses):
    """tbl_key_tasks rows; a status of None leaves 重点工作 empty (an unfilled row)."""
    out = []
    for i, s in enumerate(statuses, start=1):
        out.append({"序号": i, "完成状态": s[1:]} if s and s.startswith("!") else
                   {"序号": i, "重点工作": f"重点工作{i}", "进展情况": "……", "完成状态": s})
    return out


def _awards(*rows):
    """tbl_awards rows from (授奖级别, 类型, 减分 points or None)."""
    return [{"序号": i, "项目名称": f"奖项{i}", "授奖机关": "某机关", "授奖时间": "2023-06-01", "授奖依据": "通报",
             "授奖级别": lvl, "类型": typ, **({"自评得分": pts} if pts is not None else {})}
            for i, (lvl, typ, pts) in enumerate(rows, start=1)]


# Each dimension: a list of (label, {field: value}) or (label, {"tables": {...}}) options.
SPENDING = [  # issued_basic, issued_project, quota_basic, quota_project
    ("sp=50%", (500, 500, 1000, 1000)), ("sp=49.995%", (499.9, 500, 1000, 1000)),
    ("sp=50.005%", (500.1, 500, 1000, 1000)), ("sp=95%", (950, 950, 1000, 1000)),
    ("sp=94.995%", (949.9, 950, 1000, 1000)), ("sp=95.005%", (950.1, 950, 1000, 1000)),
    ("sp=95%noisy", (1172.77, 1172.78, 1234.5, 1234.5)), ("sp=sample", None),
    ("sp=100%", (1000, 1000, 1000, 1000)), ("sp=120%", (1200, 1200, 1000, 1000)),
    ("sp=0", (0, 0, 1000, 1000)), ("sp=den0", (0, 0, 0, 0)), ("sp=quota-empty", (500, 500, None, 1000)),
    ("sp=issued-empty", (None, 500, 1000, 1000)), ("sp=basic90%", (900, 500, 1000, 1000)),
    ("sp=basic89.9%", (899, 500, 1000, 1000)), ("sp=basic-den0", (0, 500, 0, 1000)),
]
CARRY = [  # carryover_balance, upper_funds_total
    ("co=10%", (1000, 10000)), ("co=9.9999%", (999.99, 10000)), ("co=10.0001%", (1000.01, 10000)),
    ("co=20%", (2000, 10000)), ("co=19.9999%", (1999.99, 10000)), ("co=20.0001%", (2000.01, 10000)),
    ("co=30%", (3000, 10000)), ("co=29.9999%", (2999.99, 10000)), ("co=30.0001%", (3000.01, 10000)),
    ("co=0", (0, 10000)), ("co=sample", None), ("co=den0", (100, 0)), ("co=empty", (None, 10000)),
    ("co=10%noisy", (123.45, 1234.5)), ("co=30%noisy", (370.35, 1234.5)), ("co=5%", (500, 10000)),
    ("co=45%", (4500, 10000)), ("co=20%noisy", (155.54, 777.7)),
]
STOCK = [  # stock_prev, stock_curr
    ("st=0", (757.52, 757.52)), ("st=-0.001%", (757.52, 757.51)), ("st=+0.001%", (757.52, 757.53)),
    ("st=sample", None), ("st=den0", (0, 100)), ("st=prev-empty", (None, 100)), ("st=-50%", (100, 50)),
    ("st=+1%", (1000, 1010)), ("st=+30%", (1000, 1300)), ("st=+0.5%", (1000, 1005)),
]
STAFF = [
    ("sc=sample", None),
    ("sc=100%", _units(("本级", "行政", 18, 18), ("本级", "工勤", 5, 5), ("下属", "事业", 10, 12))),
    ("sc=104.35%", _units(("本级", "行政", 18, 19), ("本级", "工勤", 5, 5))),
    ("sc=105%", _units(("本级", "行政", 20, 21))),
    ("sc=110%", _units(("本级", "行政", 10, 11), ("下属", "事业", 3, 1))),
    ("sc=125%", _units(("本级", "行政", 20, 25))),
    ("sc=95%", _units(("本级", "行政", 20, 19))),
    ("sc=no-own-rows", _units(("下属", "事业", 14, 9))),
    ("sc=den0", _units(("本级", "行政", 0, 3))),
    ("sc=actual-empty", _units(("本级", "行政", 18, None), ("本级", "工勤", 5, 4))),
    ("sc=empty-table", []),
]
SANGONG = [  # sangong_actual, sangong_budget
    ("sg=100%", (14.8, 14.8)), ("sg=100.07%", (14.81, 14.8)), ("sg=99.93%", (14.79, 14.8)),
    ("sg=95%", (14.06, 14.8)), ("sg=0", (0, 14.8)), ("sg=den0", (5, 0)), ("sg=empty", (None, 14.8)),
    ("sg=sample", None),
]
PUBLIC = [  # public_actual, public_budget
    ("pu=100%", (51, 51)), ("pu=100.02%", (51.01, 51)), ("pu=sample", None), ("pu=den0", (1, 0)),
    ("pu=budget-empty", (50, None)), ("pu=50%", (25.5, 51)),
]
SME = [  # proc_sme, proc_goods, proc_works, proc_services
    ("sme=sample", None), ("sme=den0", (10, 0, 0, 0)), ("sme=empty", (None, 5.5, 56.2, 13.84)),
    ("sme=100%", (75.54, 5.5, 56.2, 13.84)), ("sme=parts-empty", (10, None, 20, None)),
]
TASKS = [
    ("kt=all", _tasks("已完成", "已完成", "已完成")), ("kt=2of3", _tasks("已完成", "部分完成", "已完成")),
    ("kt=0of3", _tasks("未完成", "部分完成", "未完成")), ("kt=empty-table", []),
    ("kt=unfilled-row", _tasks("已完成", "已完成", "!已完成")), ("kt=1of4", _tasks("已完成", "未完成", "未完成", "未完成")),
    ("kt=sample", None),
]
COVER = [  # projects_with_targets, projects_total
    ("tc=10/10", (10, 10)), ("tc=5/10", (5, 10)), ("tc=12/10", (12, 10)), ("tc=0/10", (0, 10)),
    ("tc=den0", (10, 0)), ("tc=empty", (None, 10)), ("tc=9/10", (9, 10)),
]
PAYABLE = [("pay=sample", None), ("pay=empty", ("del",)), ("pay=big", (30000,))]
AWARDS = [
    ("aw=sample", None),
    ("aw=above-cap", _awards(("国家级", "加分", None), ("国家级", "加分", None), ("省级", "加分", None))),
    ("aw=deduct", _awards(("市级", "加分", None), ("县级", "加分", None), ("", "减分", 1.5), ("省级", "减分", 0.5))),
    ("aw=cap-and-deduct", _awards(("国家级", "加分", None), ("国家级", "加分", None), ("国家级", "加分", None),
                                  ("市级", "减分", 2))),
    ("aw=unknown-level", _awards(("区级", "加分", None), ("", "加分", None), ("省级", "加分", None))),
    ("aw=deduct-missing", _awards(("市级", "加分", None), ("县级", "减分", None))),
    ("aw=empty", []), ("aw=exactly-cap", _awards(("国家级", "加分", None), ("省级", "加分", None))),
    ("aw=deduct-only", _awards(("省级", "减分", 3), ("县级", "减分", 4))),
]
MANUAL = [  # (indicator id, 自评得分)
    ("mn=sample", None), ("mn=over", ("budget_rationality", 6)), ("mn=negative", ("budget_compliance", -1)),
    ("mn=empty", ("effectiveness", None)), ("mn=text", ("fairness", "五")), ("mn=decimals", ("timeliness", 2.555)),
    ("mn=lower", ("effectiveness", 4.5)),
]
TEXTNUM = [  # numbers typed as text: engines convert unambiguous numeric text in arithmetic
    ("tx=none", None), ("tx=none2", None), ("tx=thousands", {"quota_project": "15,720.94"}),
    ("tx=plain", {"carryover_balance": "1609.96"}), ("tx=percent", {"public_actual": "99%", "public_budget": 1}),
    ("tx=word", {"sangong_actual": "十三"}), ("tx=unit", {"stock_curr": "1609.96万元"}),
]

_FIELDS = {
    "SPENDING": ("issued_basic", "issued_project", "quota_basic", "quota_project"),
    "CARRY": ("carryover_balance", "upper_funds_total"),
    "STOCK": ("stock_prev", "stock_curr"),
    "SANGONG": ("sangong_actual", "sangong_budget"),
    "PUBLIC": ("public_actual", "public_budget"),
    "SME": ("proc_sme", "proc_goods", "proc_works", "proc_services"),
    "COVER": ("projects_with_targets", "projects_total"),
    "PAYABLE": ("payable_unpaid",),
}
_DIMS = {"SPENDING": SPENDING, "CARRY": CARRY, "STOCK": STOCK, "STAFF": STAFF, "SANGONG": SANGONG,
         "PUBLIC": PUBLIC, "SME": SME, "TASKS": TASKS, "COVER": COVER, "PAYABLE": PAYABLE, "AWARDS": AWARDS,
         "MANUAL": MANUAL, "TEXTNUM": TEXTNUM}
_TABLE_DIMS = {"STAFF": "tbl_units", "TASKS": "tbl_key_tasks", "AWARDS": "tbl_awards"}


def _apply(data: dict, dim: str, option) -> None:
    if option is None:
        return
    if dim in _FIELDS:
        for name, v in zip(_FIELDS[dim], option):
            if v is None or v == "del":
                data["fields"].pop(name, None)
            else:
                data["fields"][name] = v
    elif dim in _TABLE_DIMS:
        data["tables"][_TABLE_DIMS[dim]] = copy.deepcopy(option)
    elif dim == "TEXTNUM":
        data["fields"].update(option)
    elif dim == "MANUAL":
        ind, v = option
        for row in data["tables"]["tbl_scores"]:
            if row["指标编号"] == ind:
                row["自评得分"] = v


def generated_cases(n: int = 210) -> list[tuple[str, dict]]:
    """n input sets: case i takes option (i·stride + offset) of every dimension, so every option
    of every dimension appears many times and in many combinations (deterministic)."""
    primes = [1, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47]
    strides = []
    for options in _DIMS.values():  # a stride coprime with the option count visits every option
        strides.append(next(p for p in primes if p not in strides and math.gcd(p, len(options)) == 1))
    cases = []
    for i in range(n):
        data = copy.deepcopy(SAMPLE)
        for k, (dim, options) in enumerate(_DIMS.items()):
            _apply(data, dim, options[(i * strides[k] + k) % len(options)][1])
        cases.append((f"case{i:03d}", data))
    return cases


def _alt_cases() -> list[tuple[str, dict]]:
    """A few input sets for the second pack (manual scores for its own manual indicators)."""
    out = []
    for i, (name, data) in enumerate(generated_cases(12)):
        data = copy.deepcopy(data)
        data["tables"]["tbl_scores"] = [{"指标编号": "budget_quality", "自评得分": 11},
                                        {"指标编号": "target_quality", "自评得分": 9.5},
                                        {"指标编号": "satisfaction", "自评得分": 10 if i % 3 else 12}]
        out.append((f"alt{i:02d}", data))
    return out


# ---------------------------------------------------------------------------------------------
# Build, recalculate, compare


def _build_one(args) -> str:
    name, data, pack_path, outdir = args
    pack = rulepack.load(pack_path) if pack_path else rulepack.load()
    path = Path(outdir) / f"{name}.xlsx"
    path.write_bytes(template.build_workbook(data, pack=pack))
    return str(path)


def _build_all(cases, pack_path, outdir: Path) -> list[Path]:
    jobs = [(name, data, pack_path, str(outdir)) for name, data in cases]
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        return [Path(p) for p in pool.map(_build_one, jobs, chunksize=8)]


def _recalculate_all(paths: list[Path], outdir: Path, batch: int = 50) -> list[Path]:
    chunks = [paths[i:i + batch] for i in range(0, len(paths), batch)]
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda ch: recalculate(ch, outdir / f"lo{paths.index(ch[0])}"), chunks))
    return [p for r in results for p in r]


class _Grid:
    def __init__(self, path: Path):
        self.wb = python_calamine.CalamineWorkbook.from_path(str(path))
        self.sheets: dict[str, list] = {}

    def get(self, sheet: str, cell: str):
        if sheet not in self.sheets:
            self.sheets[sheet] = self.wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        col, row = split_cell(cell)
        g = self.sheets[sheet]
        r, c = row - 1, col_to_index(col) - 1
        return g[r][c] if r < len(g) and c < len(g[r]) else ""


def _same(a, b, tol: float) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isfinite(a) and math.isfinite(b) and abs(a - b) <= tol
    return ("" if a is None else a) == ("" if b is None else b)


def _written(path: Path, pack):
    """(edits with formulas, scores) of a built workbook, from Python."""
    model = reader.read(path)
    scores = scoring.score(model, pack)
    return [e for e in writeback.score_edits(model, pack, scores) if getattr(e, "formula", None)], scores


def _compare(built: list[Path], recalculated: list[Path], pack) -> tuple[int, list[str], list]:
    """Compare every written formula cell: cached value in the file, Python, LibreOffice."""
    n, bad, all_scores = 0, [], []
    for src, out in zip(built, recalculated):
        edits, scores = _written(src, pack)
        all_scores.append(scores)
        cached, lo = _Grid(src), _Grid(out)
        for e in edits:
            n += 1
            # Rounded scores may differ by < 0.005 only if equal; unrounded rates must agree exactly.
            tol = TOL if "ROUND(" in e.formula else RATE_TOL
            got_lo, got_cached = lo.get(e.sheet, e.cell), cached.get(e.sheet, e.cell)
            if not _same(got_cached, e.value, 1e-12):
                bad.append(f"{src.name} {e.sheet}!{e.cell}: cached {got_cached!r} ≠ python {e.value!r}")
            if not _same(got_lo, e.value, tol):
                bad.append(f"{src.name} {e.sheet}!{e.cell}: LibreOffice {got_lo!r} ≠ python {e.value!r}"
                           f"  ={e.formula[:120]}")
    return n, bad, all_scores


@pytest.fixture(scope="module")
def lo_default(tmp_path_factory):
    """The sample and 204 generated sets with the default pack: built, then recalculated."""
    root = tmp_path_factory.mktemp("lo")
    built = _build_all([("sample", copy.deepcopy(SAMPLE))] + generated_cases(204), None, root)
    return built, _recalculate_all(built, root)


@pytest.fixture(scope="module")
def lo_alt(tmp_path_factory):
    """12 sets with the second pack (tests/rules/county-alt-2024.toml)."""
    root = tmp_path_factory.mktemp("lo-alt")
    built = _build_all(_alt_cases(), str(ALT_PACK), root)
    return built, _recalculate_all(built, root)


def test_sample_recalculated_by_libreoffice_matches_python(lo_default):
    built, recalced = lo_default
    n, bad, [scores] = _compare(built[:1], recalced[:1], rulepack.load())
    assert not bad, "\n".join(bad)
    assert n >= 30
    lo = reader.read(recalced[0])  # LibreOffice's own results, read by name
    assert {k: lo.outputs[k].value for k in ("score_base", "score_bonus", "score_total", "grade")} == \
        {"score_base": 94.81, "score_bonus": 3.5, "score_total": 98.31, "grade": "优"}
    assert lo.outputs["score_spending_rate"].value == 1.81


def test_generated_inputs_recalculated_by_libreoffice_match_python(lo_default):
    built, recalced = lo_default
    pack = rulepack.load()
    n, bad, all_scores = _compare(built[1:], recalced[1:], pack)
    assert len(built) - 1 >= 200
    assert not bad, f"{len(bad)} mismatches of {n} cells:\n" + "\n".join(bad[:40])
    # The sets really sit on the thresholds (checked on Python's values, not assumed).
    rates = [s.rates for s in all_scores]

    def hit(name, value):
        return any(r[name] is not None and abs(r[name] - value) < 1e-12 for r in rates)

    for name, value in [("rate_spending", 0.5), ("rate_spending", 0.95), ("rate_carryover", 0.1),
                        ("rate_carryover", 0.2), ("rate_carryover", 0.3), ("rate_stock_change", 0.0),
                        ("rate_staff_control", 1.0), ("rate_sangong", 1.0), ("rate_public", 1.0)]:
        assert hit(name, value), f"no generated set has {name} = {value}"
    for name in ("rate_spending", "rate_carryover", "rate_stock_change", "rate_staff_control", "rate_sangong",
                 "rate_public", "rate_sme_share", "rate_key_tasks", "rate_target_coverage"):
        assert any(r[name] is None for r in rates), f"no generated set leaves {name} empty"
    assert any(r["rate_staff_control"] > 1 for r in rates if r["rate_staff_control"] is not None)
    assert any(s.score_bonus == 5 and len(s.awards) * 3 > 5 for s in all_scores), "no set above the award cap"
    assert any(s.score_bonus < 0 for s in all_scores), "no set with 减分 only"
    assert any(s.indicators["staff_control"] == 0 for s in all_scores), "no set deducts staff control to 0"
    assert len({s.score_total for s in all_scores}) > 50


def test_second_pack_recalculated_by_libreoffice_matches_python(lo_alt):
    built, recalced = lo_alt
    pack = rulepack.load(ALT_PACK)
    n, bad, all_scores = _compare(built, recalced, pack)
    assert not bad, f"{len(bad)} mismatches of {n} cells:\n" + "\n".join(bad[:40])
    assert {s.grade for s in all_scores} <= {"好", "较好", "一般", "较差"}
    # The sets exercise the pack's methods between their extremes, not only at 0 or full marks.
    for ind in ("carry_linear", "stock_deduct", "basic_issue_below", "spend_bands", "thrift"):
        values = {s.indicators[ind] for s in all_scores}
        assert len(values - {None}) >= 2, (ind, values)
