"""Build and install the perfxl Excel add-in (``perfxl.xlam``), on any OS, without Excel.

The add-in is xlwings' ``quickstart_addin_ribbon.xlam`` made ours:

* ``customUI/customUI.xml`` is replaced by ``macros/customUI.xml`` (the 绩效自评 tab);
* the VBA modules in ``macros/*.bas`` replace the template's ribbon module, through pyopenvba
  (pure Python; the template's ``xlwings`` module stays, with its ``PROJECT_NAME`` set to
  ``perfxl`` so that it reads its settings from the ``perfxl.conf`` sheet);
* the settings sheet ``perfxl.conf`` (xlwings' ``xlwings.conf`` layout: key in column A, value
  in column B) names the interpreter and PYTHONPATH.  The Python module the buttons call,
  ``perfxl.excel``, is named in each callback's ``RunPython`` line.

Everything else in the package is kept, so the file stays an add-in (``xl/workbook.xml`` keeps
the content type ``application/vnd.ms-excel.addin.macroEnabled.main+xml``).
"""
from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from .errors import PerfxlError
from .fileio import atomic_write_bytes
from .oserrors import describe

ADDIN_NAME = "perfxl.xlam"
PROJECT_NAME = "perfxl"  # xlwings' VBA reads its settings from the sheet "<PROJECT_NAME>.conf"
CONF_SHEET = f"{PROJECT_NAME}.conf"
SERVER_KEY = "perfxl_server"  # conf-sheet key of the service address (macros/PerfxlRibbon.bas reads it)
RIBBON_MODULE = "PerfxlRibbon"
ADDIN_CONTENT_TYPE = "application/vnd.ms-excel.addin.macroEnabled.main+xml"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2006/01/customui"
TEMPLATE = "quickstart_addin_ribbon.xlam"
TEMPLATE_RIBBON_MODULE = "RibbonMyAddin"
XLWINGS_MODULES = ("xlwings", "Dictionary")  # the template's RunPython and the class it uses
# PerfxlLocal of a --server-only add-in: no RunPython to call, only the Chinese reason why.
SERVER_ONLY_LOCAL = """Attribute VB_Name = "PerfxlLocal"
' The --server-only add-in has no local-Python path (built by perfxl.addin without xlwings).
Option Explicit

Public Sub RunLocal(ByVal fn As String)
    MsgBox PerfxlText.Msg("SERVERONLY"), vbExclamation, PerfxlText.Msg("TITLE")
End Sub
"""

_CUSTOMUI_PART = "customUI/customUI.xml"
# Office 2007's relationship type and Office 2010's; xlwings' template (used as is) has the latter.
_CUSTOMUI_RELS = ("http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
                  "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility")
_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "pr": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same sources → same bytes


def macros_dir() -> Path:
    """Folder holding ``customUI.xml`` and the ``.bas`` modules (package data or the source tree)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "macros", here.parent / "macros"):
        if (folder / "customUI.xml").is_file():
            return folder
    raise PerfxlError("找不到加载项源文件（macros/customUI.xml），perfxl 安装不完整，请重新安装 perfxl。")


def template_path() -> Path:
    """xlwings' ribbon add-in template, found without importing xlwings (its import is slow)."""
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        raise PerfxlError("没有安装 xlwings，无法生成 Excel 加载项。请先运行：pip install xlwings")
    path = Path(list(spec.submodule_search_locations)[0]) / TEMPLATE
    if not path.is_file():
        raise PerfxlError(f"xlwings 中找不到加载项模板 {TEMPLATE}，请重新安装 xlwings。")
    return path


def default_build_path() -> Path:
    """Where :func:`install` builds the add-in before copying it: ``~/.perfxl/perfxl.xlam``."""
    return Path.home() / ".perfxl" / ADDIN_NAME


