"""The workbook remembers its rule pack (``rule_pack`` on 评分参数) and every shell scores it by
that pack unless one is chosen on purpose (perfxl.packchoice).  Real files, real processes."""
from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from perfxl import reader, rulepack, schema
from perfxl.edits import SetCell, apply_edits_bytes

ROOT = Path(__file__).resolve().parent.parent
GD_XLSX = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
NAT_XLSX = ROOT / "samples" / "乐昌市民政局-2023-national.xlsx"
PACK_CODES = ("rule-pack-unknown", "rule-pack-override")


def perfxl(*args: str | os.PathLike, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "perfxl", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd or ROOT, timeout=300)


def scored(path: Path, *rules: str) -> dict:
    """``perfxl score --json`` in a child process: the scores JSON."""
    p = perfxl("score", path, "-o", path.with_name(f"{path.stem}-{len(rules)}-已评分.xlsx"), "--json", *rules)
    assert p.returncode in (0, 1), p.stderr
    return json.loads(p.stdout)


def checked(path: Path, *rules: str) -> list[dict]:
    """``perfxl check --json`` in a child process: the findings."""
    p = perfxl("check", path, "--json", *rules)
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    return doc if isinstance(doc, list) else doc.get("校验结果", doc.get("findings", []))


def record_cell(path: Path) -> tuple[str, str]:
    return reader.read(path).names[schema.RULE_PACK]


def with_record(src: Path, dst: Path, text: str | None) -> Path:
    """``src`` with its rule_pack cell holding ``text`` (through perfxl's own OOXML writer)."""
    sheet, cell = record_cell(src)
    dst.write_bytes(apply_edits_bytes(src.read_bytes(), [SetCell(sheet, cell, text)]))
    return dst


