"""The Excel add-in without Excel: the built .xlam's ribbon, VBA and package, and the Python
side of the buttons (perfxl.excel) against a fake of the xlwings object model it uses."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from perfxl import addin, excel
from perfxl.errors import PerfxlError
from perfxl.formulas import XlError
from perfxl.reader import FileSource, parse
from perfxl.edits import (ClearMarks, DefineName, DeleteSheet, EnsureSheet, Hyperlink, MarkCell,
                              ResizeTable, SetCell)

ROOT = Path(__file__).resolve().parent.parent
CUI = "{http://schemas.microsoft.com/office/2006/01/customui}"
BUTTONS = {  # ribbon label → (control id, action the VBA dispatches: a perfxl.excel function when local)
    "校验数据": ("perfxlCheck", "check"),
    "计算得分": ("perfxlScore", "score"),
    "生成报告": ("perfxlReport", "report"),
    "一键完成": ("perfxlRunAll", "run_all"),
    "打开输出文件夹": ("perfxlOpenOutput", "open_output_folder"),
    "新建空白表": ("perfxlNewBlank", "new_blank"),
    "使用说明": ("perfxlShowHelp", "show_help"),
    "正式报送": ("perfxlSubmitNow", "submit"),
    "设置": ("perfxlSettings", "settings"),
}
SERVICE_ONLY = {"submit", "settings"}  # actions without a local-Python counterpart
ACTION_CASE = re.compile(r'Case "(\w+)": ActionOf = "(\w+)"')
RUNPYTHON = re.compile(r'RunPython\s*\(?\s*"import perfxl\.excel as x; x\." & fn & "\(\)"')
MSG_USE = re.compile(r'Msg\("(\w+)"\)')


@pytest.fixture(scope="module")
def xlam(tmp_path_factory) -> Path:
    return addin.build(tmp_path_factory.mktemp("addin") / "perfxl.xlam")


@pytest.fixture(scope="module")
def ribbon(xlam) -> ET.Element:
    with zipfile.ZipFile(xlam) as z:
        return ET.fromstring(z.read("customUI/customUI.xml"))


@pytest.fixture(scope="module")
def vba(xlam) -> dict[str, str]:
    """Module name → source, as oletools extracts it from the built file."""
    with warnings.catch_warnings():  # oletools uses pyparsing names that now warn
        warnings.simplefilter("ignore", DeprecationWarning)
        from oletools.olevba import VBA_Parser

    parser = VBA_Parser(str(xlam))
    try:
        return {Path(name).stem: code for _, _, name, code in parser.extract_macros()}
    finally:
        parser.close()


def _callbacks(ribbon: ET.Element) -> list[tuple[str, str]]:
    """(attribute, callback) for every onAction and get* attribute of the ribbon."""
    return [(attr, value) for el in ribbon.iter() for attr, value in el.attrib.items()
            if attr == "onAction" or attr.startswith("get")]


def _sub_body(vba: dict[str, str], callback: str) -> str | None:
    """The body of ``Sub Name(control As IRibbonControl…)``; ``Module.Name`` looks in that module."""
    module, _, name = callback.rpartition(".")
    sources = [vba.get(module, "")] if module else list(vba.values())
    head = re.compile(rf"^[ \t]*(?:Public[ \t]+)?Sub[ \t]+{re.escape(name)}[ \t]*\([ \t]*control[ \t]+As[ \t]+"
                      r"IRibbonControl[ \t]*(?:,[^)\n]*)?\)(.*?)^[ \t]*End Sub", re.M | re.S | re.I)
    for source in sources:
        if (m := head.search(source)) is not None:
            return m.group(1)
    return None


def _excel_functions() -> dict[str, ast.FunctionDef]:
    tree = ast.parse((ROOT / "perfxl" / "excel.py").read_text("utf-8"))
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def test_customui_parses_with_the_2006_namespace(ribbon):
    assert ribbon.tag == f"{CUI}customUI"
    assert [t.get("label") for t in ribbon.iter(f"{CUI}tab")] == ["绩效自评"]


def test_ribbon_has_the_buttons_with_chinese_labels(ribbon):
    labels = [b.get("label") for b in ribbon.iter(f"{CUI}button")]
    assert sorted(labels) == sorted(BUTTONS)
    for el in ribbon.iter():
        if el.get("label"):
            assert re.search(r"[\u4e00-\u9fff]", el.get("label")), el.get("label")
    assert all(b.get("imageMso") for b in ribbon.iter(f"{CUI}button"))


def test_every_callback_is_a_ribbon_sub_in_the_vba(ribbon, vba):
    callbacks = _callbacks(ribbon)
    assert len(callbacks) >= len(BUTTONS)
    missing = [cb for _, cb in callbacks if _sub_body(vba, cb) is None]
    assert not missing, f"no Sub Name(control As IRibbonControl) for {missing}"


def test_one_dispatcher_for_every_button(ribbon, vba):
    assert {b.get("onAction") for b in ribbon.iter(f"{CUI}button")} == {"PerfxlRibbon.OnButton"}
    assert "Dispatch control.ID" in _sub_body(vba, "PerfxlRibbon.OnButton")
    dispatch = vba["PerfxlRibbon"]
    assert "PerfxlServer.RunAction action" in dispatch and "PerfxlLocal.RunLocal action" in dispatch


@pytest.mark.parametrize("label", list(BUTTONS), ids=[a for _, a in BUTTONS.values()])
def test_each_button_id_dispatches_its_action(ribbon, vba, label):
    button = next(b for b in ribbon.iter(f"{CUI}button") if b.get("label") == label)
    control, action = BUTTONS[label]
    assert button.get("id") == control
    assert dict(ACTION_CASE.findall(vba["PerfxlRibbon"]))[control] == action


def test_every_local_action_is_an_entry_function_of_perfxl_excel(vba):
    functions = _excel_functions()
    assert len(RUNPYTHON.findall(vba["PerfxlLocal"])) == 1, "PerfxlLocal runs perfxl.excel.<action>()"
    local = {a for _, a in ACTION_CASE.findall(vba["PerfxlRibbon"])} - SERVICE_ONLY
    assert local == {a for _, a in BUTTONS.values()} - SERVICE_ONLY
    for fn in local:
        assert fn in functions, fn
        args = functions[fn].args
        assert not args.args and not args.posonlyargs, f"{fn} must take no arguments"


def test_tooltips_say_what_happens(ribbon):
    tips = {b.get("label"): b.get("supertip") for b in ribbon.iter(f"{CUI}button")}
    assert "错误浅红" in tips["校验数据"] and "黄色" not in tips["校验数据"]
    assert "Python" in tips["设置"]


def test_vba_is_ascii(vba):
    assert all(code.isascii() for code in vba.values())
    for bas in (ROOT / "macros").glob("*.bas"):
        assert bas.read_bytes().isascii(), bas.name


def test_xlwings_module_reads_the_perfxl_conf_sheet(xlam, vba):
    assert re.search(r'PROJECT_NAME As String = "perfxl"', vba["xlwings"])
    with zipfile.ZipFile(xlam) as z:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
    assert [s.get("name") for s in wb.findall(".//{*}sheet")] == ["perfxl.conf"]
    conf = _conf(xlam)
    assert {"Interpreter_Win", "Interpreter_Mac", "PYTHONPATH"} <= conf.keys()
    assert conf["ADD_WORKBOOK_TO_PYTHONPATH"] == "false"


def test_package_is_an_addin(xlam):
    with zipfile.ZipFile(xlam) as z:
        types = ET.fromstring(z.read("[Content_Types].xml"))
        rels = ET.fromstring(z.read("_rels/.rels"))
        assert z.testzip() is None
    overrides = {o.get("PartName"): o.get("ContentType") for o in types if o.tag.endswith("Override")}
    assert overrides["/xl/workbook.xml"] == "application/vnd.ms-excel.addin.macroEnabled.main+xml"
    assert overrides["/xl/vbaProject.bin"] == "application/vnd.ms-office.vbaProject"
    assert any(r.get("Type").endswith("/ui/extensibility") and r.get("Target") == "customUI/customUI.xml"
               for r in rels)


def test_vba_project_is_consistent(xlam):
    from pyopenvba import ExcelFile, check_file

    assert not check_file(xlam).issues
    with ExcelFile(xlam) as book:
        assert book.validate() == []
        assert "PerfxlRibbon" in book.module_names()
        assert "RibbonMyAddin" not in book.module_names()


def test_build_is_deterministic_and_leaves_no_temporary_files(tmp_path):
    a = addin.build(tmp_path / "a" / "perfxl.xlam")
    b = addin.build(tmp_path / "b" / "perfxl.xlam")
    assert a.read_bytes() == b.read_bytes()
    assert [p.name for p in a.parent.iterdir()] == ["perfxl.xlam"]


def test_interpreter_goes_under_this_os_key(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "platform", "win32")
    rows = dict(addin.settings(r"C:\Python311\python.exe"))
    assert rows["Interpreter_Win"] == r"C:\Python311\python.exe" and rows["Interpreter_Mac"] == ""
    monkeypatch.setattr(sys, "platform", "darwin")
    rows = dict(addin.settings("/usr/local/bin/python3"))
    assert rows["Interpreter_Mac"] == "/usr/local/bin/python3" and rows["Interpreter_Win"] == ""


def test_non_ascii_vba_source_is_refused(tmp_path, monkeypatch):
    (tmp_path / "customUI.xml").write_bytes((ROOT / "macros" / "customUI.xml").read_bytes())
    (tmp_path / "PerfxlRibbon.bas").write_text('Attribute VB_Name = "PerfxlRibbon"\nSub A()\n  MsgBox "校验"\nEnd Sub\n', "utf-8")
    monkeypatch.setattr(addin, "macros_dir", lambda: tmp_path)
    with pytest.raises(PerfxlError, match="ASCII"):
        addin.build(tmp_path / "out.xlam")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux behaviour")
def test_install_on_linux_says_where_the_built_addin_is(tmp_path, monkeypatch):
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    with pytest.raises(PerfxlError) as err:
        addin.install()
    built = tmp_path / ".perfxl" / "perfxl.xlam"
    assert built.is_file()
    assert "Linux" in str(err.value) and str(built) in str(err.value)


def _conf(xlam: Path) -> dict[str, str]:
    """Key → value text of the add-in's perfxl.conf sheet."""
    with zipfile.ZipFile(xlam) as z:
        strings = [si.findtext("{*}t") for si in ET.fromstring(z.read("xl/sharedStrings.xml"))]
        sheet = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    out = {}
    for row in sheet.findall(".//{*}row"):
        cells = [strings[int(c.findtext("{*}v"))] if c.get("t") == "s" else c.findtext("{*}v")
                 for c in row.findall("{*}c")]
        out[cells[0]] = cells[1] if len(cells) > 1 else ""
    return out


