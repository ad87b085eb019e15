"""Run the add-in's VBA helpers for real, in LibreOffice Basic (``Option VBASupport 1``), headless.

There is no Excel here, but LibreOffice runs VBA-compatible Basic: the add-in's own functions
(PerfxlText verbatim; the pure functions of PerfxlServer, taken from the .bas by name) go into the
application ``Standard`` library of a throw-away profile beside a ``Harness`` module, whose
``Main`` is invoked through UNO (LibreOffice's Python).  Two adaptations, for LibreOffice only:
``Private`` becomes ``Public`` (the harness calls them), and a function's ``As Byte()`` return
type becomes ``As Variant`` (LibreOffice Basic has no array return types; Excel has).
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
MACROS = ROOT / "macros"

_RUN = r'''
import sys, time, uno, subprocess
from com.sun.star.connection import NoConnectException
soffice, profile, port = sys.argv[1], sys.argv[2], sys.argv[3]
proc = subprocess.Popen([soffice, "-env:UserInstallation=" + profile, "--headless", "--invisible", "--norestore",
                         "--nologo", "--nodefault", "--accept=socket,host=127.0.0.1,port=%s;urp;" % port],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
ctx = None
for _ in range(300):
    try:
        ctx = resolver.resolve("uno:socket,host=127.0.0.1,port=%s;urp;StarOffice.ComponentContext" % port)
        break
    except NoConnectException:
        time.sleep(0.2)
try:
    factory = ctx.ServiceManager.createInstanceWithContext("com.sun.star.script.provider.MasterScriptProviderFactory", ctx)
    script = factory.createScriptProvider("").getScript(
        "vnd.sun.star.script:Standard.Harness.Main?language=Basic&location=application")
    script.invoke((), (), ())
finally:
    try:
        ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx).terminate()
    except Exception:
        pass
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
'''


def module_source(name: str) -> str:
    text = (MACROS / f"{name}.bas").read_text("ascii").replace("\r\n", "\n")
    return re.sub(r"^Attribute VB_Name.*\n", "", text, flags=re.M)


def extract(name: str, functions: list[str]) -> str:
    """The named procedures of a module, made Public and LibreOffice-compatible."""
    text = module_source(name)
    out = []
    for fn in functions:
        m = re.search(rf"^(?:Private |Public )?(Function|Sub) {fn}\b.*?^End (?:Function|Sub)\n", text, re.M | re.S)
        if m is None:
            raise KeyError(f"{name}.{fn}")
        proc = re.sub(r"^Private ", "Public ", m.group(0))
        out.append(re.sub(r"\) As Byte\(\)\n", ") As Variant\n", proc, count=1))
    return "\n".join(out)


def _xba(name: str, text: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD '
            'OfficeDocument 1.0//EN" "module.dtd">\n<script:module xmlns:script="http://openoffice.org/2000/script" '
            f'script:name="{name}" script:language="StarBasic">{escape(text)}</script:module>')


def run(soffice: str, uno_python: str, work: Path, modules: dict[str, str], port: int) -> None:
    """Install ``modules`` (name → Basic source, VBASupport added) and run ``Harness.Main``."""
    profile = work / "profile"
    subprocess.run([soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--terminate_after_init"],
                   capture_output=True, timeout=180, check=True)
    lib = profile / "user" / "basic" / "Standard"
    for name, text in modules.items():
        (lib / f"{name}.xba").write_text(_xba(name, "Option VBASupport 1\n" + text), "utf-8")
    xlb = (lib / "script.xlb").read_text("utf-8")
    entries = "".join(f'\n <library:element library:name="{n}"/>' for n in modules)
    (lib / "script.xlb").write_text(xlb.replace('<library:element library:name="Module1"/>',
                                                '<library:element library:name="Module1"/>' + entries), "utf-8")
    (work / "run_uno.py").write_text(_RUN, "utf-8")
    subprocess.run([uno_python, str(work / "run_uno.py"), soffice, profile.as_uri(), str(port)],
                   capture_output=True, timeout=300, check=True)
