"""The service's tables and every query it runs (SQLAlchemy Core, bound parameters only).

The same statements run on the embedded SQLite database and on PostgreSQL.  A submission row
keeps the hashes of its stored files and the JSON result of the pipeline; the files themselves
live in :mod:`.storage`.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (Boolean, Column, DateTime, Float, ForeignKey, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, create_engine, event, func, insert, select, update)
from sqlalchemy.engine import CursorResult, Engine, Row
from sqlalchemy.sql import Select
from sqlalchemy.exc import IntegrityError, OperationalError

metadata = MetaData()

users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("dept", String(200)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime, nullable=False),
)

tokens = Table(
    "tokens", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime, nullable=False),
)

submissions = Table(
    "submissions", metadata,
    Column("id", Integer, primary_key=True),
    Column("dept", String(200), nullable=False, index=True),
    Column("year", Integer, nullable=False),
    Column("version", Integer, nullable=False),
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("workbook_sha", String(64), nullable=False),
    Column("marked_sha", String(64)),
    Column("report_sha", String(64)),
    Column("pdf_sha", String(64)),
    Column("pdf_state", String(16), nullable=False, default="pending"),
    Column("total", Float),
    Column("grade", String(8)),
    Column("errors", Integer, nullable=False, default=0),
    Column("warnings", Integer, nullable=False, default=0),
    Column("result", Text, nullable=False),
    UniqueConstraint("dept", "year", "version", name="uq_submission_version"),
)

ROLES = ("clerk", "reviewer")


def normalise_url(url: str) -> str:
    """``postgresql://…`` means psycopg 3 (the driver perfxl declares), not psycopg2."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def connect(url: str) -> Engine:
    """An engine with the schema created; SQLite in WAL mode with a generous lock timeout."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(conn: Any, _record: Any) -> None:  # DBAPI connection, SQLAlchemy record
            cur = conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    metadata.create_all(engine)
    return engine


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


# ---- users and tokens ------------------------------------------------------------------------

@dataclass(frozen=True)
class User:
    id: int
    login: str
    role: str
    dept: str | None
    disabled: bool

    @property
    def reviewer(self) -> bool:
        return self.role == "reviewer"


def _user(row: Row[Any]) -> User:
    return User(row.id, row.login, row.role, row.dept, bool(row.disabled))


def _maybe_user(row: Row[Any] | None) -> User | None:
    return None if row is None else _user(row)


def _inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT just added."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("INSERT returned no primary key")
    return int(key[0])


def add_user(engine: Engine, login: str, password_hash: str, role: str, dept: str | None) -> User:
    with engine.begin() as c:
        uid = _inserted_id(c.execute(insert(users).values(login=login, password_hash=password_hash, role=role,
                                                          dept=dept, disabled=False, created_at=now())))
    return User(uid, login, role, dept, False)


def user_with_hash(engine: Engine, login: str) -> tuple[User, str] | None:
    with engine.connect() as c:
        row = c.execute(select(users).where(users.c.login == login)).first()
    return None if row is None else (_user(row), row.password_hash)


def get_user(engine: Engine, uid: int) -> User | None:
    with engine.connect() as c:
        return _maybe_user(c.execute(select(users).where(users.c.id == uid)).first())


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as c:
        return [_user(r) for r in c.execute(select(users).order_by(users.c.login))]


def set_disabled(engine: Engine, login: str, disabled: bool = True) -> bool:
    with engine.begin() as c:
        n = c.execute(update(users).where(users.c.login == login).values(disabled=disabled)).rowcount
        if n and disabled:
            uid = c.execute(select(users.c.id).where(users.c.login == login)).scalar_one()
            c.execute(tokens.delete().where(tokens.c.user_id == uid))
    return bool(n)


def set_password(engine: Engine, login: str, password_hash: str) -> bool:
    with engine.begin() as c:
        return bool(c.execute(update(users).where(users.c.login == login)
                              .values(password_hash=password_hash)).rowcount)


def add_token(engine: Engine, uid: int, token_hash: str) -> None:
    with engine.begin() as c:
        c.execute(insert(tokens).values(user_id=uid, token_hash=token_hash, created_at=now()))


def user_by_token(engine: Engine, token_hash: str) -> User | None:
    with engine.connect() as c:
        row = c.execute(select(users).join(tokens, tokens.c.user_id == users.c.id)
                        .where(tokens.c.token_hash == token_hash)).first()
    return _maybe_user(row)


# ---- submissions -----------------------------------------------------------------------------

SUMMARY_COLUMNS = (submissions.c.id, submissions.c.dept, submissions.c.year, submissions.c.version,
                   submissions.c.created_at, submissions.c.filename, submissions.c.total, submissions.c.grade,
                   submissions.c.errors, submissions.c.warnings, submissions.c.pdf_state, submissions.c.user_id)


def add_submission(engine: Engine, *, dept: str, year: int, user_id: int, filename: str, workbook_sha: str,
                   marked_sha: str | None, report_sha: str | None, total: float | None, grade: str | None,
                   errors: int, warnings: int, result: dict, pdf_state: str) -> dict:
    """Insert a new version of (dept, year); the version number is the next free one.

    Two clerks submitting at once may compute the same number: the unique constraint refuses
    the second insert and it retries with the next number.
    """
    body = json.dumps(result, ensure_ascii=False)
    for _attempt in range(50):
        try:
            with engine.begin() as c:
                version = c.execute(select(func.coalesce(func.max(submissions.c.version), 0) + 1)
                                    .where(submissions.c.dept == dept, submissions.c.year == year)).scalar_one()
                sid = _inserted_id(c.execute(insert(submissions).values(
                    dept=dept, year=year, version=version, user_id=user_id, created_at=now(), filename=filename,
                    workbook_sha=workbook_sha, marked_sha=marked_sha, report_sha=report_sha, pdf_sha=None,
                    pdf_state=pdf_state, total=total, grade=grade, errors=errors, warnings=warnings,
                    result=body)))
            return {"id": sid, "dept": dept, "year": year, "version": version, "total": total, "grade": grade,
                    "errors": errors, "warnings": warnings}
        except (IntegrityError, OperationalError):
            import random
            import time

            time.sleep(random.uniform(0.01, 0.1))
    raise RuntimeError("could not allocate a submission version")


def _visible(stmt: Select[Any], user: User) -> Select[Any]:
    return stmt if user.reviewer else stmt.where(submissions.c.dept == (user.dept or ""))


def list_submissions(engine: Engine, user: User, dept: str | None = None, year: int | None = None) -> list[dict]:
    stmt = _visible(select(*SUMMARY_COLUMNS), user)
    if dept is not None:
        stmt = stmt.where(submissions.c.dept == dept)
    if year is not None:
        stmt = stmt.where(submissions.c.year == year)
    stmt = stmt.order_by(submissions.c.dept, submissions.c.year.desc(), submissions.c.version.desc())
    with engine.connect() as c:
        return [dict(r._mapping) for r in c.execute(stmt)]


def get_submission(engine: Engine, sid: int, user: User) -> dict | None:
    """The full row (with ``result`` parsed), or ``None`` if missing or not visible to ``user``."""
    with engine.connect() as c:
        row = c.execute(_visible(select(submissions), user).where(submissions.c.id == sid)).first()
    if row is None:
        return None
    d = dict(row._mapping)
    d["result"] = json.loads(d["result"])
    return d


def latest(engine: Engine, year: int | None = None) -> list[dict]:
    """The latest version of every (dept, year), with ``result`` parsed, by dept then year."""
    newest = (select(submissions.c.dept, submissions.c.year, func.max(submissions.c.version).label("v"))
              .group_by(submissions.c.dept, submissions.c.year).subquery())
    stmt = (select(submissions).join(newest, (submissions.c.dept == newest.c.dept)
                                     & (submissions.c.year == newest.c.year) & (submissions.c.version == newest.c.v)))
    if year is not None:
        stmt = stmt.where(submissions.c.year == year)
    stmt = stmt.order_by(submissions.c.dept, submissions.c.year.desc())
    with engine.connect() as c:
        rows = [dict(r._mapping) for r in c.execute(stmt)]
    for r in rows:
        r["result"] = json.loads(r["result"])
    return rows


def years(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return [r[0] for r in c.execute(select(submissions.c.year).distinct().order_by(submissions.c.year.desc()))]


def set_pdf(engine: Engine, sid: int, state: str, sha: str | None) -> None:
    with engine.begin() as c:
        c.execute(update(submissions).where(submissions.c.id == sid).values(pdf_state=state, pdf_sha=sha))


def pending_pdfs(engine: Engine) -> list[int]:
    with engine.connect() as c:
        return [r[0] for r in c.execute(select(submissions.c.id).where(submissions.c.pdf_state == "pending"))]