@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_install_puts_the_addin_in_xlstart_with_this_python(tmp_path, monkeypatch, platform):
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    monkeypatch.setenv("APPDATA", str(tmp_path / "AppData" / "Roaming"))
    monkeypatch.setattr(sys, "platform", platform)
    installed = addin.install()
    assert installed.parent == addin.xlstart_dir() and installed.name == "perfxl.xlam"
    key = "Interpreter_Win" if platform == "win32" else "Interpreter_Mac"
    assert _conf(installed)[key] == sys.executable
    if platform == "darwin":  # xlwings' RunPython helper script, as `xlwings runpython install`
        scripts = tmp_path / "Library" / "Application Scripts" / "com.microsoft.Excel"
        assert list(scripts.glob("xlwings-*.applescript"))


def test_perfxl_excel_imports_xlwings_lazily():
    code = "import sys, perfxl.excel; print('xlwings' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"


def test_only_perfxl_excel_imports_xlwings():
    pattern = re.compile(r"^\s*(import xlwings|from xlwings)", re.M)
    importers = [p.relative_to(ROOT).as_posix() for p in (ROOT / "perfxl").rglob("*.py")
                 if pattern.search(p.read_text("utf-8"))]
    assert importers == ["perfxl/excel.py"]


# A fake of the xlwings object model (the "mock caller" idea): it records what perfxl does.

