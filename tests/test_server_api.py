"""The JSON API of `perfxl serve`, driven over HTTP against the real server (uvicorn), on the
embedded SQLite database and on a real PostgreSQL."""
from __future__ import annotations

import io
import re
import zipfile

import pytest

from serverkit import DEPT_A, DEPT_B, SAMPLE_XLSX, make_server, pg_url  # noqa: F401 - pg_url is a fixture

from perfxl.template import build_workbook


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    s = make_server(request, tmp_path_factory, request.param)
    s.tokens = {"a": s.user("clerk-a", "clerk", DEPT_A), "b": s.user("clerk-b", "clerk", DEPT_B),
                "r": s.user("boss", "reviewer")}
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def dept_b_workbook(sample_data):
    return build_workbook(sample_data, dept=DEPT_B, year=2023)


@pytest.fixture(scope="session")
def sample_data():
    import json

    from serverkit import ROOT

    return json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))


def upload(client, path, data: bytes, name: str = "工作簿.xlsx", **kw):
    return client.post(path, files={"file": (name, data, "application/octet-stream")}, **kw)


SAMPLE = SAMPLE_XLSX.read_bytes()


def test_healthz(srv):
    with srv.client() as c:
        r = c.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_check_returns_full_result_and_the_pipelines_edits(srv):
    from perfxl import pipeline
    from perfxl.server import editwire

    with srv.client(srv.tokens["a"]) as c:
        r = upload(c, "/api/check", SAMPLE, SAMPLE_XLSX.name)
        lines = upload(c, "/api/check?format=lines", SAMPLE, SAMPLE_XLSX.name)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["total"] == pytest.approx(98.31) and doc["grade"] == "优"
    assert doc["dept"] == DEPT_A and doc["year"] == 2023
    assert doc["rates"]["rate_spending"] == pytest.approx(0.7712, abs=1e-4)
    assert doc["findings"] and all(re.fullmatch(r"[^!]+(![A-Z]+[0-9]+)?", f["ref"]) for f in doc["findings"])
    assert {f["severity"] for f in doc["findings"]} <= {"错误", "警告", "提示"}
    # the edits are exactly what the one pipeline gives the CLI for this workbook
    analysis = pipeline.analyse(pipeline.load(SAMPLE_XLSX.name, SAMPLE))
    from perfxl.edits import PRESENTATION

    expected = [e for e in pipeline.workbook_edits(analysis, analysis.pack, score=True, mark=True)
                if not isinstance(e, PRESENTATION)]  # formats and page setup are for the saved file only
    assert [editwire.from_json(e) for e in doc["edits"]] == expected
    assert lines.status_code == 200 and lines.headers["content-type"].startswith("text/plain")
    assert editwire.parse_lines(lines.text) == expected


def test_check_and_report_store_nothing(srv):
    files_before = sorted(p.name for p in (srv.data / "files").rglob("*"))
    with srv.client(srv.tokens["r"]) as c:
        before = c.get("/api/submissions").json()
        assert upload(c, "/api/check", SAMPLE).status_code == 200
        rep = upload(c, "/api/report", SAMPLE, "乐昌.xlsx")
        after = c.get("/api/submissions").json()
    assert before == after
    assert sorted(p.name for p in (srv.data / "files").rglob("*")) == files_before
    assert rep.status_code == 200, rep.text
    assert rep.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")
    assert "filename*=UTF-8''" in rep.headers["content-disposition"]
    doc = zipfile.ZipFile(io.BytesIO(rep.content)).read("word/document.xml").decode("utf-8")
    assert DEPT_A in doc and "98.31" in doc