def settings(interpreter: str | None = None, pythonpath: str | None = None,
             server: str | None = None) -> list[tuple[str, object]]:
    """Rows of the ``perfxl.conf`` sheet, in xlwings' keys, then perfxl's own.

    ``interpreter``: full path of the Python that runs perfxl; written under the key of the OS
    that builds (Interpreter_Win on Windows, Interpreter_Mac on macOS).  ``None`` leaves both
    empty, so RunPython uses ``python`` from PATH.  ``server``: the address of the bureau's
    ``perfxl serve``; when set (here, or by the clerk's 设置 button) the buttons go over HTTP and
    the PC needs no Python.
    """
    win = interpreter if interpreter and sys.platform.startswith("win") else ""
    mac = interpreter if interpreter and sys.platform == "darwin" else ""
    return [
        ("Interpreter_Win", win),
        ("Interpreter_Mac", mac),
        ("PYTHONPATH", pythonpath or ""),
        ("Conda Path", ""),
        ("Conda Env", ""),
        ("UDF Modules", ""),
        ("Debug UDFs", False),
        # Windows: keep one Python COM server alive between clicks, so only the first click
        # pays for starting Python and importing xlwings (~1.5 s); later clicks take ~0.3 s.
        ("Use UDF Server", True),
        ("Show Console", False),
        # A clerk's folder may hold anything (a stray xlwings.py…): keep it off sys.path.
        ("ADD_WORKBOOK_TO_PYTHONPATH", "false"),
        (SERVER_KEY, server or ""),
    ]


def build(out: str | os.PathLike = ADDIN_NAME, *, interpreter: str | None = None,
          pythonpath: str | None = None, server: str | None = None, server_only: bool = False) -> Path:
    """``perfxl addin build``: write the add-in to ``out`` (atomically) and return its path.

    Works on any OS; needs xlwings (for its template) and pyopenvba, not Excel.  ``server``: the
    service address written into the add-in.  ``server_only``: leave out the local-Python path
    (xlwings' VBA module and its Dictionary class; ``PerfxlLocal`` only says why), so the VBA holds none of what
    endpoint-security scanners flag in xlwings (Shell, WScript.Shell, Kill, VBProject); needs
    ``server``.
    """
    if server_only and not server:
        raise PerfxlError("只走服务的加载项（--server-only）需要同时用 --server 指定绩效自评服务的地址。")
    out = Path(out)
    sources = macros_dir()
    customui = (sources / "customUI.xml").read_bytes()
    _check_customui(customui)
    modules = {p.stem: _read_module(p) for p in sorted(sources.glob("*.bas"))}
    if server_only:
        modules["PerfxlLocal"] = _read_module_text(SERVER_ONLY_LOCAL)
    with tempfile.TemporaryDirectory(prefix="perfxl-addin-") as tmp:
        staged = Path(tmp) / ADDIN_NAME
        shutil.copyfile(template_path(), staged)
        with_vba = Path(tmp) / ("vba-" + ADDIN_NAME)
        _write_modules(staged, with_vba, modules, drop=XLWINGS_MODULES if server_only else ())
        data = _rewrite_package(with_vba.read_bytes(), customui, settings(interpreter, pythonpath, _server(server)))
    return atomic_write_bytes(out, data)


def _server(text: str | None) -> str | None:
    """A server address as the VBA uses it (no trailing slash), or PerfxlError in Chinese."""
    if not text:
        return None
    s = text.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", s, re.I):
        raise PerfxlError(f"服务地址“{text}”不对：应以 http:// 或 https:// 开头，例如 http://192.168.1.10:8000")
    return s


def install(*, interpreter: str | None = None) -> Path:
    """``perfxl addin install``: build the add-in for this Python and put it in Excel's XLSTART.

    Like ``xlwings addin install``: the add-in goes into the user's XLSTART folder, so Excel
    loads it at start; on macOS xlwings' AppleScript helper that RunPython needs is installed
    too.  Returns the installed file.  On Linux (no Excel) raises :class:`PerfxlError` naming
    the built file, to be copied to a Windows or Mac computer.
    """
    interpreter = interpreter or sys.executable
    built = build(default_build_path(), interpreter=interpreter)
    if not (sys.platform.startswith("win") or sys.platform == "darwin"):
        raise PerfxlError(
            f"这台电脑是 Linux，没有 Microsoft Excel，不能安装加载项；加载项已生成在 {built}，"
            "请在装有 Excel 的 Windows 或 Mac 电脑上运行 perfxl addin install。")
    folder = xlstart_dir()
    target = folder / ADDIN_NAME
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, target)
    except PermissionError:
        raise PerfxlError(f"无法写入 {target}：请先关闭所有 Excel 窗口，再运行 perfxl addin install。") from None
    except OSError as e:
        raise PerfxlError(f"无法把加载项复制到 {folder}（{describe(e)}）。") from None
    if sys.platform == "darwin":
        _install_mac_runpython()
    return target