class FakeApp:
    def __init__(self, log):
        self.log, self.screen_updating, self.display_alerts, self.status_bar = log, True, True, False
        self.alerts = []

    def alert(self, prompt, title=None, buttons="ok", mode=None, callback=None):
        self.alerts.append((prompt, title, mode))
        return "ok"


class FakeBook:
    def __init__(self, fullname="C:\\工作\\wb.xlsx"):
        self.log: list[tuple] = []
        self.fullname = fullname
        self.app = FakeApp(self.log)
        self.sheets = FakeSheets(self)
        self.names = FakeNames(self)

    def save(self, *args):  # perfxl must never call it
        self.log.append(("save",))


class FakeSheets:
    def __init__(self, book):
        self.book, self._items = book, []

    def __iter__(self):
        return iter(list(self._items))

    def __len__(self):
        return len(self._items)

    def __getitem__(self, key):
        if isinstance(key, int):
            return self._items[key]
        return next(s for s in self._items if s.name == key)

    def add(self, name=None, before=None, after=None):
        sheet = FakeSheet(self.book, name)
        at = self._items.index(before) if before is not None else self._items.index(after) + 1 if after is not None else 0
        self._items.insert(at, sheet)
        self.book.log.append(("add_sheet", name, at))
        return sheet


class FakeSheet:
    def __init__(self, book, name):
        self.book, self.name, self.visible = book, name, True
        self.values: dict[tuple[int, int], object] = {}
        self.notes_by_cell: dict[str, FakeNote] = {}
        self.rules: list[FakeRule] = []
        self.tables: list[FakeTable] = []

    def range(self, a, b=None):
        if isinstance(a, tuple):
            return FakeRange(self, a, b or a)
        from perfxl.cellref import col_to_index, split_cell

        first, _, last = a.partition(":")
        (c1, r1), (c2, r2) = split_cell(first), split_cell(last or first)
        return FakeRange(self, (r1, col_to_index(c1)), (r2, col_to_index(c2)))

    @property
    def used_range(self):
        rows = max((r for r, _ in self.values), default=1)
        cols = max((c for _, c in self.values), default=1)
        return FakeRange(self, (1, 1), (rows, cols))

    @property
    def cells(self):
        return FakeRange(self, (1, 1), (1048576, 16384))

    @property
    def notes(self):
        return list(self.notes_by_cell.values())

    def clear(self):
        self.values.clear()
        self.book.log.append(("clear_sheet", self.name))

    def delete(self):
        self.book.log.append(("delete_sheet", self.name, self.book.app.display_alerts))
        self.book.sheets._items.remove(self)