def test_submission_lifecycle(srv):
    with srv.client(srv.tokens["a"]) as c:
        first = upload(c, "/api/submissions", SAMPLE, SAMPLE_XLSX.name)
        second = upload(c, "/api/submissions", SAMPLE, SAMPLE_XLSX.name)
        assert first.status_code == 201, first.text
        a, b = first.json(), second.json()
        assert set(a) == {"id", "dept", "year", "version", "total", "grade", "errors", "warnings"}
        assert (a["dept"], a["year"], a["grade"]) == (DEPT_A, 2023, "优") and a["total"] == pytest.approx(98.31)
        assert b["version"] == a["version"] + 1
        listed = c.get("/api/submissions").json()["submissions"]
        assert {a["id"], b["id"]} <= {s["id"] for s in listed}
        one = c.get(f"/api/submissions/{a['id']}").json()
        assert one["findings"] and one["findings"][0]["ref"]
        wb = c.get(f"/api/submissions/{a['id']}/workbook")
        assert wb.status_code == 200 and wb.content[:2] == b"PK"
        assert "filename*=UTF-8''" in wb.headers["content-disposition"]
        names = zipfile.ZipFile(io.BytesIO(wb.content)).namelist()
        assert "xl/workbook.xml" in names and wb.content != SAMPLE  # marked and scored copy
        orig = c.get(f"/api/submissions/{a['id']}/workbook?original=1")
        assert orig.content == SAMPLE
        rep = c.get(f"/api/submissions/{a['id']}/report")
        assert rep.status_code == 200 and rep.content[:2] == b"PK"
        pdf = c.get(f"/api/submissions/{a['id']}/pdf")
        assert pdf.status_code in (200, 202, 404)
        if pdf.status_code == 202:
            assert pdf.json()["status"] == "pending"


def test_pdf_arrives_in_the_background(srv):
    import shutil
    import time

    if not shutil.which("soffice"):
        pytest.skip("LibreOffice missing")
    with srv.client(srv.tokens["a"]) as c:
        sid = upload(c, "/api/submissions", SAMPLE, SAMPLE_XLSX.name).json()["id"]
        t0 = time.monotonic()
        assert c.get("/healthz").status_code == 200 and time.monotonic() - t0 < 2  # not blocked
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            r = c.get(f"/api/submissions/{sid}/pdf")
            if r.status_code != 202:
                break
            time.sleep(1)
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"


def test_departments_are_isolated(srv, dept_b_workbook):
    with srv.client(srv.tokens["a"]) as a, srv.client(srv.tokens["b"]) as b, srv.client(srv.tokens["r"]) as r:
        mine = upload(a, "/api/submissions", SAMPLE).json()["id"]
        refused = upload(b, "/api/submissions", SAMPLE)
        assert refused.status_code == 403
        assert DEPT_A in refused.json()["error"] and DEPT_B in refused.json()["error"]
        theirs = upload(b, "/api/submissions", dept_b_workbook, "财政局.xlsx")
        assert theirs.status_code == 201 and theirs.json()["dept"] == DEPT_B
        for path in ("", "/workbook", "/report", "/pdf"):
            assert b.get(f"/api/submissions/{mine}{path}").status_code == 404
        assert {s["dept"] for s in b.get("/api/submissions").json()["submissions"]} == {DEPT_B}
        assert b.get("/api/summary").status_code == 403
        assert r.get(f"/api/submissions/{mine}").status_code == 200
        assert {s["dept"] for s in r.get("/api/submissions").json()["submissions"]} >= {DEPT_A, DEPT_B}
        summary = r.get("/api/summary").json()
    rows = {row["部门名称"]: row for row in summary["rows"]}
    assert set(rows) >= {DEPT_A, DEPT_B}
    assert rows[DEPT_A]["总分"] == pytest.approx(98.31) and rows[DEPT_A]["状态"] in ("成功", "有错误")
    assert summary["抽查建议"] and "风险分" in summary["抽查建议"][0]


def test_auth_errors(srv):
    with srv.client() as anon, srv.client("pxl_not-a-token") as bad:
        assert anon.get("/api/submissions").status_code == 401
        assert upload(anon, "/api/check", SAMPLE).status_code == 401
        r = bad.get("/api/submissions")
        assert r.status_code == 401 and "令牌" in r.json()["error"]
        assert anon.get("/api/submissions", headers={"Authorization": "Basic eDp5"}).status_code == 401
    token = srv.user("leaver", "clerk", DEPT_A)
    with srv.client(token) as c:
        assert c.get("/api/submissions").status_code == 200
        from serverkit import perfxl

        perfxl("user", "disable", "leaver", *srv.db_args())
        assert c.get("/api/submissions").status_code == 401
    listing = perfxl("user", "list", *srv.db_args()).stdout
    assert "leaver" in listing and "已停用" in listing


