"""Security and robustness of `perfxl serve` over HTTP: CSRF, login throttling, cookies, page
access by role, escaping of what clerks typed, safe download names, the per-job time limit,
and the add-in's snapshot endpoint."""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import re

import httpx
import pytest

from serverkit import DEPT_A, PASSWORD, ROOT, SAMPLE_XLSX, make_server

SAMPLE = SAMPLE_XLSX.read_bytes()


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    s = make_server(request, tmp_path_factory, "sqlite")
    s.tokens = {"a": s.user("clerk-a", "clerk", DEPT_A), "r": s.user("boss", "reviewer"),
                "x": s.user("clerk-x", "clerk", "<b>坏</b>部门")}
    s.user("victim", "clerk", DEPT_A)
    s.start()
    yield s
    s.stop()


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


@contextlib.contextmanager
def login(srv, who: str, password: str = PASSWORD):
    with httpx.Client(base_url=srv.url, timeout=120) as c:
        token = _csrf(c.get("/login").text)
        r = c.post("/login", data={"login": who, "password": password, "csrf": token})
        assert r.status_code == 303, r.text
        yield c


def test_login_needs_csrf_and_sets_a_protected_cookie(srv):
    with httpx.Client(base_url=srv.url) as c:
        c.get("/login")
        r = c.post("/login", data={"login": "clerk-a", "password": PASSWORD})
        assert r.status_code == 403 and "安全校验" in r.text
    with login(srv, "clerk-a") as c:
        page = c.get("/clerk")
        assert page.status_code == 200 and "检查工作簿" in page.text
    with httpx.Client(base_url=srv.url) as c:
        token = _csrf(c.get("/login").text)
        r = c.post("/login", data={"login": "clerk-a", "password": PASSWORD, "csrf": token})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie


def test_posts_without_csrf_are_refused(srv):
    with login(srv, "clerk-a") as c:
        r = c.post("/clerk/check", files={"file": ("a.xlsx", SAMPLE)})
        assert r.status_code == 403
        r = c.post("/clerk/submit", data={"csrf": "forged"})
        assert r.status_code == 403
        assert c.get("/api/submissions").json()["submissions"] == []


def test_failed_logins_are_throttled(srv):
    with httpx.Client(base_url=srv.url) as c:
        for _ in range(8):
            token = _csrf(c.get("/login").text)
            assert c.post("/login", data={"login": "victim", "password": "wrong-guess", "csrf": token}).status_code == 401
        token = _csrf(c.get("/login").text)
        r = c.post("/login", data={"login": "victim", "password": PASSWORD, "csrf": token})
        assert r.status_code == 429 and "5 分钟" in r.text


def test_pages_by_role(srv):
    with httpx.Client(base_url=srv.url) as anon:
        r = anon.get("/review")
        assert r.status_code == 303 and r.headers["location"] == "/login"
    with login(srv, "clerk-a") as c:
        assert c.get("/review").status_code == 403
        assert c.get("/review/export.zip").status_code == 403
        assert c.get("/api/summary").status_code == 403
    with login(srv, "boss") as r:
        assert r.get("/review").status_code == 200


def test_what_clerks_type_is_escaped(srv):
    from perfxl.template import build_workbook

    data = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
    wb = build_workbook(data, dept="<b>坏</b>部门", year=2023)
    with login(srv, "clerk-x") as c:
        page = c.get("/clerk").text
        assert "&lt;b&gt;坏&lt;/b&gt;部门" in page and "<b>坏</b>" not in page
        r = c.post("/clerk/check", files={"file": ("<img src=x onerror=alert(1)>.xlsx", wb)}, data={"csrf": _csrf(page)})
        assert r.status_code == 303
        html = c.get("/clerk").text
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;.xlsx" in html
        sub = c.post("/clerk/submit", data={"csrf": _csrf(html)})
        assert sub.status_code == 303
    with login(srv, "boss") as r:
        html = r.get("/review").text
        assert "<b>坏</b>" not in html and "&lt;b&gt;坏&lt;/b&gt;部门" in html


def test_download_names_are_safe(srv):
    with srv.client(srv.tokens["a"]) as c:
        r = c.post("/api/report", files={"file": ('a"b;\r\nX-Evil: 1 乐昌.xlsx', SAMPLE)})
    assert r.status_code == 200
    cd = r.headers["content-disposition"]
    assert "\r" not in cd and "\n" not in cd and "x-evil" not in {k.lower() for k in r.headers}
    assert cd.startswith("attachment; filename=\"") and "filename*=UTF-8''" in cd
    ascii_part = cd.split('filename="')[1].split('"')[0]
    assert ascii_part.isascii() and '"' not in ascii_part


def _snapshot(path) -> dict:
    """What the WPS add-in sends when it cannot read the file: names, tables and Value2 grids."""
    import openpyxl
    from python_calamine import CalamineWorkbook

    wb = openpyxl.load_workbook(path)
    cal = CalamineWorkbook.from_path(str(path))
    epoch = dt.datetime(1899, 12, 30)

    def value2(v):
        if isinstance(v, dt.datetime):
            return (v - epoch).total_seconds() / 86400
        if isinstance(v, dt.date):
            return (dt.datetime.combine(v, dt.time()) - epoch).days
        return None if v == "" else v

    grids = {}
    for name in wb.sheetnames:
        rows = cal.get_sheet_by_name(name).to_python(skip_empty_area=False)
        grids[name] = [[value2(v) for v in row] for row in rows]
    tables = {}
    for ws in wb.worksheets:
        for t in ws.tables.values():
            tables[t.name] = {"sheet": ws.title, "ref": t.ref, "totals": t.totalsRowCount or 0,
                              "headers": [c.name for c in t.tableColumns]}
    names = {n: d.attr_text for n, d in wb.defined_names.items()}
    return {"version": 1, "name": path.name, "sheets": wb.sheetnames, "names": names, "tables": tables,
            "grids": grids}


def test_check_snapshot_matches_check_of_the_file(srv):
    doc = _snapshot(SAMPLE_XLSX)
    with srv.client(srv.tokens["a"]) as c:
        snap = c.post("/api/check-snapshot", json=doc)
        file = c.post("/api/check", files={"file": (SAMPLE_XLSX.name, SAMPLE)})
        bad = c.post("/api/check-snapshot", content=b"{not json", headers={"Content-Type": "application/json"})
        wrong = c.post("/api/check-snapshot", json={"version": 99})
    assert snap.status_code == 200, snap.text
    assert snap.json()["total"] == pytest.approx(98.31) == file.json()["total"]
    assert [f["ref"] for f in snap.json()["findings"]] == [f["ref"] for f in file.json()["findings"]]
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    assert wrong.status_code == 400 and wrong.json()["error"]


def test_time_limit_stops_the_job_and_the_service_recovers(request, tmp_path_factory):
    s = make_server(request, tmp_path_factory, "sqlite", env={"PERFXL_TIME_LIMIT": "0.001"})
    token = s.user("clerk-t", "clerk", DEPT_A)
    s.start()
    try:
        with s.client(token) as c:
            for _ in range(3):
                r = c.post("/api/check", files={"file": ("a.xlsx", SAMPLE)})
                assert r.status_code == 400 and "超时" in r.json()["error"]
            assert c.get("/healthz").status_code == 200
    finally:
        s.stop()
    assert "Traceback" not in s.log.read_text("utf-8", "replace")