class FakeRange:
    def __init__(self, sheet, first, last):
        self.sheet, self.first, self.last = sheet, first, last
        self.number_format = "General"

    @property
    def address(self):
        from perfxl.cellref import index_to_col

        a = f"${index_to_col(self.first[1])}${self.first[0]}"
        b = f"${index_to_col(self.last[1])}${self.last[0]}"
        return a if a == b else f"{a}:{b}"

    @property
    def _a1(self):
        return self.address.replace("$", "")

    @property
    def row(self):
        return self.first[0]

    @property
    def column(self):
        return self.first[1]

    @property
    def last_cell(self):
        return FakeRange(self.sheet, self.last, self.last)

    err_to_str = False  # xlwings' option: error cells as their literal ("#N/A"), else None

    def options(self, **kwargs):
        view = FakeRange(self.sheet, self.first, self.last)
        view.err_to_str = bool(kwargs.get("err_to_str", False))
        return view

    def _shown(self, v):
        """A stored cell as xlwings gives it: an error value (stored as XlError) becomes its
        literal with err_to_str, None without (both platforms, xlwings 0.28+)."""
        if isinstance(v, XlError):
            return v.code if self.err_to_str else None
        return v

    @property
    def value(self):
        rows = [[self._shown(self.sheet.values.get((r, c))) for c in range(self.first[1], self.last[1] + 1)]
                for r in range(self.first[0], self.last[0] + 1)]
        return rows[0][0] if self.first == self.last else rows[0] if len(rows) == 1 else rows

    @value.setter
    def value(self, v):
        self.sheet.book.log.append(("value", self.sheet.name, self._a1, v))
        self.sheet.values[self.first] = v[1:] if isinstance(v, str) and v.startswith("'") else v

    @property
    def formula(self):
        raise NotImplementedError

    @formula.setter
    def formula(self, f):
        self.sheet.book.log.append(("formula", self.sheet.name, self._a1, f))

    @property
    def note(self):
        return self.sheet.notes_by_cell.get(self._a1)

    def add_note(self, text):
        assert self._a1 not in self.sheet.notes_by_cell, "xlwings refuses a second note"
        self.sheet.book.log.append(("add_note", self.sheet.name, self._a1, text))
        note = self.sheet.notes_by_cell[self._a1] = FakeNote(self.sheet, self._a1, text)
        return note

    def add_hyperlink(self, address, text_to_display=None, screen_tip=None):
        self.sheet.book.log.append(("hyperlink", self.sheet.name, self._a1, address, text_to_display))

    @property
    def conditional_formats(self):
        return FakeRules(self)

    @property
    def font(self):
        return FakeFont(self)

    def _log_set(self, what, v):
        self.sheet.book.log.append((what, self.sheet.name, self._a1, v))

    wrap_text = property(None, lambda self, v: self._log_set("wrap_text", v))
    color = property(None, lambda self, v: self._log_set("color", v))
    column_width = property(None, lambda self, v: self._log_set("column_width", v))
    row_height = property(None, lambda self, v: self._log_set("row_height", v))