def without_record(src: Path, dst: Path) -> Path:
    """``src`` as a workbook made before ``rule_pack`` existed: the defined name removed."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                body, n = re.subn(rb'<definedName name="rule_pack"[^>]*>[^<]*</definedName>', b"", body)
                assert n == 1
            zout.writestr(item, body)
    return dst


def codes(findings: list[dict]) -> list[tuple[str, str, str]]:
    return [(f["code"], f["sheet"], f["cell"]) for f in findings if f["code"] in PACK_CODES]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("packs")
    for src in (GD_XLSX, NAT_XLSX):
        (d / src.name).write_bytes(src.read_bytes())
    return d


def test_templates_record_their_pack(tmp_path):
    for name in rulepack.shipped_names():
        out = tmp_path / f"{name}.xlsx"
        p = perfxl("new", out, "--rules", name)
        assert p.returncode == 0, p.stderr
        model = reader.read(out)
        assert model.rule_pack is not None and model.rule_pack.value == name
        assert model.rule_pack.sheet == schema.S_PARAMS
        assert rulepack.load(name).name in _sheet_text(out, schema.S_PARAMS)  # visible beside it
    assert reader.read(GD_XLSX).rule_pack.value == rulepack.DEFAULT_PACK
    assert reader.read(NAT_XLSX).rule_pack.value == "national-framework"
    exported = perfxl("export", NAT_XLSX)
    assert exported.returncode == 0 and json.loads(exported.stdout)["rule_pack"] == "national-framework"


def _sheet_text(path: Path, sheet: str) -> str:
    import openpyxl

    ws = openpyxl.load_workbook(path, read_only=True)[sheet]
    return " ".join(str(v) for row in ws.iter_rows(values_only=True) for v in row if v is not None)


def test_national_workbook_scores_by_its_pack_without_rules(work):
    nat = work / NAT_XLSX.name
    own, forced_same, forced_other = scored(nat), scored(nat, "--rules", "national-framework"), \
        scored(nat, "--rules", rulepack.DEFAULT_PACK)
    assert own["score_total"] == pytest.approx(forced_same["score_total"])
    assert own["indicators"] == forced_same["indicators"]
    assert set(own["indicators"]) == {i.id for i in rulepack.load("national-framework").indicators}
    assert own["score_total"] != pytest.approx(forced_other["score_total"])
    # perfxl run: the same total, the pack named, no pack finding
    out = work / "run"
    p = perfxl("run", nat, "-o", out)
    assert p.returncode == 0, p.stderr
    assert "national-framework" in p.stdout
    total = f"{own['score_total']:.2f}".rstrip("0").rstrip(".")
    assert f"总分 {total} 分" in p.stdout
    doc = json.loads((out / f"{nat.stem}-校验结果.json").read_text("utf-8"))
    assert codes(doc["校验结果"]) == []
    assert not any(f["code"] == "score-id-unknown" for f in doc["校验结果"])


def test_default_workbook_is_unchanged(work):
    gd = work / GD_XLSX.name
    s = scored(gd)
    assert (s["score_total"], s["grade"]) == (pytest.approx(98.31), "优")  # the reference report's figures
    old = without_record(gd, work / "old.xlsx")
    assert reader.read(old).rule_pack is None
    assert scored(old) == {**s}
    assert codes(checked(old)) == codes(checked(gd)) == []


def test_explicit_rules_win_and_warn_on_mismatch(work):
    nat = work / NAT_XLSX.name
    found = checked(nat, "--rules", rulepack.DEFAULT_PACK)
    assert codes(found) == [("rule-pack-override", *record_cell(nat))]
    assert codes(checked(nat, "--rules", "national-framework")) == []
    # a pack given as a file whose [pack] id is the recorded one: no warning
    assert codes(checked(nat, "--rules", ROOT / "perfxl" / "rules" / "national-framework.toml")) == []


@pytest.mark.parametrize("text", [
    "shaoguan-2025",                       # a bureau's own pack, not shipped
    "",                                    # emptied
    "PLACEHOLDER_PATH",                    # a path to a real, valid pack file: never opened
    "=HYPERLINK(\"http://x\")&'; rm -rf /",  # hostile text
    "控制\x01\x0b字符</t>" + "长" * 3000,   # control characters, markup, very long
], ids=["own-pack", "empty", "path", "hostile", "control-long"])
def test_unknown_record_falls_back_to_the_default_with_a_warning(work, tmp_path, text):
    evil = tmp_path / "evil.toml"
    evil.write_text((ROOT / "tests" / "rules" / "county-alt-2024.toml").read_text("utf-8"), "utf-8")
    text = str(evil) if text == "PLACEHOLDER_PATH" else text
    wb = with_record(work / NAT_XLSX.name, tmp_path / "wb.xlsx", text)
    found = checked(wb)
    assert codes(found) == [("rule-pack-unknown", *record_cell(wb))]
    s = scored(wb)
    assert set(s["indicators"]) == {i.id for i in rulepack.load().indicators}  # the default pack's
    assert not set(s["indicators"]) & {i.id for i in rulepack.loads(evil.read_text("utf-8")).indicators}
    # an explicit pack still wins, with the mismatch said
    assert codes(checked(wb, "--rules", "national-framework")) == (
        [("rule-pack-override", *record_cell(wb))] if text else [])


def test_carryover_keeps_the_pack(work, tmp_path):
    nat = work / NAT_XLSX.name
    kept, switched = tmp_path / "2024.xlsx", tmp_path / "2024-gd.xlsx"
    assert perfxl("new", kept, "--from", nat).returncode == 0
    assert perfxl("new", switched, "--from", nat, "--rules", rulepack.DEFAULT_PACK).returncode == 0
    assert reader.read(kept).rule_pack.value == "national-framework"
    assert reader.read(switched).rule_pack.value == rulepack.DEFAULT_PACK
    ids = {r.get("指标编号") for r in reader.read(kept).tables["tbl_scores"].filled}
    assert ids == {i.id for i in rulepack.load("national-framework").indicators}


def test_batch_scores_each_workbook_by_its_own_pack(work, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for f in (GD_XLSX, NAT_XLSX):
        (src / f.name).write_bytes(f.read_bytes())
    singles = {f.name: scored(work / f.name)["score_total"] for f in (GD_XLSX, NAT_XLSX)}
    p = perfxl("batch", src, "-o", tmp_path / "out", "--quiet", "--jobs", "2", "--no-charts")
    assert p.returncode == 0, p.stderr
    doc = json.loads((tmp_path / "out" / "汇总表.json").read_text("utf-8"))
    rows = {r["文件"]: r for r in doc["rows"]}
    assert rows[GD_XLSX.name]["评分规则包"] == rulepack.DEFAULT_PACK
    assert rows[NAT_XLSX.name]["评分规则包"] == "national-framework"
    assert {k: r["总分"] for k, r in rows.items()} == pytest.approx(singles)
    assert rows[NAT_XLSX.name]["投入"] is not None and rows[GD_XLSX.name].get("投入") is None
    assert "national-framework" in doc["meta"]["规则包说明"]
    assert all("评分规则包" in r for r in doc["抽查建议"])
    import openpyxl

    wb = openpyxl.load_workbook(tmp_path / "out" / "汇总表.xlsx", read_only=True)
    head = next(wb["汇总"].iter_rows(max_row=1, values_only=True))
    assert "评分规则包" in head and "投入" in head and "预算执行情况" in head
    notes = " ".join(str(v) for row in wb["说明"].iter_rows(values_only=True) for v in row if v)
    assert "不同的评分规则包" in notes
    # the bureau's --rules scores every workbook by that pack: one pack, no mixed note
    p = perfxl("batch", src, "-o", tmp_path / "forced", "--quiet", "--jobs", "2", "--no-charts",
               "--rules", "national-framework")
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads((tmp_path / "forced" / "汇总表.json").read_text("utf-8"))
    assert {r["评分规则包"] for r in doc["rows"]} == {"national-framework"}
    assert "规则包说明" not in doc["meta"]


def test_excel_button_follows_the_workbook(work):
    from perfxl import app
    from perfxl.reader import FileSource

    nat = work / NAT_XLSX.name
    out = app.run_action("score", FileSource(nat), str(nat))
    total = f"{scored(nat)['score_total']:.2f}".rstrip("0").rstrip(".")
    assert out.ok and f"总分 {total} 分" in out.message, out.message


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@contextlib.contextmanager
def logged_in(url: str, login: str):
    import httpx

    from serverkit import PASSWORD

    with httpx.Client(base_url=url, timeout=120) as c:
        c.post("/login", data={"login": login, "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
        yield c


def test_server_upload_scores_a_national_workbook_by_its_pack(work, request, tmp_path_factory):
    import httpx

    from serverkit import make_server

    nat = work / NAT_XLSX.name
    want = scored(nat)
    srv = make_server(request, tmp_path_factory, "sqlite")
    token = srv.user("clerk-n", "clerk", "乐昌市民政局")
    reviewer = srv.user("boss-n", "reviewer")
    srv.start()
    try:
        with srv.client(token) as c:
            r = c.post("/api/check", files={"file": (nat.name, nat.read_bytes(), "application/octet-stream")})
            assert r.status_code == 200, r.text
            doc = r.json()
            assert doc["pack"] == "national-framework"
            assert doc["total"] == pytest.approx(want["score_total"])
            assert set(doc["indicators"]) == set(want["indicators"])
            assert not [f for f in doc["findings"] if f["code"] in PACK_CODES]
            sub = c.post("/api/submissions", files={"file": (nat.name, nat.read_bytes(), "application/octet-stream")})
            assert sub.status_code == 201, sub.text
            assert sub.json()["total"] == pytest.approx(want["score_total"])
        with srv.client(reviewer) as c:
            summary = c.get("/api/summary").json()
        row, = summary["rows"]
        assert row["评分规则包"] == "national-framework" and row["投入"] is not None
        with logged_in(srv.url, "clerk-n") as c:  # the clerk's page: upload, the result names the pack
            page = c.get("/clerk").text
            r = c.post("/clerk/check", files={"file": (nat.name, nat.read_bytes())}, data={"csrf": _csrf(page)})
            assert r.status_code == 303
            assert re.search(r'id="pack">national-framework<', c.get("/clerk").text)
        with logged_in(srv.url, "boss-n") as c:  # the reviewer's page
            page = c.get("/review").text
        assert "national-framework" in page and "<th>投入</th>" in page
    except httpx.HTTPError:
        raise AssertionError(srv.log.read_text("utf-8", "replace")[-3000:])
    finally:
        srv.stop()