def xlstart_dir() -> Path:
    """The user's Excel startup folder (XLSTART), the one ``Application.StartupPath`` names."""
    if sys.platform.startswith("win"):
        appdata = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(appdata) / "Microsoft" / "Excel" / "XLSTART"
    if sys.platform == "darwin":
        office = Path.home() / "Library" / "Group Containers" / "UBF8T346G9.Office"
        candidates = (office / "User Content.localized" / "Startup.localized" / "Excel",
                      office / "User Content" / "Startup" / "Excel")
        return next((c for c in candidates if c.is_dir()), candidates[0])
    raise PerfxlError("只有 Windows 和 macOS 上的 Excel 有启动文件夹（XLSTART）。")


def _install_mac_runpython() -> None:
    """What ``xlwings runpython install`` does: RunPython on macOS goes through xlwings'
    AppleScript file, which must sit in Excel's sandboxed script folder."""
    package = template_path().parent
    scripts = sorted(package.glob("xlwings-*.applescript"))
    if not scripts:
        raise PerfxlError("加载项已安装，但 xlwings 中找不到 RunPython 所需的 AppleScript 文件；请在终端运行：xlwings runpython install")
    dest = Path.home() / "Library" / "Application Scripts" / "com.microsoft.Excel"
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(scripts[-1], dest / scripts[-1].name)


def _read_module(path: Path) -> str:
    raw = path.read_bytes()
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        # The VBA project stores source in code page 1252: Chinese would become "????".
        raise PerfxlError(f"{path.name}：VBA 源文件只能含 ASCII 字符（中文提示请放在 Python 里）。") from None
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _read_module_text(text: str) -> str:
    text.encode("ascii")  # VBA source stays ASCII (code page 1252)
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _check_customui(data: bytes) -> None:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise PerfxlError(f"customUI.xml 不是合法的 XML（{e}）。") from None
    if root.tag != f"{{{CUSTOMUI_NS}}}customUI":
        raise PerfxlError(f"customUI.xml 的根元素应为 {CUSTOMUI_NS} 命名空间下的 customUI。")


def _write_modules(src: Path, dest: Path, modules: dict[str, str], drop: tuple[str, ...] = ()) -> None:
    """Put ``modules`` (name → source) into the VBA project of ``src`` and save it as ``dest``;
    the modules named in ``drop`` are removed."""
    from pyopenvba import ExcelFile

    with ExcelFile(src) as book:
        names = {n.casefold(): n for n in book.module_names()}
        project = book.vba_project()
        if TEMPLATE_RIBBON_MODULE.casefold() in names and RIBBON_MODULE.casefold() not in names:
            project.rename_module(names[TEMPLATE_RIBBON_MODULE.casefold()], RIBBON_MODULE)
            names = {n.casefold(): n for n in book.module_names()}
        for name, source in modules.items():
            if name.casefold() in names:
                book.set_module(names[name.casefold()], source)
            else:
                project.add_module(name, source)
        if "xlwings" in drop:
            for name in drop:
                if name.casefold() in names:
                    project.delete_module(names[name.casefold()])
        else:
            xlwings_source = book.get_module("xlwings")
            patched, count = re.subn(r'(Public Const PROJECT_NAME As String = )"[^"]*"',
                                     rf'\1"{PROJECT_NAME}"', xlwings_source)
            if count != 1:
                raise PerfxlError("xlwings 加载项模板的格式变了（找不到 PROJECT_NAME），请使用 perfxl 支持的 xlwings 版本。")
            book.set_module("xlwings", patched)
        problems = [p for p in book.validate() if "missing stream" not in p]  # added: written on save
        if problems:
            raise PerfxlError("加载项的 VBA 工程不一致：" + "；".join(problems))
        book.save(dest)


