"""`perfxl user …` and `perfxl serve --help`: Chinese messages, exit codes, what is stored."""
from __future__ import annotations

from serverkit import perfxl


def test_user_commands(tmp_path):
    d = ["--data", str(tmp_path / "data")]
    p = perfxl("user", "add", "li", "--role", "clerk", "--password-stdin", *d, stdin="long-enough-1\n", check=False)
    assert p.returncode == 2 and "--dept" in p.stderr and "Traceback" not in p.stderr
    p = perfxl("user", "add", "li", "--role", "clerk", "--dept", "乐昌市民政局", "--password-stdin", *d,
               stdin="short\n", check=False)
    assert p.returncode == 2 and "至少 8" in p.stderr
    assert "已创建账号" in perfxl("user", "add", "li", "--role", "clerk", "--dept", "乐昌市民政局",
                                  "--password-stdin", *d, stdin="long-enough-1\n").stdout
    p = perfxl("user", "add", "li", "--role", "clerk", "--dept", "乐昌市民政局", "--password-stdin", *d,
               stdin="long-enough-2\n", check=False)
    assert p.returncode == 2 and "已存在" in p.stderr
    assert "重设" in perfxl("user", "add", "li", "--role", "clerk", "--dept", "乐昌市民政局", "--reset",
                            "--password-stdin", *d, stdin="long-enough-2\n").stdout
    t1, t2 = (perfxl("user", "token", "li", *d).stdout.strip() for _ in range(2))
    assert t1 != t2 and t1.startswith("pxl_") and len(t1) > 40
    assert perfxl("user", "list", *d).stdout.split("\t")[:3] == ["li", "clerk", "乐昌市民政局"]
    assert "已停用" in perfxl("user", "disable", "li", *d).stdout
    p = perfxl("user", "token", "li", *d, check=False)
    assert p.returncode == 2 and "停用" in p.stderr
    p = perfxl("user", "disable", "nobody", *d, check=False)
    assert p.returncode == 2 and "nobody" in p.stderr
    key = tmp_path / "data" / "secret.key"
    assert key.stat().st_mode & 0o077 == 0


def test_serve_help_is_chinese():
    out = perfxl("serve", "--help").stdout
    assert "数据文件夹" in out and "--db" in out and "端口" in out


def test_postgres_urls_use_psycopg3():
    from perfxl.server.db import normalise_url

    assert normalise_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalise_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