class FakeFont:
    def __init__(self, rng):
        self.rng = rng

    bold = property(None, lambda self, v: self.rng._log_set("bold", v))


class FakeNote:
    def __init__(self, sheet, cell, text):
        self.sheet, self.cell, self._text = sheet, cell, text

    @property
    def text(self):
        return self._text

    @text.setter
    def text(self, value):
        self.sheet.book.log.append(("note_text", self.sheet.name, self.cell, value))
        self._text = value

    def delete(self):
        self.sheet.book.log.append(("delete_note", self.sheet.name, self.cell))
        del self.sheet.notes_by_cell[self.cell]


class FakeRule:
    def __init__(self, sheet, cell, formula, fill_color):
        self.sheet, self.cell, self.formula, self.fill_color, self.type = sheet, cell, formula, fill_color, "custom"

    def delete(self):
        self.sheet.book.log.append(("delete_rule", self.sheet.name, self.cell, self.formula))
        self.sheet.rules.remove(self)


class FakeRules:
    def __init__(self, rng):
        self.rng = rng

    def __iter__(self):
        whole = self.rng.last == (1048576, 16384)
        return iter([r for r in self.rng.sheet.rules if whole or r.cell == self.rng._a1])

    def add_custom(self, formula, *, fill_color=None, **kwargs):
        sheet = self.rng.sheet
        sheet.book.log.append(("add_rule", sheet.name, self.rng._a1, formula, fill_color))
        rule = FakeRule(sheet, self.rng._a1, formula, fill_color)
        sheet.rules.append(rule)
        return rule


