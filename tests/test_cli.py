"""The command line as a clerk uses it: exit codes, files written, the original untouched."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from perfxl import reader, schema
from conftest import ROOT


def perfxl(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_run_writes_outputs_and_leaves_original(sample_copy, tmp_path):
    before = sha(sample_copy)
    out = tmp_path / "输出"
    p = perfxl("run", sample_copy, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "98.31" in p.stdout and "优" in p.stdout
    stem = sample_copy.stem
    for name in (f"{stem}-已评分.xlsx", f"{stem}-自评报告.docx", f"{stem}-校验结果.json"):
        assert (out / name).stat().st_size > 0, name
    assert sha(sample_copy) == before
    scored = reader.read(out / f"{stem}-已评分.xlsx")
    assert scored.outputs["score_total"].value == pytest.approx(98.31)
    assert "校验结果" in scored.sheets
    doc = json.loads((out / f"{stem}-校验结果.json").read_text("utf-8"))
    assert doc["状态"] == "成功" and doc["错误数"] == 0 and doc["部门名称"] == "乐昌市民政局"
    findings = doc["校验结果"]
    assert {f["code"] for f in findings if f["severity"] == "警告"} == {
        "staff-total-mismatch", "execution-progress-mismatch"}
    assert not list(out.glob(".~perfxl-*"))


def test_check_exit_codes_and_json(build, data):
    ok = perfxl("check", build(data, "好.xlsx"), "--json")
    assert ok.returncode == 0, ok.stderr
    assert all(set(f) >= {"code", "severity", "sheet", "cell", "message"} for f in json.loads(ok.stdout))
    data["fields"]["quota_basic"] = -5
    bad = perfxl("check", build(data, "坏.xlsx"), "--json")
    assert bad.returncode == 1
    hits = [f for f in json.loads(bad.stdout) if f["code"] == "negative-value"]
    assert hits and hits[0]["sheet"] == "预算执行"
    text = perfxl("check", build(data, "坏2.xlsx"))
    assert text.returncode == 1 and "【预算执行】" in text.stdout and "negative-value" in text.stdout


def test_check_mark_then_unmark(build, data, tmp_path):
    data["fields"]["quota_basic"] = -5
    src = build(data, "标注.xlsx")
    before = sha(src)
    marked = tmp_path / "已标注.xlsx"
    assert perfxl("check", src, "--mark", "-o", marked).returncode == 1
    assert sha(src) == before  # -o given: the clerk's file untouched
    wb = openpyxl.load_workbook(marked)
    assert "校验结果" in wb.sheetnames
    assert perfxl("check", marked, "--unmark").returncode == 0
    assert "校验结果" not in openpyxl.load_workbook(marked).sheetnames


def test_score_json_in_place_and_backup(sample_copy):
    p = perfxl("score", sample_copy, "--in-place", "--json")
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert set(got) == {"indicators", "score_base", "score_bonus", "score_total", "grade", "rates"}
    assert got["score_total"] == pytest.approx(98.31) and got["grade"] == "优"
    assert sample_copy.with_name(sample_copy.name + ".bak").exists()
    assert perfxl("score", sample_copy, "--in-place", "-o", "x.xlsx").returncode == 2


def test_score_with_another_rule_pack(tmp_path):
    from perfxl import rulepack, template

    pack_file = ROOT / "tests" / "rules" / "county-alt-2024.toml"
    pack = rulepack.load(pack_file)
    src = tmp_path / "其他规则.xlsx"
    src.write_bytes(template.build_workbook(json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8")),
                                            pack=pack))
    p = perfxl("score", src, "--rules", pack_file, "--json", "-o", tmp_path / "out.xlsx")
    # the sample's data has no manual scores for this pack's own manual indicators: score-missing
    # errors, so the scores are written but the exit code says the workbook has errors
    assert p.returncode == 1, p.stderr
    assert "3 个错误" in p.stderr
    assert set(json.loads(p.stdout)["indicators"]) == {i.id for i in pack.indicators}


def test_bad_rule_pack_is_a_clear_error(sample_copy, tmp_path):
    bad = tmp_path / "坏规则.toml"
    bad.write_text((ROOT / "perfxl" / "rules" / "guangdong-2023.toml").read_text("utf-8")
                   .replace('method = "linear"', 'method = "magic"'), "utf-8")
    p = perfxl("score", sample_copy, "--rules", bad)
    assert p.returncode == 2 and "坏规则.toml" in p.stderr and "magic" in p.stderr
    assert "Traceback" not in p.stderr


def test_export_json_keyed_by_contract(sample_copy):
    p = perfxl("export", sample_copy, "--json")
    assert p.returncode == 0
    got = json.loads(p.stdout)
    assert set(got["fields"]) == {f.name for f in schema.FIELDS}
    assert set(got["tables"]) == {t.name for t in schema.TABLES}
    assert got["fields"]["income_total"] == pytest.approx(12820.47)
    assert got["outputs"]["score_total"] == pytest.approx(98.31)


def test_report_command(sample_copy, tmp_path):
    out = tmp_path / "报告.docx"
    p = perfxl("report", sample_copy, "-o", out, "--no-charts")
    assert p.returncode == 0, p.stderr
    from docx import Document

    text = "\n".join(par.text for par in Document(out).paragraphs)
    assert "98.31" in text


def test_edited_parameter_cell_changes_the_score(sample_copy, tmp_path):
    """A bureau corrects a rule by editing a cell on 评分参数: perfxl scores with it (and warns);
    an explicit --rules restores the pack's value."""
    from perfxl.rulepack import DEFAULT_PACK

    wb = openpyxl.load_workbook(sample_copy)
    sheet, cell = reader.parse_sheet_ref(wb.defined_names["p_spending_rate_full_at"].attr_text)
    wb[sheet][cell] = 0.75  # 支出进度 77.12 % is now above the full-score line
    edited = tmp_path / "改参数.xlsx"
    wb.save(edited)
    got = json.loads(perfxl("score", edited, "--json", "-o", tmp_path / "a.xlsx").stdout)
    assert got["indicators"]["spending_rate"] == 3
    assert got["score_total"] == pytest.approx(98.31 + 3 - 1.81)
    check = json.loads(perfxl("check", edited, "--json").stdout)
    assert any(f["code"] == "param-modified" and f["cell"] == cell for f in check)
    pack_file = ROOT / "perfxl" / "rules" / f"{DEFAULT_PACK}.toml"
    strict = json.loads(perfxl("score", edited, "--json", "--rules", pack_file, "-o", tmp_path / "b.xlsx").stdout)
    assert strict["indicators"]["spending_rate"] == pytest.approx(1.81)


