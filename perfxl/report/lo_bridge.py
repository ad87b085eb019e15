"""A small UNO driver for one headless LibreOffice: documents in, PDFs out, over stdin/stdout.

Runs under a Python that has LibreOffice's ``uno`` module (Debian: ``/usr/bin/python3`` with
``python3-uno``; not perfxl's virtualenv), so it imports nothing from perfxl and only the
standard library besides ``uno``.  :class:`perfxl.report.converter.Converter` starts it as::

    python3 lo_bridge.py SOFFICE PROFILE_URL PIPE_NAME START_TIMEOUT

It starts ``soffice`` (headless, the given profile, listening on a named pipe), connects, then
prints one JSON line ``{"ready": true, "pid": N}`` (``{"ready": false, "no_uno": true, …}``
without the ``uno`` module) and answers each request line
``{"in": "/path/a.docx", "out": "/path/a.pdf"}`` with ``{"ok": true}`` or
``{"ok": false, "error": "...", "fatal": bool}`` (``fatal``: LibreOffice is gone, the driver
exits after saying so; ``resend``: it was gone before this document was touched).  End of input shuts LibreOffice down; so does the death of the process
that started the driver (checked every half second), so no LibreOffice is ever left behind.
The caller enforces time limits by killing the driver's whole process group.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

try:
    import uno
    from com.sun.star.beans import PropertyValue
    from com.sun.star.connection import NoConnectException
except ImportError as _e:  # reported on the first line, the caller falls back to soffice --convert-to
    uno = None
    _NO_UNO = f"{type(_e).__name__}: {_e}"

OFFICE: subprocess.Popen[bytes] | None = None


def _prop(name: str, value: object) -> Any:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def _say(obj: dict[str, object]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _kill_office() -> None:
    if OFFICE is not None and OFFICE.poll() is None:
        try:
            OFFICE.kill()
        except OSError:
            pass


def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:  # our caller died (even by SIGKILL): leave nothing behind
            _kill_office()
            try:
                os.killpg(os.getpgid(0), signal.SIGKILL)
            finally:
                os._exit(1)


def _start(soffice: str, profile_url: str, pipe: str, timeout: float) -> tuple[subprocess.Popen[bytes], Any]:
    """(the started soffice process, its Desktop)."""
    global OFFICE
    accept = f"pipe,name={pipe};urp;StarOffice.ComponentContext"
    OFFICE = office = subprocess.Popen(
        [soffice, f"-env:UserInstallation={profile_url}", "--headless", "--invisible", "--norestore",
         "--nologo", "--nodefault", "--nolockcheck", "--nofirststartwizard", f"--accept={accept}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    deadline = time.monotonic() + timeout
    while True:
        try:
            ctx = resolver.resolve(f"uno:{accept}")
            break
        except NoConnectException:
            if office.poll() is not None:
                raise RuntimeError(f"soffice exited with code {office.returncode} while starting")
            if time.monotonic() > deadline:
                raise RuntimeError(f"soffice did not accept a connection within {timeout:.0f} s")
            time.sleep(0.05)
    return office, ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def _convert(desktop: Any, src: str, dst: str) -> None:
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(src), "_blank", 0,
                                       (_prop("Hidden", True), _prop("ReadOnly", True)))
    if doc is None:
        raise RuntimeError("the document could not be loaded")
    try:
        doc.storeToURL(uno.systemPathToFileUrl(dst), (_prop("FilterName", "writer_pdf_Export"),))
    finally:
        try:
            doc.close(True)
        except Exception:
            doc.dispose()


def _office_ok(office: subprocess.Popen[bytes], desktop: Any) -> bool:
    """Whether LibreOffice still answers (after a failed document: was it the document or it?)."""
    if office.poll() is not None:
        return False
    try:
        desktop.getFrames()  # a round trip over the bridge
        return True
    except Exception:
        return False


def main(argv: list[str]) -> int:
    soffice, profile_url, pipe, timeout = argv[1], argv[2], argv[3], float(argv[4])
    if uno is None:
        _say({"ready": False, "no_uno": True, "error": _NO_UNO})
        return 3
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    try:
        office, desktop = _start(soffice, profile_url, pipe, timeout)
    except Exception as e:
        _kill_office()
        _say({"ready": False, "error": f"{type(e).__name__}: {e}"})
        return 1
    _say({"ready": True, "pid": office.pid})
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        if office.poll() is not None:  # died between two documents: the caller restarts and resends
            _say({"ok": False, "error": "soffice is gone", "fatal": True, "resend": True})
            return 1
        try:
            _convert(desktop, req["in"], req["out"])
            _say({"ok": True})
        except Exception as e:
            fatal = not _office_ok(office, desktop)
            _say({"ok": False, "error": f"{type(e).__name__}: {e}", "fatal": fatal})
            if fatal:
                _kill_office()
                return 1
    try:
        desktop.terminate()
        office.wait(10)
    except Exception:
        pass
    _kill_office()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
