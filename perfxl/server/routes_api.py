"""The JSON API (``/api/…``) and ``/healthz``: small functions over :mod:`.service`."""
from __future__ import annotations

import datetime as dt

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .. import __version__
from . import db, editwire, jobs, service
from .web import DOCX, PDF, XLSM, XLSX, ApiError, api_user, download, read_upload, state


async def healthz(request: Request) -> Response:
    from sqlalchemy import text

    def ping() -> None:
        with state(request).engine.connect() as c:
            c.execute(text("SELECT 1"))

    await run_in_threadpool(ping)
    return JSONResponse({"status": "ok", "version": __version__})


async def api_check(request: Request) -> Response:
    await api_user(request)
    data, name, _ = await read_upload(request)
    out = await service.check(state(request), data, name)
    edits = out.pop("_edits")
    if request.query_params.get("format") == "lines":
        return PlainTextResponse(editwire.edits_lines(edits, out.get("messages")), media_type="text/plain; charset=utf-8")
    return JSONResponse(out)


async def api_check_snapshot(request: Request) -> Response:
    import json

    await api_user(request)
    body = await request.body()
    if len(body) > state(request).settings.max_upload:
        raise ApiError(413, "工作簿内容超过上传上限。")
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "请求内容不是 JSON：加载项应发送工作簿的对象模型快照。") from None
    out = await service.run_job(state(request), jobs.check_snapshot, doc)
    edits = out.pop("_edits")
    if request.query_params.get("format") == "lines":
        return PlainTextResponse(editwire.edits_lines(edits, out.get("messages")), media_type="text/plain; charset=utf-8")
    return JSONResponse(out)


async def api_report(request: Request) -> Response:
    await api_user(request)
    data, name, _ = await read_upload(request)
    out = await service.report(state(request), data, name)
    stem = name.rsplit(".", 1)[0]
    return download(out["docx"], f"{stem}-自评报告.docx", DOCX)


async def api_submit(request: Request) -> Response:
    user = await api_user(request)
    data, name, _ = await read_upload(request)
    row = await service.submit(state(request), user, data, name)
    return JSONResponse(row, status_code=201, headers={"Location": f"/api/submissions/{row['id']}"})


def _listed(row: dict) -> dict:
    out = {k: row[k] for k in ("id", "dept", "year", "version", "filename", "total", "grade", "errors",
                               "warnings", "pdf_state")}
    out["created_at"] = row["created_at"].isoformat() + "Z" if isinstance(row["created_at"], dt.datetime) else row["created_at"]
    return out


async def api_list(request: Request) -> Response:
    user = await api_user(request)
    rows = await run_in_threadpool(db.list_submissions, state(request).engine, user)
    return JSONResponse({"submissions": [_listed(r) for r in rows]})


async def _visible(request: Request) -> dict:
    user = await api_user(request)
    sid = request.path_params["sid"]
    row = await run_in_threadpool(db.get_submission, state(request).engine, sid, user)
    if row is None:  # missing and not-yours look the same: no probing of other departments
        raise ApiError(404, f"找不到编号为 {sid} 的报送记录（或无权查看）。")
    return row


async def api_get(request: Request) -> Response:
    row = await _visible(request)
    res = row["result"]
    body = _listed(row)
    body.update({k: res.get(k) for k in ("score_base", "score_bonus", "indicators", "rates", "infos", "findings")})
    body["summary_row"] = res.get("row")
    return JSONResponse(body)


def _stem(row: dict) -> str:
    return f"{row['dept']}-{row['year']}-第{row['version']}版"


async def api_workbook(request: Request) -> Response:
    row = await _visible(request)
    original = request.query_params.get("original") == "1"
    sha = row["workbook_sha"] if original or not row["marked_sha"] else row["marked_sha"]
    data = await run_in_threadpool(state(request).storage.get, sha)
    xlsm = row["filename"].lower().endswith(".xlsm")
    suffix = ".xlsm" if xlsm else ".xlsx"
    name = f"{_stem(row)}{'' if original else '-已评分'}{suffix}"
    return download(data, name, XLSM if xlsm else XLSX)


async def api_report_file(request: Request) -> Response:
    row = await _visible(request)
    if not row["report_sha"]:
        raise ApiError(404, "该版本没有生成自评报告。")
    data = await run_in_threadpool(state(request).storage.get, row["report_sha"])
    return download(data, f"{_stem(row)}-自评报告.docx", DOCX)


async def api_pdf(request: Request) -> Response:
    row = await _visible(request)
    if row["pdf_state"] == "pending":
        return JSONResponse({"status": "pending", "message": "PDF 正在后台生成，请稍后再试。"}, status_code=202,
                            headers={"Retry-After": "5"})
    if row["pdf_state"] != "done" or not row["pdf_sha"]:
        raise ApiError(404, "该版本的 PDF 未能生成（服务器未安装 LibreOffice 或转换失败），请下载 Word 报告。")
    data = await run_in_threadpool(state(request).storage.get, row["pdf_sha"])
    return download(data, f"{_stem(row)}-自评报告.pdf", PDF)


async def api_summary(request: Request) -> Response:
    from .summaryview import summary_document

    await api_user(request, reviewer=True)
    year = request.query_params.get("year")
    doc = await run_in_threadpool(summary_document, state(request).engine,
                                  int(year) if year and year.isdigit() else None)
    return JSONResponse(doc)


routes = [
    Route("/healthz", healthz),
    Route("/api/check", api_check, methods=["POST"]),
    Route("/api/check-snapshot", api_check_snapshot, methods=["POST"]),
    Route("/api/report", api_report, methods=["POST"]),
    Route("/api/submissions", api_submit, methods=["POST"]),
    Route("/api/submissions", api_list, methods=["GET"]),
    Route("/api/submissions/{sid:int}", api_get),
    Route("/api/submissions/{sid:int}/workbook", api_workbook),
    Route("/api/submissions/{sid:int}/report", api_report_file),
    Route("/api/submissions/{sid:int}/pdf", api_pdf),
    Route("/api/summary", api_summary),
]
