"""``perfxl serve`` and ``perfxl user …``: argparse commands registered by :func:`register`."""
from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from ..errors import PerfxlError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from ..argparse_zh import ArgumentParser
    from .settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    from .settings import Settings

    return Settings.load(args.data, getattr(args, "db", None))


def _engine(args: argparse.Namespace) -> Engine:
    from . import db

    return db.connect(_settings(args).database_url)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    settings = _settings(args)
    app = create_app(settings)
    where = "PostgreSQL/外部数据库" if settings.db_url else f"SQLite {settings.database_url.removeprefix('sqlite:///')}"
    sys.stderr.write(f"perfxl 服务：http://{args.host}:{args.port}/ （数据：{settings.data_dir}；数据库：{where}）\n")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, proxy_headers=True,
                forwarded_allow_ips=args.forwarded_allow_ips, server_header=False,
                # longer than clients keep idle connections (node 4 s, browsers ~60 s): the server
                # never closes one a client is about to reuse
                timeout_keep_alive=75)
    return 0


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        pw = sys.stdin.readline().rstrip("\r\n")
    else:
        pw = getpass.getpass("密码：")
        if pw != getpass.getpass("再次输入密码："):
            raise PerfxlError("两次输入的密码不一致。")
    if len(pw) < 8:
        raise PerfxlError("密码至少 8 个字符。")
    return pw


def cmd_user_add(args: argparse.Namespace) -> int:
    from . import auth, db

    if args.role == "clerk" and not (args.dept or "").strip():
        raise PerfxlError("填报人员（clerk）必须用 --dept 指定所属部门名称（与工作簿中的部门名称一致）。")
    login = args.login.strip()
    if not login or len(login) > 64 or any(ch.isspace() for ch in login):
        raise PerfxlError("登录名不能为空、不能含空格，且不超过 64 个字符。")
    engine = _engine(args)
    pw = _read_password(args)
    if db.user_with_hash(engine, login) is not None:
        if not args.reset:
            raise PerfxlError(f"登录名“{login}”已存在（如需重设密码请加 --reset）。")
        db.set_password(engine, login, auth.hash_password(pw))
        print(f"已重设“{login}”的密码。")
        return 0
    db.add_user(engine, login, auth.hash_password(pw), args.role, (args.dept or "").strip() or None)
    role = "填报人员" if args.role == "clerk" else "审核人员"
    print(f"已创建账号“{login}”（{role}{'，部门：' + args.dept.strip() if args.dept else ''}）。")
    return 0


def cmd_user_token(args: argparse.Namespace) -> int:
    from . import auth, db

    engine = _engine(args)
    found = db.user_with_hash(engine, args.login)
    if found is None:
        raise PerfxlError(f"没有登录名为“{args.login}”的账号。")
    if found[0].disabled:
        raise PerfxlError(f"账号“{args.login}”已停用。")
    token = auth.new_token()
    db.add_token(engine, found[0].id, auth.token_hash(token))
    print(token)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from . import db

    for u in db.list_users(_engine(args)):
        state = "已停用" if u.disabled else "正常"
        print(f"{u.login}\t{u.role}\t{u.dept or '—'}\t{state}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    from . import db

    if not db.set_disabled(_engine(args), args.login, True):
        raise PerfxlError(f"没有登录名为“{args.login}”的账号。")
    print(f"已停用账号“{args.login}”（其 API 令牌同时作废）。")
    return 0


def register(sub: argparse._SubParsersAction[ArgumentParser]) -> None:
    """Add ``serve`` and ``user`` to the ``perfxl`` subcommands (``sub``: argparse subparsers)."""
    def data(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--data", required=True, metavar="DIR", help="数据文件夹（与 perfxl serve 的 --data 相同）")
        sp.add_argument("--db", metavar="URL", help="数据库地址（默认：DIR/perfxl.db 中的 SQLite）")

    sp = sub.add_parser("serve", help="启动财政局内网服务（网页 + API）",
                        description="启动财政局内网服务：各部门在浏览器中上传、校验、报送工作簿，财政局查看汇总。")
    sp.add_argument("--data", default="perfxl-data", metavar="DIR",
                    help="数据文件夹：数据库 perfxl.db 与报送文件 files/（默认：./perfxl-data）")
    sp.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1；内网访问用 0.0.0.0 或放在反向代理后）")
    sp.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    sp.add_argument("--db", metavar="URL", help="数据库地址，如 postgresql+psycopg://用户:密码@主机/库名（默认：SQLite）")
    sp.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                    help="日志级别（默认 info）")
    sp.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS",
                    help="信任其 X-Forwarded-* 头的反向代理地址（默认 127.0.0.1）")
    sp.set_defaults(func=cmd_serve)

    up = sub.add_parser("user", help="管理服务账号（新建、令牌、列表、停用）", description="管理 perfxl 服务的账号。")
    usub = up.add_subparsers(dest="user_command", required=True, metavar="操作")
    sp = usub.add_parser("add", help="新建账号", description="新建账号；密码从标准输入读取（--password-stdin）或交互输入。")
    sp.add_argument("login", help="登录名")
    sp.add_argument("--role", required=True, choices=["clerk", "reviewer"], help="clerk：部门填报人员；reviewer：财政局审核人员")
    sp.add_argument("--dept", metavar="部门名称", help="填报人员所属部门（须与工作簿“部门名称”一致）")
    sp.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    sp.add_argument("--reset", action="store_true", help="账号已存在时重设其密码")
    data(sp)
    sp.set_defaults(func=cmd_user_add)
    sp = usub.add_parser("token", help="为账号生成新的 API 令牌（只显示一次）", description="生成新的 API 令牌并打印；服务器只保存其哈希值。")
    sp.add_argument("login", help="登录名")
    data(sp)
    sp.set_defaults(func=cmd_user_token)
    sp = usub.add_parser("list", help="列出全部账号", description="列出全部账号：登录名、角色、部门、状态。")
    data(sp)
    sp.set_defaults(func=cmd_user_list)
    sp = usub.add_parser("disable", help="停用账号（其令牌同时作废）", description="停用账号，并作废其全部 API 令牌。")
    sp.add_argument("login", help="登录名")
    data(sp)
    sp.set_defaults(func=cmd_user_disable)
