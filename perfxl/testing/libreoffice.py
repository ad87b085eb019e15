"""Recalculate workbooks with headless LibreOffice, for tests.

``recalculate(paths, outdir)`` opens every workbook in one ``soffice --convert-to xlsx`` call and
returns the paths of the converted copies. The call runs with a fresh, throw-away LibreOffice
profile whose settings force a full recalculation on load even though the files carry cached
values (``OOXMLRecalcMode`` / ``ODFRecalcMode`` = 0, "always recalculate"). Reading the converted
copies (e.g. with python-calamine) therefore gives the values LibreOffice *computed*, not the
cached values the file was written with. A successful conversion is also evidence that the file
is not corrupt.

Typical use in a test::

    from perfxl.testing.libreoffice import recalculate, soffice_available

    @pytest.mark.skipif(not soffice_available(), reason="LibreOffice (soffice) not installed")
    def test_formulas(tmp_path):
        [out] = recalculate([tmp_path / "in.xlsx"], tmp_path / "lo")
        values = python_calamine.CalamineWorkbook.from_path(out).get_sheet_by_name("评分表").to_python()
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["LibreOfficeError", "LibreOfficeNotFound", "find_soffice", "soffice_available", "recalculate"]

_XCU = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun" oor:op="fuse"><value>false</value></prop></item>
</oor:items>
"""


class LibreOfficeError(RuntimeError):
    """soffice ran but did not produce every expected output file (or timed out)."""


class LibreOfficeNotFound(LibreOfficeError):
    """No ``soffice``/``libreoffice`` executable on PATH (install LibreOffice, e.g. apt-get install libreoffice-calc)."""


def find_soffice() -> str | None:
    """Path of the LibreOffice executable (``$PERFXL_SOFFICE``, ``soffice`` or ``libreoffice``), or None."""
    env = os.environ.get("PERFXL_SOFFICE")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    return shutil.which("soffice") or shutil.which("libreoffice")


def soffice_available() -> bool:
    """True if :func:`recalculate` can run (for ``pytest.mark.skipif``)."""
    return find_soffice() is not None


def recalculate(paths: list[Path], outdir: Path, *, timeout: float = 300.0) -> list[Path]:
    """Open ``paths`` in headless LibreOffice, recalculate every formula, save as .xlsx into ``outdir``.

    * One ``soffice`` process for all files (start-up costs seconds; batch files per call).
    * A fresh profile in a temporary directory, so concurrent calls (pytest-xdist, other
      engineers' tests) never share or lock a profile, and the user's own profile is untouched.
    * Returns ``outdir / (stem + ".xlsx")`` for each input, in input order. Inputs must have
      distinct stems (the outputs would collide) and must not already live in ``outdir``.

    Raises :class:`LibreOfficeNotFound` if LibreOffice is not installed, and
    :class:`LibreOfficeError` if the process times out or an expected output is missing
    (LibreOffice could not open that file — a sign it is corrupt). ``timeout`` is in seconds
    for the whole batch.
    """
    exe = find_soffice()
    if exe is None:
        raise LibreOfficeNotFound(
            "LibreOffice (soffice) not found on PATH: install it (apt-get install libreoffice-calc) "
            "or set PERFXL_SOFFICE to the executable"
        )
    paths = [Path(p).resolve() for p in paths]
    if not paths:
        return []
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    outputs = [outdir / (p.stem + ".xlsx") for p in paths]
    if len(set(outputs)) != len(outputs):
        raise ValueError("recalculate(): input files must have distinct names (stems)")
    for p, o in zip(paths, outputs):
        if not p.exists():
            raise FileNotFoundError(p)
        if p == o:
            raise ValueError(f"recalculate(): {p} is already in outdir; it would be overwritten")
        if o.exists():
            o.unlink()
    with tempfile.TemporaryDirectory(prefix="perfxl-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_XCU, encoding="utf-8")
        cmd = [
            exe,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--invisible",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            "--norestore",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(outdir),
            *map(str, paths),
        ]
        env = dict(os.environ, HOME=profile)
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired as exc:
            raise LibreOfficeError(f"soffice timed out after {timeout:.0f} s converting {len(paths)} file(s)") from exc
    missing = [str(p) for p, o in zip(paths, outputs) if not o.exists()]
    if missing:
        raise LibreOfficeError(
            f"LibreOffice could not convert {missing} (exit {proc.returncode}).\n"
            f"stdout: {proc.stdout.strip()}\nstderr: {proc.stderr.strip()}"
        )
    return outputs