def _rewrite_package(data: bytes, customui: bytes, rows: list[tuple[str, object]]) -> bytes:
    """Replace the ribbon, the settings sheet and the document title in the add-in package."""
    src = zipfile.ZipFile(io.BytesIO(data))
    parts = {i.filename: src.read(i.filename) for i in src.infolist()}
    order = [i.filename for i in src.infolist()]

    types = ET.fromstring(parts["[Content_Types].xml"])
    main = next((o for o in types.findall("ct:Override", _NS) if o.get("PartName") == "/xl/workbook.xml"), None)
    if main is None or main.get("ContentType") != ADDIN_CONTENT_TYPE:
        raise PerfxlError("xlwings 加载项模板的 xl/workbook.xml 不是加载项类型，无法生成 .xlam。")
    root_rels = ET.fromstring(parts["_rels/.rels"])
    if not any(r.get("Type") in _CUSTOMUI_RELS and (r.get("Target") or "").lstrip("/") == _CUSTOMUI_PART
               for r in root_rels.findall("pr:Relationship", _NS)):
        raise PerfxlError("xlwings 加载项模板中没有功能区（customUI）部件。")
    parts[_CUSTOMUI_PART] = customui

    workbook = parts["xl/workbook.xml"].decode("utf-8")
    sheets = ET.fromstring(workbook).findall("m:sheets/m:sheet", _NS)
    conf = next((s for s in sheets if s.get("name", "").lstrip("_").endswith(".conf")), None)
    if conf is None or len(sheets) != 1:
        raise PerfxlError("xlwings 加载项模板中找不到设置表（*.conf）。")
    workbook = workbook.replace(f'name="{conf.get("name")}"', f'name="{CONF_SHEET}"', 1)
    parts["xl/workbook.xml"] = workbook.encode("utf-8")
    rels = ET.fromstring(parts["xl/_rels/workbook.xml.rels"])
    target = next((r.get("Target") for r in rels.findall("pr:Relationship", _NS) if r.get("Id") == conf.get(_RID)),
                  None)
    if not target:
        raise PerfxlError("xlwings 加载项模板中设置表（*.conf）的部件找不到。")
    sheet_part = "xl/" + target.lstrip("/").removeprefix("xl/")
    strings: list[str] = []
    parts[sheet_part] = _conf_sheet_xml(rows, strings)
    parts["xl/sharedStrings.xml"] = _shared_strings_xml(strings)
    parts["docProps/core.xml"] = _core_xml()

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in order:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, parts[name])
    return out.getvalue()


def _conf_sheet_xml(rows: list[tuple[str, object]], strings: list[str]) -> bytes:
    def cell(ref: str, value: object) -> str:
        if isinstance(value, bool):
            return f'<c r="{ref}" s="1" t="b"><v>{int(value)}</v></c>'
        if value in (None, ""):
            return ""
        strings.append(str(value))
        return f'<c r="{ref}" s="1" t="s"><v>{len(strings) - 1}</v></c>'

    body = "".join(f'<row r="{i}">{cell(f"A{i}", key)}{cell(f"B{i}", value)}</row>'
                   for i, (key, value) in enumerate(rows, start=1))
    last = len(rows)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<worksheet xmlns="{_NS["m"]}" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheetPr codeName="Sheet2"/>'
            f'<dimension ref="A1:B{last}"/>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0"/></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15.75"/>'
            '<cols><col min="1" max="1" width="30" style="1" customWidth="1"/>'
            '<col min="2" max="2" width="60" style="1" customWidth="1"/></cols>'
            f"<sheetData>{body}</sheetData>"
            '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            "</worksheet>").encode("utf-8")


def _shared_strings_xml(strings: list[str]) -> bytes:
    items = "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<sst xmlns="{_NS["m"]}" count="{len(strings)}" uniqueCount="{len(strings)}">{items}</sst>'
            ).encode("utf-8")


def _core_xml() -> bytes:
    # Excel's add-in list shows the title and the description.
    from . import __version__

    stamp = "2024-01-01T00:00:00Z"  # fixed: same sources → same bytes
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            "<dc:title>perfxl 绩效自评</dc:title>"
            "<dc:description>部门整体支出绩效自评：校验数据、计算得分、生成 Word 报告。"
            f"（perfxl {escape(__version__)}）</dc:description>"
            "<dc:creator>perfxl</dc:creator>"
            f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            "</cp:coreProperties>").encode("utf-8")