def test_tokens_are_stored_only_as_hashes(srv):
    from sqlalchemy import create_engine, text

    from perfxl.server.db import normalise_url

    url = normalise_url(srv.db_url) if srv.db_url else f"sqlite:///{srv.data / 'perfxl.db'}"
    engine = create_engine(url)
    with engine.connect() as c:
        stored = [r[0] for r in c.execute(text("SELECT token_hash FROM tokens"))]
        pw = [r[0] for r in c.execute(text("SELECT password_hash FROM users"))]
    engine.dispose()
    assert srv.tokens["a"] not in stored and all(len(h) == 64 for h in stored)
    assert all(h.startswith("$argon2id$") for h in pw)


def _unreadable_cases():
    from test_unreadable import CASES, EXPECT

    return CASES, EXPECT


@pytest.mark.parametrize("kind", list(_unreadable_cases()[0]))
def test_unreadable_uploads_are_400(srv, tmp_path, kind):
    cases, expect = _unreadable_cases()
    data = cases[kind](tmp_path)
    with srv.client(srv.tokens["a"]) as c:
        for path in ("/api/check", "/api/report", "/api/submissions"):
            r = upload(c, path, data, f"坏-{kind}.xlsx")
            assert r.status_code == 400, (path, r.status_code, r.text)
            assert expect[kind] in r.json()["error"] and f"坏-{kind}.xlsx" in r.json()["error"]


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


NOT_WORKBOOKS = {
    "word-document": ("报告.docx", lambda: _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<w/>"})),
    "pdf": ("报告.pdf", lambda: b"%PDF-1.7\n" + b"0" * 100),
    "png-named-xlsx": ("图.xlsx", lambda: b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    "text-file": ("说明.txt", lambda: "文字".encode("utf-8")),
}


@pytest.mark.parametrize("kind", list(NOT_WORKBOOKS))
def test_not_a_workbook_is_415(srv, kind):
    name, make = NOT_WORKBOOKS[kind]
    with srv.client(srv.tokens["a"]) as c:
        r = upload(c, "/api/check", make(), name)
    assert r.status_code == 415 and "不是 Excel 工作簿" in r.json()["error"]


def test_oversize_and_bombs_are_413(srv):
    big = b"PK\x03\x04" + b"\0" * (21 * 1024 * 1024)
    many = _zip({f"xl/p{i}.xml": b"" for i in range(2500)})
    bomb = _zip({"xl/workbook.xml": b"<w/>", "xl/worksheets/sheet1.xml": b" " * (300 * 1024 * 1024)})
    with srv.client(srv.tokens["a"]) as c:
        for data in (big, many, bomb):
            r = upload(c, "/api/check", data, "大.xlsx")
            assert r.status_code == 413, r.text
            assert "上限" in r.json()["error"] or "压缩比" in r.json()["error"]
        assert c.get("/healthz").status_code == 200


def test_malformed_requests_are_json_errors(srv):
    with srv.client(srv.tokens["a"]) as c:
        no_file = c.post("/api/check", data={"x": "1"})
        not_multipart = c.post("/api/check", content=b"abc", headers={"Content-Type": "application/json"})
        missing = c.get("/api/submissions/999999")
        unknown = c.get("/api/nothing-here")
    for r, code in ((no_file, 400), (not_multipart, 400), (missing, 404), (unknown, 404)):
        assert r.status_code == code and r.json()["error"]
        assert "Traceback" not in r.text


def test_security_headers_and_no_file_serving(srv):
    with srv.client() as c:
        for path in ("/healthz", "/login", "/static/style.css"):
            r = c.get(path)
            assert r.headers["x-content-type-options"] == "nosniff", path
        assert "frame-ancestors 'none'" in c.get("/login").headers["content-security-policy"]
        for path in ("/files/", "/static/", "/static/../perfxl.db", "/static/%2e%2e/settings.py", "/perfxl.db",
                     "/secret.key"):
            r = c.get(path)
            assert r.status_code == 404, path
            assert b"perfxl.db" not in r.content and b"<li>" not in r.content


@pytest.mark.parametrize("field,value,expect", [("fiscal_year", 99999, "年度"), ("dept_name", "局" * 300, "部门名称"),
                                                ("fiscal_year", None, "年度")],
                         ids=["absurd-year", "long-dept", "no-year"])
def test_submissions_need_a_sane_department_and_year(srv, sample_data, field, value, expect):
    import copy

    data = copy.deepcopy(sample_data)
    data["fields"][field] = value
    wb = build_workbook(data)
    with srv.client(srv.tokens["r"]) as c:
        r = upload(c, "/api/submissions", wb, "怪.xlsx")
    assert r.status_code == 400 and expect in r.json()["error"], r.text