def test_an_internal_error_is_a_chinese_message_and_exit_2(sample_copy, tmp_path, monkeypatch, capsys):
    """A bug inside perfxl (here: scoring made to fail) ends with a Chinese sentence, the
    details for the maintainers, exit code 2, and the clerk's file untouched."""
    from perfxl import cli, scoring

    def broken(*_a, **_k):
        raise RuntimeError("故障注入")

    monkeypatch.setattr(scoring, "score", broken)
    before = sha(sample_copy)
    code = cli.main(["run", str(sample_copy), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"错误：{sample_copy.name}：perfxl 内部错误（评分时 RuntimeError: 故障注入）")
    assert "Traceback" in err
    assert sha(sample_copy) == before


@pytest.mark.parametrize("command, target, why", [
    (["run", "{src}", "-o", "{file}"], "{file}", "路径中的某一级是文件而不是文件夹"),
    (["report", "{src}", "-o", "{folder}"], "{folder}", "该位置已有同名的文件夹"),
    (["new", "{file}/新.xlsx"], "{file}", "路径中的某一级是文件而不是文件夹"),
    (["new", "{folder}", "--force"], "{folder}", "该位置已有同名的文件夹"),
], ids=["run into a file", "report onto a folder", "new under a file", "new onto a folder"])
def test_an_output_path_that_cannot_be_written_is_a_chinese_error(sample_copy, tmp_path, capsys, command, target, why):
    """An output location that is a file where a folder is needed, or a folder where the file
    should go: exit 2 with a sentence naming the path, not an internal error, nothing left behind."""
    from perfxl import cli

    (tmp_path / "一个文件").write_bytes(b"x")
    (tmp_path / "一个文件夹").mkdir()
    names = {"src": sample_copy, "file": tmp_path / "一个文件", "folder": tmp_path / "一个文件夹"}
    before = sha(sample_copy)
    assert cli.main([a.format(**names) for a in command]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：无法写入 ") and why in err and target.format(**names) in err, err
    assert "内部错误" not in err
    assert sha(sample_copy) == before and (tmp_path / "一个文件").read_bytes() == b"x"
    assert not list((tmp_path / "一个文件夹").iterdir()) and not list(tmp_path.glob(".~perfxl-*"))


def test_new_refuses_a_department_name_excel_cannot_hold(tmp_path, capsys):
    from perfxl import cli

    assert cli.main(["new", str(tmp_path / "新.xlsx"), "--dept", "民政局\x01"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("错误：部门名称“民政局”中含有控制字符") and "内部错误" not in err
    assert not list(tmp_path.iterdir())
