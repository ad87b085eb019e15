"""Generic checks every pack shipped in perfxl/rules passes: a third pack is a TOML file, no code.
Tree sums, the template follows the pack, Python scoring and the report work on the sample's
figures, and (slow) LibreOffice recalculates ≥ 100 generated variants exactly as Python does."""
from __future__ import annotations

import copy
from importlib import resources

import pytest

from perfxl import formulas, reader, rulepack, schema, scoring
from perfxl.report import render_report
from perfxl.template import build_workbook

NAMES = sorted(f.name[:-5] for f in resources.files("perfxl.rules").iterdir() if f.name.endswith(".toml"))


def test_shipped_names_are_the_folder():
    assert rulepack.shipped_names() == tuple(NAMES)
    assert len(NAMES) >= 2 and rulepack.DEFAULT_PACK in NAMES
    assert [n for n, _ in rulepack.shipped()][0] == rulepack.DEFAULT_PACK


def _manual_rows(pack, fraction: float = 0.9) -> list[dict]:
    return [{"指标编号": i.id, "自评得分": round(i.points * fraction, 1)} for i in pack.indicators if i.manual]


def _data(sample_data, pack) -> dict:
    """The seed's figures, plus the invented values scripts/regen.py adds for inputs the seed lacks."""
    data = copy.deepcopy(sample_data)
    data["fields"].update(_regen().NATIONAL_EXTRA)
    data["tables"]["tbl_scores"] = _manual_rows(pack)
    return data


@pytest.mark.parametrize("name", NAMES)
def test_tree_sums_and_parameters(name):
    pack = rulepack.load(name)
    assert pack.id and pack.name
    assert sum(i.points for i in pack.indicators) == pytest.approx(pack.total_points)
    for key, pts in pack.tree.items():
        under = [i.points for i in pack.indicators if key in (i.level1, i.path)]
        assert sum(under) == pytest.approx(pts), key
    rates = {o.name for o in schema.RATE_OUTPUTS}
    for ind in pack.automatic:
        used = [c["input"] for c in ind.params.get("checks", ())] or [ind.input]
        assert set(used) <= rates, ind.id
    names = [p.name for p in pack.params]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("name", NAMES)
def test_template_follows_the_pack(name, tmp_path, sample_data):
    pack = rulepack.load(name)
    path = tmp_path / f"{name}.xlsx"
    path.write_bytes(build_workbook(_data(sample_data, pack), pack=pack))
    model = reader.read(path)
    ids = [r.get("指标编号") for r in model.tables["tbl_scores"].filled]
    assert ids == [i.id for i in pack.indicators]
    assert {p.name for p in pack.params} <= set(model.outputs)  # one named cell per parameter
    assert rulepack.workbook_params(pack, model.outputs) == {}  # holding the pack's values


@pytest.mark.parametrize("name", NAMES)
def test_sample_figures_score_and_report(name, tmp_path, sample_data):
    pack = rulepack.load(name)
    path = tmp_path / "wb.xlsx"
    path.write_bytes(build_workbook(_data(sample_data, pack), pack=pack))
    model = reader.read(path)
    s = scoring.score(model, pack)
    assert set(s.indicators) == {i.id for i in pack.indicators}
    for ind in pack.automatic:
        assert s.indicators[ind.id] is not None and 0 <= s.indicators[ind.id] <= ind.points, ind.id
    assert 0 < s.score_total <= pack.total_points + pack.awards["cap"]
    assert s.grade in {g for g, _ in pack.grades}
    doc = render_report(model, s, tmp_path / "report.docx", pack=pack, charts=False)
    text = "\n".join(p.text for p in __import__("docx").Document(doc).paragraphs)
    level1 = list(dict.fromkeys(i.level1 for i in pack.indicators))
    for l1 in level1:
        assert l1 in text, l1


# --- LibreOffice recalculation of generated variants ----------------------------------------
# The default pack has its own 205 variants in test_formulas_libreoffice.py; every other shipped
# pack gets ≥ 100 here (the same threshold-seeking generator, the pack's own manual rows).
OTHER = [n for n in NAMES if n != rulepack.DEFAULT_PACK]


# Inputs the seed lacks, placed on and around every edge of the shipped packs' rules (None: left
# blank).  Each list is cycled with its own length, so the options meet in many combinations.
_KEY_PROJECT = (9000, 8999, 8000, 7999, 7000, 6999, 6000, 5999, 9500, None)  # of 项目支出 10000
_ADJUSTMENT = (0, 1, 1000, 1001, 2000, 2001, 3000, 3001, 500, None)         # of 全年预算数 10000
_IN_USE = (950, 949, 750, 749, 850, 1000, None)                              # of 固定资产 1000
_PREV_FACTOR = (1.0, 0.98, 1.05, 0.9, None)          # 上年“三公”经费 / 上年结转结余, × this year's
_PROC_FACTOR = (1.0, 1.02, 0.99, 0.9, 1.2, None)     # 政府采购预算数 × 实际采购金额


def _scaled(value, factor):
    return value * factor if isinstance(value, (int, float)) and factor is not None else None


