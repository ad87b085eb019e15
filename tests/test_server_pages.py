"""The reviewer's pages and downloads over HTTP: filters, year-over-year, the diff, the zip of
everything and 汇总表.xlsx; the clerk's blank and carried-forward workbooks."""
from __future__ import annotations

import contextlib
import io
import json
import re
import zipfile

import httpx
import openpyxl
import pytest

from serverkit import DEPT_A, DEPT_B, PASSWORD, ROOT, SAMPLE_XLSX, make_server

from perfxl.template import build_workbook


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@contextlib.contextmanager
def _login(srv, who):
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        c.post("/login", data={"login": who, "password": PASSWORD, "csrf": _csrf(c.get("/login").text)})
        yield c


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    s = make_server(request, tmp_path_factory, "sqlite")
    tokens = {"a": s.user("clerk-a", "clerk", DEPT_A), "b": s.user("clerk-b", "clerk", DEPT_B)}
    s.user("boss", "reviewer")
    s.start()
    data = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
    prev = build_workbook(data, dept=DEPT_A, year=2022)
    weak = json.loads(json.dumps(data))
    weak["fields"]["issued_project"] = 6000  # a low spending rate: a lower score, another grade band
    with s.client(tokens["a"]) as a, s.client(tokens["b"]) as b:
        s.ids = {"prev": a.post("/api/submissions", files={"file": ("2022.xlsx", prev)}).json(),
                 "a": a.post("/api/submissions", files={"file": (SAMPLE_XLSX.name, SAMPLE_XLSX.read_bytes())}).json(),
                 "b": b.post("/api/submissions",
                             files={"file": ("b.xlsx", build_workbook(weak, dept=DEPT_B, year=2023))}).json()}
    yield s
    s.stop()


def test_summary_page_filters(srv):
    with _login(srv, "boss") as c:
        all_rows = c.get("/review").text
        assert DEPT_A in all_rows and DEPT_B in all_rows and "<svg" in all_rows
        grade_b = srv.ids["b"]["grade"]
        only = c.get("/review", params={"grade": grade_b, "year": "2023"}).text
        rows = re.findall(r'href="/review/dept\?dept=[^"]+">([^<]+)</a>', only)
        expected = {d for d, g in ((DEPT_A, srv.ids["a"]["grade"]), (DEPT_B, grade_b)) if g == grade_b}
        assert set(rows) == expected
        y2022 = c.get("/review", params={"year": "2022"}).text
        assert re.findall(r'href="/review/dept\?dept=[^"]+">([^<]+)</a>', y2022) == [DEPT_A]
        assert "还没有部门报送" in c.get("/review", params={"status": "无法读取"}).text


def test_year_over_year_and_diff(srv):
    with _login(srv, "boss") as c:
        page = c.get("/review/dept", params={"dept": DEPT_A}).text
        assert "2022" in page and "2023" in page
        delta = srv.ids["a"]["total"] - srv.ids["prev"]["total"]
        assert f"{delta:+.2f}" in page
        diff = c.get("/review/diff", params={"a": srv.ids["prev"]["id"], "b": srv.ids["a"]["id"]}).text
        assert "封面与基本信息!C6" in diff  # the year changed 2022 → 2023
        assert c.get("/review/diff", params={"a": 1, "b": 99999}).status_code == 404


def test_downloads_for_the_reviewer(srv):
    with _login(srv, "boss") as c:
        z = c.get("/review/export.zip", params={"year": "2023"})
        assert z.status_code == 200 and "filename*=UTF-8''" in z.headers["content-disposition"]
        names = zipfile.ZipFile(io.BytesIO(z.content)).namelist()
        assert "汇总表.xlsx" in names
        assert any(n.startswith(f"{DEPT_A}-2023-第1版/") and n.endswith("自评报告.docx") for n in names)
        assert any(n.startswith(f"{DEPT_B}-2023-") for n in names) and not any("2022" in n for n in names)
        x = c.get("/review/summary.xlsx")
        wb = openpyxl.load_workbook(io.BytesIO(x.content))
        assert wb.sheetnames[:2] == ["汇总", "抽查建议"]
        depts = {row[0] for row in wb["汇总"].iter_rows(min_row=2, values_only=True)}
        assert {DEPT_A, DEPT_B} <= depts


def test_clerk_blank_and_previous_workbook(srv):
    from perfxl import pipeline

    with _login(srv, "clerk-a") as c:
        page = c.get("/clerk").text
        blank = c.get("/clerk/blank", params={"year": "2024"})
        model = pipeline.load("blank.xlsx", blank.content)
        assert model.get("dept_name") == DEPT_A and model.get("fiscal_year") == 2024
        link = re.search(r'href="(/api/submissions/\d+/workbook\?original=1)" id="previous-link"', page).group(1)
        assert c.get(link).content == SAMPLE_XLSX.read_bytes()  # the newest year's submission
        carry = re.search(r'href="(/clerk/carry\?from=\d+)" id="carry-link"', page).group(1)
        nxt = c.get(carry)
        assert nxt.status_code == 200 and "filename*=UTF-8''" in nxt.headers["content-disposition"]
        model = pipeline.load("next.xlsx", nxt.content)
        assert model.get("fiscal_year") == 2024 and model.get("dept_name") == DEPT_A
        assert model.get("stock_prev") == pipeline.load(SAMPLE_XLSX.name, SAMPLE_XLSX.read_bytes()).get("stock_curr")
        assert c.get(f"/clerk/carry?from={srv.ids['b']['id']}").status_code == 404  # another department
        assert c.get("/review").status_code == 403
