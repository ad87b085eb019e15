"""Concurrent submissions all land with distinct versions; a restart loses nothing (SQLite and
PostgreSQL, real server over HTTP)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from serverkit import DEPT_A, DEPT_B, ROOT, SAMPLE_XLSX, make_server, pg_url  # noqa: F401 - fixture

from perfxl.template import build_workbook


@pytest.fixture(params=["sqlite", "postgresql"])
def srv(request, tmp_path_factory):
    s = make_server(request, tmp_path_factory, request.param)
    s.tokens = {"a": s.user("clerk-a", "clerk", DEPT_A), "b": s.user("clerk-b", "clerk", DEPT_B),
                "r": s.user("boss", "reviewer")}
    s.start()
    yield s
    s.stop()


def test_twenty_concurrent_submissions_then_restart(srv):
    import json

    data_a = SAMPLE_XLSX.read_bytes()
    sample = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
    data_b = build_workbook(sample, dept=DEPT_B, year=2023)

    def submit(i: int):
        who, data = ("a", data_a) if i % 2 else ("b", data_b)
        with srv.client(srv.tokens[who]) as c:
            r = c.post("/api/submissions", files={"file": (f"报送-{i}.xlsx", data)})
        return r.status_code, r.json()

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(submit, range(20)))
    assert [code for code, _ in results] == [201] * 20, results
    for dept in (DEPT_A, DEPT_B):
        versions = sorted(doc["version"] for _, doc in results if doc["dept"] == dept)
        assert versions == list(range(1, 11)), (dept, versions)

    with srv.client(srv.tokens["r"]) as c:
        before = c.get("/api/submissions").json()["submissions"]
        summary_before = c.get("/api/summary").json()["rows"]
    srv.restart()
    with srv.client(srv.tokens["r"]) as c:
        after = c.get("/api/submissions").json()["submissions"]
        strip = lambda rows: [{k: v for k, v in r.items() if k != "pdf_state"} for r in rows]  # noqa: E731
        assert strip(after) == strip(before) and len(after) == 20
        assert c.get("/api/summary").json()["rows"] == summary_before
        for s in after[:3]:
            wb = c.get(f"/api/submissions/{s['id']}/workbook?original=1")
            assert wb.status_code == 200
            assert wb.content in (data_a, data_b)
