"""The service's settings: one object, built once from the command line (or tests)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """Everything the service is configured by.

    ``data_dir`` holds the embedded database (``perfxl.db``), the stored files (``files/``,
    named by content hash) and the session signing key (``secret.key``).  ``db_url``: a
    SQLAlchemy URL; ``None`` means SQLite at ``data_dir/perfxl.db``.
    """

    data_dir: Path
    db_url: str | None = None
    max_upload: int = 20 * MB            # bytes of one uploaded file
    max_members: int = 2000              # entries in the uploaded zip
    max_uncompressed: int = 200 * MB     # sum of the members' declared sizes
    max_ratio: int = 200                 # one member's uncompressed / compressed size
    time_limit: float = 60.0             # seconds of pipeline work per request
    workers: int = 2                     # processes of the pipeline pool
    session_hours: int = 12
    secure_cookies: bool = False         # set behind an HTTPS reverse proxy
    secret: bytes = field(default=b"", repr=False)

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def drafts_dir(self) -> Path:
        """Workbooks uploaded on the pages but not (yet) submitted: kept a day, then removed."""
        return self.data_dir / "drafts"

    @property
    def database_url(self) -> str:
        return self.db_url or f"sqlite:///{(self.data_dir / 'perfxl.db').as_posix()}"

    @classmethod
    def load(cls, data_dir: str | os.PathLike[str], db_url: str | None = None, **kw: Any) -> "Settings":
        """Settings for ``data_dir`` (created if missing), with its persistent signing key."""
        d = Path(data_dir).expanduser().resolve()
        d.mkdir(parents=True, exist_ok=True)
        (d / "files").mkdir(exist_ok=True)
        key = d / "secret.key"
        if not key.exists():
            fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
        env: dict[str, int | float | bool] = {}
        if v := os.environ.get("PERFXL_MAX_UPLOAD_MB"):
            env["max_upload"] = int(float(v) * MB)
        if v := os.environ.get("PERFXL_TIME_LIMIT"):
            env["time_limit"] = float(v)
        if v := os.environ.get("PERFXL_WORKERS"):
            env["workers"] = int(v)
        if os.environ.get("PERFXL_SECURE_COOKIES") == "1":
            env["secure_cookies"] = True
        return cls(d, db_url or os.environ.get("PERFXL_DB") or None, secret=key.read_bytes(), **{**env, **kw})