class FakeTable:
    def __init__(self, sheet, name, rng, headers):
        self.sheet, self.name, self.range = sheet, name, rng
        self.header_row_range = FakeHeader(headers)

    def resize(self, rng):
        self.sheet.book.log.append(("resize_table", self.name, rng.address))
        self.range = rng


class FakeHeader:
    def __init__(self, headers):
        self.value = list(headers) if len(headers) > 1 else headers[0]


class FakeName:
    def __init__(self, name, refers_to):
        self.name, self.refers_to = name, refers_to


class FakeNames:
    def __init__(self, book):
        self.book, self._items = book, []

    def __iter__(self):
        return iter(list(self._items))

    def add(self, name, refers_to):
        self.book.log.append(("define_name", name, refers_to))
        self._items = [n for n in self._items if n.name != name] + [FakeName(name, refers_to)]


def fake_book_from_file(path: Path) -> FakeBook:
    """An open-book double holding what a workbook file holds: sheets, values, names, tables."""
    src = FileSource(path)
    book = FakeBook(str(path))
    for name in src.sheet_names():
        sheet = FakeSheet(book, name)
        book.sheets._items.append(sheet)
        for r, row in enumerate(src.grid(name), start=1):
            for c, v in enumerate(row, start=1):
                if v not in (None, ""):
                    sheet.values[(r, c)] = v
    for name, ref in src.defined_names().items():
        book.names._items.append(FakeName(name, "=" + ref))
    book.names._items.append(FakeName("评分表!Print_Area", "='评分表'!$A$1:$J$40"))  # sheet scope
    for name, t in src.tables().items():
        sheet = book.sheets[t.sheet]
        sheet.tables.append(FakeTable(sheet, name, sheet.range(t.ref), t.headers))
    book.log.clear()
    return book


def test_xlwings_source_reads_the_same_model_as_the_file(build, sample_data):
    path = build(sample_data)
    book = fake_book_from_file(path)
    assert parse(excel.XlwingsSource(book)) == parse(FileSource(path))
    assert "评分表!Print_Area" not in excel.XlwingsSource(book).defined_names()


@pytest.fixture
def book():
    b = FakeBook()
    for name in ("预算执行", "评分表"):
        b.sheets._items.append(FakeSheet(b, name))
    return b


def test_setcell_writes_a_formula_or_a_value_and_text_stays_text(book):
    excel.apply_edits(book, [
        SetCell("评分表", "H12", 0.7712, formula="ROUND(C7/C5,4)"),
        SetCell("评分表", "H13", 1, formula="=_xlfn.IFS(H12>0.9,1,TRUE,0)"),
        SetCell("评分表", "B3", "=SUM(A1)"),
        SetCell("预算执行", "C7", 12820.47),
        SetCell("预算执行", "C8", None),
    ])
    assert book.log == [
        ("formula", "评分表", "H12", "=ROUND(C7/C5,4)"),
        ("formula", "评分表", "H13", "=IFS(H12>0.9,1,TRUE,0)"),
        ("value", "评分表", "B3", "'=SUM(A1)"),
        ("value", "预算执行", "C7", 12820.47),
        ("value", "预算执行", "C8", None),
    ]
    assert book.app.screen_updating is True


def test_markcell_adds_a_marked_fill_and_one_note_per_cell(book):
    excel.apply_edits(book, [
        MarkCell("预算执行", "C7", "应为数字", "警告"),
        MarkCell("预算执行", "c7", "合计不符", "错误"),
        MarkCell("预算执行", "C9", "请核对", "提示"),
    ])
    assert book.log == [
        ("add_rule", "预算执行", "C7", '="perfxl-error"<>""', "#FFC7CE"),
        ("add_note", "预算执行", "C7", "perfxl 警告：\n应为数字\nperfxl 错误：\n合计不符"),
        ("add_rule", "预算执行", "C9", '="perfxl-info"<>""', "#FFF2CC"),
        ("add_note", "预算执行", "C9", "perfxl 提示：\n请核对"),
    ]