def _pack_cases(pack, n: int) -> list[tuple[str, dict]]:
    from test_formulas_libreoffice import generated_cases

    out = []
    for k, (name, data) in enumerate(generated_cases(n)):
        data["tables"]["tbl_scores"] = _manual_rows(pack, (0.6, 0.85, 1.0, 0.95)[k % 4])
        f = data["fields"]
        extra = {
            "sangong_prev": _scaled(f.get("sangong_actual"), _PREV_FACTOR[k % 5]),
            # 本年结转结余 0 (the generator's co=0) needs a non-zero 上年 to read as “无结余”
            "carryover_prev": (_scaled(f.get("carryover_balance"), _PREV_FACTOR[(k // 2) % 5]) or
                               (500.0 if _PREV_FACTOR[(k // 2) % 5] is not None else None)),
            "key_project_exp": _KEY_PROJECT[k % 10], "budget_adjustment": _ADJUSTMENT[(k + 3) % 10],
            "fixed_assets_in_use": _IN_USE[k % 7], "fixed_assets_total": 1000,
        }
        parts = [f.get(p) for p in ("proc_goods", "proc_works", "proc_services")]
        if all(isinstance(p, (int, float)) for p in parts):  # the sum as the engines compute it
            extra["proc_budget"] = _scaled(parts[0] + parts[1] + parts[2], _PROC_FACTOR[k % 6]) or None
        if k % 9 == 4:  # 重点工作 3 of 5 done: exactly on 重点工作办结率's 0-point edge (60 %)
            data["tables"]["tbl_key_tasks"] = [
                {"序号": i, "重点工作": f"重点工作{i}", "完成状态": "已完成" if i <= 3 else "部分完成"} for i in range(1, 6)]
        if extra["key_project_exp"] is not None:
            f["exp_project"] = 10000
        if extra["budget_adjustment"] is not None:
            f["budget_annual"] = 10000
        f.update({key: v for key, v in extra.items() if v is not None})
        out.append((name, data))
    return out


def _edges(ind) -> list[tuple[float, float]]:
    """(rate, score) pairs a rule fixes exactly: a line or full_at gives full points, zero_at
    none, a band edge its band's score."""
    p = ind.params
    if "line" in p:
        return [(p["line"], ind.points)]
    if "full_at" in p:
        return [(p["full_at"], ind.points), (p["zero_at"], 0)]
    key = "lower" if "lower" in p else "upper" if "upper" in p else None
    return list(zip(p[key], p["score"])) if key else []


@pytest.mark.slow
@pytest.mark.libreoffice
@pytest.mark.parametrize("name", OTHER)
def test_pack_recalculated_by_libreoffice_matches_python(name, tmp_path):
    import test_formulas_libreoffice as lo
    from perfxl.testing.libreoffice import soffice_available

    if not soffice_available():
        pytest.skip("LibreOffice (soffice) not installed")
    pack = rulepack.load(name)
    built = lo._build_all(_pack_cases(pack, 104), name, tmp_path)
    recalced = lo._recalculate_all(built, tmp_path)
    n, bad, all_scores = lo._compare(built, recalced, pack)
    assert len(built) >= 100
    assert not bad, f"{len(bad)} mismatches of {n} cells:\n" + "\n".join(bad[:40])
    assert n >= len(built) * (len(pack.automatic) + 3)
    # Every automatic indicator takes several values, full marks and a deduction among them.
    for ind in pack.automatic:
        values = {s.indicators[ind.id] for s in all_scores} - {None}
        assert len(values) >= 2 and ind.points in values and min(values) < ind.points, (ind.id, values)
    # … and the variants sit on every line and band edge (a rate exactly at a line still takes
    # full marks; exactly at a band edge, that band's score).
    for ind in pack.automatic:
        for edge, score in _edges(ind):
            at = [s for s in all_scores if s.rates[ind.input] is not None and abs(s.rates[ind.input] - edge) < 1e-12]
            assert at and all(s.indicators[ind.id] == score for s in at), (ind.id, edge)
    for rate in formulas.pack_rates(pack) & formulas.OPTIONAL_RATES:  # a blank input leaves it empty
        assert any(s.rates[rate] is None for s in all_scores), rate


# --- the national-framework sample --------------------------------------------------------------

def _regen():
    import importlib.util

    from conftest import ROOT

    spec = importlib.util.spec_from_file_location("regen", ROOT / "scripts" / "regen.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_committed_national_sample_is_current(sample_data):
    regen = _regen()
    expected = build_workbook(regen.national_data(sample_data), pack=rulepack.load("national-framework"))
    assert regen.NATIONAL_XLSX.read_bytes() == expected, "run: python scripts/regen.py"


def test_national_sample_marks_its_invented_values(tmp_path):
    regen = _regen()
    model = reader.read(regen.NATIONAL_XLSX)
    first = model.tables["tbl_narrative"].filled[0]
    assert "假设值" in str(first.get("正文")) and "示例说明" in str(first.get("标题"))
    for name, value in regen.NATIONAL_EXTRA.items():
        assert model.fields[name].value == value and f"{value:.2f}" in regen.NATIONAL_NOTE


@pytest.mark.slow
@pytest.mark.libreoffice
def test_national_sample_recalculated_by_libreoffice_matches_python(tmp_path):
    import shutil

    import test_formulas_libreoffice as lo
    from perfxl.testing.libreoffice import soffice_available

    if not soffice_available():
        pytest.skip("LibreOffice (soffice) not installed")
    pack = rulepack.load("national-framework")
    src = tmp_path / "national.xlsx"
    shutil.copyfile(_regen().NATIONAL_XLSX, src)
    [out] = lo._recalculate_all([src], tmp_path)
    n, bad, [s] = lo._compare([src], [out], pack)
    assert not bad, "\n".join(bad)
    assert n >= len(pack.automatic) + 3
    assert 0 < s.indicators["sangong_change"] < 5  # the invented 上年 figure makes a real deduction
    lo_model = reader.read(out)
    assert lo_model.outputs["score_total"].value == pytest.approx(s.score_total)

