"""Passwords (argon2id), API tokens (only their SHA-256 is stored), CSRF tokens, login throttling."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, the library's recommended memory-hard parameters
# A hash to verify against when the login does not exist, so timing does not reveal logins.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A new API token (shown once; the database keeps :func:`token_hash` of it)."""
    return "pxl_" + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session: dict) -> str:
    """The session's CSRF token (created on first use); forms carry it in a hidden field."""
    tok = session.get("csrf")
    if not tok:
        tok = session["csrf"] = secrets.token_urlsafe(24)
    return tok


def csrf_ok(session: dict, given: str | None) -> bool:
    tok = session.get("csrf")
    return bool(tok and given and hmac.compare_digest(tok, given))


class Throttle:
    """At most ``limit`` failed logins per login name within ``window`` seconds."""

    def __init__(self, limit: int = 8, window: float = 300.0):
        self.limit, self.window = limit, window
        self._fails: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, login: str) -> bool:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._fails.get(login, []) if now - t < self.window]
            self._fails[login] = recent
            return len(recent) >= self.limit

    def failed(self, login: str) -> None:
        with self._lock:
            self._fails.setdefault(login, []).append(time.monotonic())

    def succeeded(self, login: str) -> None:
        with self._lock:
            self._fails.pop(login, None)