def test_markcell_appends_to_a_clerks_note_and_clearmarks_restores_it(book):
    sheet = book.sheets["预算执行"]
    sheet.notes_by_cell["C5"] = FakeNote(sheet, "C5", "张三：已核对")
    sheet.rules.append(FakeRule(sheet, "D5", "=D5>100", "#00FF00"))  # the clerk's own rule
    excel.apply_edits(book, [MarkCell("预算执行", "C5", "为空"), MarkCell("预算执行", "C6", "为空")])
    assert sheet.notes_by_cell["C5"].text == "张三：已核对\nperfxl 错误：\n为空"
    book.log.clear()

    excel.apply_edits(book, [ClearMarks()])
    assert sorted(book.log) == sorted([
        ("delete_rule", "预算执行", "C5", '="perfxl-error"<>""'),
        ("delete_rule", "预算执行", "C6", '="perfxl-error"<>""'),
        ("note_text", "预算执行", "C5", "张三：已核对"),
        ("delete_note", "预算执行", "C6"),
    ])
    assert [r.formula for r in sheet.rules] == ["=D5>100"]


def test_structure_edits(book):
    sheet = book.sheets["评分表"]
    sheet.tables.append(FakeTable(sheet, "tbl_scores", sheet.range("B4:J10"), ["指标编号", "一级指标"]))
    excel.apply_edits(book, [
        DefineName("rate_spending", "'预算执行'!$C$20"),
        EnsureSheet("校验结果"),
        EnsureSheet("评分表"),
        ResizeTable("tbl_scores", "B4:J31"),
        Hyperlink("评分表", "B2", "'预算执行'!C7"),
        DeleteSheet("校验结果"),
    ])
    assert book.log == [
        ("define_name", "rate_spending", "='预算执行'!$C$20"),
        ("add_sheet", "校验结果", 2),
        ("resize_table", "tbl_scores", "$B$4:$J$31"),
        ("hyperlink", "评分表", "B2", "#'预算执行'!C7", "'预算执行'!C7"),
        ("delete_sheet", "校验结果", False),
    ]
    assert book.app.display_alerts is True


def test_a_button_applies_the_edits_and_shows_the_message_without_saving(book, monkeypatch):
    from perfxl import app

    def run_action(action, source, book_path):
        assert (action, source.path, book_path) == ("score", book.fullname, book.fullname)
        return app.Outcome(True, "计算完成：总分 98.31 分", (SetCell("评分表", "H5", 98.31),))

    monkeypatch.setattr(excel, "_caller", lambda: book)
    monkeypatch.setattr(app, "run_action", run_action)
    excel.score()
    assert ("value", "评分表", "H5", 98.31) in book.log
    assert book.app.alerts == [("计算完成：总分 98.31 分", "绩效自评", "info")]
    assert ("save",) not in book.log


@pytest.mark.parametrize("error, shown", [
    (PerfxlError("wb.xlsx：不是标准绩效自评工作簿。"), "wb.xlsx：不是标准绩效自评工作簿。"),
    (KeyError("boom"), "perfxl 出现内部错误（KeyError）"),
], ids=["perfxl-error", "unexpected"])
def test_a_failing_button_shows_chinese_not_a_traceback(book, monkeypatch, tmp_path, error, shown):
    from perfxl import app

    def run_action(*args):
        raise error

    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    monkeypatch.setattr(excel, "_caller", lambda: book)
    monkeypatch.setattr(app, "run_action", run_action)
    excel.check()
    [(message, title, mode)] = book.app.alerts
    assert message.startswith(shown) and mode == "critical" and "Traceback" not in message
    assert book.app.status_bar is False


