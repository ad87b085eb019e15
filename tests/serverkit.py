"""Run the real `perfxl serve` (uvicorn, a free port) for the server tests, on SQLite or on a
real PostgreSQL (``PERFXL_TEST_PG``: a URL, or ``unavailable`` to skip; unset: the tests start
a throwaway cluster with scripts/pg.sh)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_XLSX = ROOT / "samples" / "乐昌市民政局-2023.xlsx"
PASSWORD = "correct-horse-9"
DEPT_A, DEPT_B = "乐昌市民政局", "乐昌市财政局"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def perfxl(*args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "perfxl", *args], input=stdin, capture_output=True, text=True,
                       env=env, cwd=ROOT, timeout=120)
    if check and p.returncode:
        raise AssertionError(f"perfxl {' '.join(args)} failed: {p.stderr}")
    return p


class Server:
    """One `perfxl serve` process; ``restart()`` keeps its data dir and database."""

    def __init__(self, data: Path, db_url: str | None = None, env: dict | None = None):
        self.data, self.db_url, self.env = data, db_url, env or {}
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = data.parent / f"{data.name}-server.log"

    def db_args(self) -> list[str]:
        return ["--data", str(self.data)] + (["--db", self.db_url] if self.db_url else [])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Server":
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PERFXL_WORKERS": "2", **self.env}
        self._logf = open(self.log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "perfxl", "serve", "--port", str(self.port),
                                      "--log-level", "warning", *self.db_args()],
                                     stdout=self._logf, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text('utf-8', 'replace')[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "_logf", None):
            self._logf.close()

    def restart(self) -> "Server":
        self.stop()
        return self.start()

    def user(self, login: str, role: str, dept: str | None = None) -> str:
        """Create an account and return a new API token for it."""
        args = ["user", "add", login, "--role", role, "--password-stdin", *self.db_args()]
        if dept:
            args += ["--dept", dept]
        perfxl(*args, stdin=PASSWORD + "\n")
        return perfxl("user", "token", login, *self.db_args()).stdout.strip()

    def client(self, token: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **kw)


# ---- PostgreSQL ---------------------------------------------------------------------------------

_PG: dict = {}


def pg_base_url(tmp_factory) -> str:
    """The PostgreSQL server to test against (started once per session when not given)."""
    given = os.environ.get("PERFXL_TEST_PG", "").strip()
    if given.lower() == "unavailable":
        pytest.skip("PERFXL_TEST_PG=unavailable: PostgreSQL tests skipped on request")
    if given:
        return given
    if "url" not in _PG:
        import tempfile

        d = tempfile.mkdtemp(prefix="perfxl-pg.")  # not under pytest's 0700 tree: postgres must reach it
        p = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start", str(d)], capture_output=True, text=True,
                           timeout=120)
        if p.returncode:
            raise AssertionError(f"could not start PostgreSQL (set PERFXL_TEST_PG): {p.stderr}")
        _PG.update(url=p.stdout.strip().splitlines()[-1], dir=str(d))
    return _PG["url"]


def stop_pg() -> None:
    if "dir" in _PG:
        import shutil

        d = _PG.pop("dir")
        subprocess.run([str(ROOT / "scripts" / "pg.sh"), "stop", d], capture_output=True, timeout=60)
        shutil.rmtree(d, ignore_errors=True)
        _PG.clear()


def fresh_database(base_url: str) -> str:
    """A new empty database on the server of ``base_url``; its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    from perfxl.server.db import normalise_url

    url = make_url(normalise_url(base_url))
    name = "perfxl_t_" + uuid.uuid4().hex[:10]
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory):
    url = pg_base_url(tmp_path_factory)
    yield url
    stop_pg()


def make_server(request, tmp_path_factory, backend: str, env: dict | None = None) -> Server:
    db_url = None
    if backend == "postgresql":
        db_url = fresh_database(request.getfixturevalue("pg_url"))
    data = tmp_path_factory.mktemp(f"serve-{backend}")
    return Server(data / "data", db_url, env)