def test_run_action_on_a_book_that_is_not_standard_tells_the_clerk(book):
    from perfxl import app

    outcome = app.run_action("check", excel.XlwingsSource(book), book.fullname)
    assert not outcome.ok and outcome.edits == () and "不是标准绩效自评工作簿" in outcome.message
    with pytest.raises(ValueError):
        app.run_action("save", excel.XlwingsSource(book), book.fullname)


@pytest.mark.parametrize("book_path", ["工作簿1", "Book1", ""], ids=["zh", "en", "empty"])
def test_an_unsaved_book_has_no_output_folder(book_path):
    from perfxl import app

    with pytest.raises(PerfxlError, match="保存"):
        app.output_dir(book_path)


def test_new_blank_never_overwrites(tmp_path):
    from perfxl import app

    here = tmp_path / "乐昌.xlsx"
    here.write_bytes(b"")
    first, second = app.new_blank(str(here)), app.new_blank(str(here))
    assert first.name == "部门整体支出绩效自评-空白表.xlsx"
    assert second.name == "部门整体支出绩效自评-空白表 (2).xlsx"
    assert FileSource(second).tables()  # a real standard workbook


def test_every_edit_the_pipeline_makes_applies_to_an_open_book(sample_copy):
    """One click of 一键完成 on the sample, against the fake open book: each edit kind the
    pipeline produces has a handler, and the report lands beside the workbook."""
    from perfxl import app
    from perfxl.cellref import parse_sheet_ref

    book = fake_book_from_file(sample_copy)
    outcome = app.run_action("all", excel.XlwingsSource(book), str(sample_copy))
    assert outcome.ok, outcome.message
    excel.apply_edits(book, outcome.edits)

    sheet, cell = parse_sheet_ref(FileSource(sample_copy).defined_names()["score_total"])
    assert any(c[:3] == ("formula", sheet, cell) for c in book.log)
    marked = {(e.sheet, e.cell.upper()) for e in outcome.edits if type(e).__name__ == "MarkCell"}
    assert {(c[1], c[2]) for c in book.log if c[0] == "add_rule"} == marked
    assert ("save",) not in book.log
    assert outcome.report == sample_copy.with_name(f"{sample_copy.stem}-自评报告.docx")
    assert outcome.report.is_file()


class FakeSheetApi:
    """The COM side of a protected sheet: writing a cell fails while it is protected."""

    def __init__(self, log):
        self.log, self.ProtectContents = log, True

    def Unprotect(self):
        self.ProtectContents = False
        self.log.append(("unprotect",))

    def Protect(self, **options):
        self.ProtectContents = True
        self.log.append(("protect", tuple(sorted(options.items()))))


def test_protected_sheets_are_unprotected_while_writing_and_protected_again(book):
    book.sheets["评分表"].api = FakeSheetApi(book.log)
    excel.apply_edits(book, [SetCell("评分表", "H12", 0.7712, formula="ROUND(C7/C5,4)")])
    assert book.log == [("unprotect",), ("formula", "评分表", "H12", "=ROUND(C7/C5,4)"),
                        ("protect", (("AllowFormattingColumns", True), ("AllowFormattingRows", True),
                                     ("Contents", True)))]
    assert book.sheets["评分表"].api.ProtectContents


def test_addin_install_prints_where_the_addin_went(monkeypatch, capsys, tmp_path):
    """On Windows/Mac ``perfxl addin install`` ends by naming the installed file (it handed a
    Path to the text printer and failed with a TypeError after installing; found by mypy)."""
    from perfxl import cli

    target = tmp_path / "XLSTART" / addin.ADDIN_NAME
    monkeypatch.setattr(addin, "install", lambda **kw: target)
    assert cli.main(["addin", "install"]) == 0
    assert f"已安装 Excel 加载项：{target}" in capsys.readouterr().out
