"""Spreadsheet expressions: a small tree (:class:`Expr`) with two executors.

:func:`evaluate` computes a tree in Python with spreadsheet semantics (empty cells, ``""``
results, error values, Excel/LibreOffice tolerant comparison and addition, ROUND half away from
zero); :func:`render` turns the same tree into the Excel formula text that
:mod:`perfxl.writeback` writes.  Knows nothing of rule packs: :mod:`perfxl.formulas` builds the
scoring rules out of these trees.

Only functions every engine computes alike are available: IF, AND, OR, MIN, MAX, ROUND, SUM,
SUMIFS, COUNTIFS, COUNTA, IFERROR, INDEX, MATCH.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Callable, Iterable, Protocol, TypeAlias

from .cellref import quote_sheet



# ---------------------------------------------------------------------------------------------
# Values.  A cell value is float | str | bool | None (None: an empty cell) | XlError.
# A formula whose result is "" shows an empty cell; Python callers see it as None.


@dataclass(frozen=True)
class XlError:
    """A spreadsheet error value such as ``#DIV/0!``; propagates like in Excel."""

    code: str


XlValue: TypeAlias = "float | str | bool | None | XlError"  # one cell as a spreadsheet sees it
XlResult: TypeAlias = "XlValue | list[XlValue]"  # a range name's cells are a list


DIV0, VALUE, NA, NAME, REF, NUM = (XlError(c) for c in ("#DIV/0!", "#VALUE!", "#N/A", "#NAME?", "#REF!", "#NUM!"))

_E48 = 1.0 / (16777216.0 * 16777216.0)  # 2**-48: LibreOffice's rtl::math::approxEqual
_E44 = _E48 * 16.0


def approx_equal(a: float, b: float) -> bool:
    """Equality as spreadsheet engines compare numbers (relative tolerance 2**-48)."""
    if a == b:
        return True
    if a == 0.0 or b == 0.0:
        return False
    d = abs(a - b)
    if not math.isfinite(d):
        return False
    a, b = abs(a), abs(b)
    if d > a * _E44 or d > b * _E44:
        return False
    return d < a * _E48 and d < b * _E48


def approx_add(a: float, b: float) -> float:
    """a + b, snapped to 0 when the operands cancel within tolerance (as engines do)."""
    if ((a < 0.0 < b) or (b < 0.0 < a)) and approx_equal(a, -b):
        return 0.0
    return a + b


def approx_sub(a: float, b: float) -> float:
    if ((a < 0.0 and b < 0.0) or (a > 0.0 and b > 0.0)) and approx_equal(a, b):
        return 0.0
    return a - b


def excel_round(x: float, digits: int = 2) -> float:
    """Excel's ROUND: on the 15-significant-digit value, half away from zero.

    (Python's ``round`` rounds half to even on the binary value: round(2.675, 2) == 2.67.)
    """
    if not math.isfinite(x):
        return x
    d = Decimal(format(x, ".15g"))
    q = Decimal(1).scaleb(-digits)
    # a context wide enough for any float (the default 28 digits overflow at 1e28)
    return float(d.quantize(q, rounding=ROUND_HALF_UP, context=_WIDE)) + 0.0  # + 0.0: no -0.0


_WIDE = Context(prec=400)


# ---------------------------------------------------------------------------------------------
# Expression nodes


Operand: TypeAlias = "Expr | float | str"  # what operators and the function builders accept


class Expr:
    """Base of the expression tree; arithmetic operators build :class:`BinOp` nodes,
    ``eq/ne/lt/le/gt/ge`` build :class:`Compare` nodes."""

    def __add__(self, o: Operand) -> BinOp: return BinOp("+", self, lit(o))
    def __radd__(self, o: Operand) -> BinOp: return BinOp("+", lit(o), self)
    def __sub__(self, o: Operand) -> BinOp: return BinOp("-", self, lit(o))
    def __rsub__(self, o: Operand) -> BinOp: return BinOp("-", lit(o), self)
    def __mul__(self, o: Operand) -> BinOp: return BinOp("*", self, lit(o))
    def __rmul__(self, o: Operand) -> BinOp: return BinOp("*", lit(o), self)
    def __truediv__(self, o: Operand) -> BinOp: return BinOp("/", self, lit(o))
    def __rtruediv__(self, o: Operand) -> BinOp: return BinOp("/", lit(o), self)

    def eq(self, o: Operand) -> Compare: return Compare("=", self, lit(o))
    def ne(self, o: Operand) -> Compare: return Compare("<>", self, lit(o))
    def lt(self, o: Operand) -> Compare: return Compare("<", self, lit(o))
    def le(self, o: Operand) -> Compare: return Compare("<=", self, lit(o))
    def gt(self, o: Operand) -> Compare: return Compare(">", self, lit(o))
    def ge(self, o: Operand) -> Compare: return Compare(">=", self, lit(o))

    def blank(self) -> Compare:
        """``x=""``: true for an empty cell and for a formula that shows nothing."""
        return Compare("=", self, Text(""))


@dataclass(frozen=True, eq=False)
class Num(Expr):
    value: float


@dataclass(frozen=True, eq=False)
class Text(Expr):
    value: str


@dataclass(frozen=True, eq=False)
class Name(Expr):
    """A workbook-scope defined name (an input, a rate, a score, a parameter or a range)."""

    name: str


@dataclass(frozen=True, eq=False)
class Cell(Expr):
    """One cell by address (the same-row cells of an award row)."""

    sheet: str
    cell: str


@dataclass(frozen=True, eq=False)
class BinOp(Expr):
    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Compare(Expr):
    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Call(Expr):
    fn: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, eq=False)
class TableAgg(Expr):
    """SUMIFS / COUNTIFS / COUNTA over columns of an Excel table, rendered as A1 ranges.

    ``criteria``: (header, criterion) pairs; a criterion is a text to match (case-insensitive)
    or ``"<>"`` (not empty).
    """

    fn: str
    table: str
    target: str | None
    criteria: tuple[tuple[str, str], ...] = ()


def any_blank(names: Iterable[str]) -> Expr:
    """``x=""`` for one name, ``OR(x="",y="",…)`` for several."""
    tests = [Name(n).blank() for n in names]
    return tests[0] if len(tests) == 1 else OR(*tests)


def lit(v: Operand) -> Expr:
    """An operand as an expression: a node as it is, a text as :class:`Text`, a number as :class:`Num`."""
    if isinstance(v, Expr):
        return v
    if isinstance(v, str):
        return Text(v)
    return Num(v)


def _call(fn: str) -> Callable[..., Call]:
    return lambda *args: Call(fn, tuple(lit(a) for a in args))


IF, AND, OR, MIN, MAX, ROUND, SUM, IFERROR, INDEX, MATCH = (
    _call(f) for f in ("IF", "AND", "OR", "MIN", "MAX", "ROUND", "SUM", "IFERROR", "INDEX", "MATCH"))


def SUMIFS(table: str, target: str, *criteria: tuple[str, str]) -> TableAgg:
    return TableAgg("SUMIFS", table, target, tuple(criteria))


def COUNTIFS(table: str, *criteria: tuple[str, str]) -> TableAgg:
    return TableAgg("COUNTIFS", table, None, tuple(criteria))


def COUNTA(table: str, target: str) -> TableAgg:
    return TableAgg("COUNTA", table, target)


# ---------------------------------------------------------------------------------------------
# Executor 1: Python, with spreadsheet semantics


class Env(Protocol):
    """What :func:`evaluate` reads: names and table columns, as the spreadsheet would see them."""

    def name(self, name: str) -> XlResult:
        """Value of a defined name (a list for a range name); XlError NAME when undefined."""

    def cell(self, sheet: str, cell: str) -> XlValue: ...

    def column(self, table: str, header: str) -> list[XlValue]:
        """The data cells of a table column, top to bottom (raises KeyError when absent)."""


def _number(v: XlResult) -> float | XlError:
    """A value used in arithmetic: empty → 0, TRUE → 1, numeric text → number, else #VALUE!."""
    if isinstance(v, XlError):
        return v
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return float(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        return _text_number(v)
    return VALUE


_TEXT_NUMBER = re.compile(r"^[+-]?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)?(\.[0-9]+)?([eE][+-]?[0-9]+)?%?$")


def _text_number(s: str) -> float | XlError:
    """Numeric text in arithmetic, converted as the engines do ('1,013.93', '77%', ' 12 ')."""
    s = s.strip()
    if not _TEXT_NUMBER.match(s) or not any(ch in "0123456789" for ch in s):
        return VALUE
    pct = s.endswith("%")
    f = float(s.rstrip("%").replace(",", ""))
    if not math.isfinite(f):  # '1e999': the engines do not read it as a number either
        return VALUE
    return f / 100 if pct else f


def _truth(v: XlResult) -> bool | XlError:
    if isinstance(v, XlError):
        return v
    if v is None:
        return False
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return v != 0
    if isinstance(v, str) and v.strip().upper() in ("TRUE", "FALSE"):
        return v.strip().upper() == "TRUE"
    return VALUE


def _rank(v: Any) -> int:
    return 2 if isinstance(v, bool) else 1 if isinstance(v, str) else 0


def _compare(op: str, a: XlResult, b: XlResult) -> bool | XlError:
    if isinstance(a, XlError):
        return a
    if isinstance(b, XlError):
        return b
    # An empty cell compares as "" against text, as 0 otherwise.
    if a is None:
        a = "" if isinstance(b, str) or b is None else (False if isinstance(b, bool) else 0.0)
    if b is None:
        b = "" if isinstance(a, str) else (False if isinstance(a, bool) else 0.0)
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        c = -1 if ra < rb else 1
    elif isinstance(a, str) and isinstance(b, str):
        x, y = a.casefold(), b.casefold()
        c = 0 if x == y else (-1 if x < y else 1)
    elif isinstance(a, bool) and isinstance(b, bool):
        c = 0 if a == b else (-1 if a < b else 1)
    else:  # two numbers
        if isinstance(a, list) or isinstance(b, list):
            raise TypeError("a range compared as one number")  # no scoring rule does
        fa, fb = float(a), float(b)
        c = 0 if approx_equal(fa, fb) else (-1 if fa < fb else 1)
    return {"=": c == 0, "<>": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]


def _finite(x: float) -> float | XlError:
    """A numeric result, or #NUM! when it overflowed (1e300 / 1e-300): the engines show #NUM!."""
    return x if math.isfinite(x) else NUM


def _sum(nums: Iterable[float]) -> float | XlError:
    """SUM with the engines' overflow result (math.fsum raises OverflowError instead of inf)."""
    try:
        return _finite(math.fsum(nums))
    except OverflowError:
        return NUM


def _arith(op: str, a: XlResult, b: XlResult) -> float | XlError:
    x, y = _number(a), _number(b)
    if isinstance(x, XlError):
        return x
    if isinstance(y, XlError):
        return y
    if op == "+":
        return _finite(approx_add(x, y))
    if op == "-":
        return _finite(approx_sub(x, y))
    if op == "*":
        return _finite(x * y)
    if y == 0:
        return DIV0
    return _finite(x / y)


def _criterion_matches(criterion: str, v: XlValue) -> bool:
    if criterion == "<>":
        return v is not None and v != ""
    return isinstance(v, str) and v.casefold() == criterion.casefold()


def _aggregate_args(node: Call, env: Env) -> list[float] | XlError:
    """Numbers of SUM/MIN/MAX: a reference to an empty or text cell is skipped (as in Excel)."""
    out = []
    for arg in node.args:
        v = evaluate(arg, env)
        if isinstance(v, XlError):
            return v
        if isinstance(arg, (Name, Cell)):
            items = v if isinstance(v, list) else [v]
            out += [float(i) for i in items if isinstance(i, (int, float)) and not isinstance(i, bool)]
            continue
        n = _number(v)
        if isinstance(n, XlError):
            return n
        out.append(n)
    return out


def _call_eval(node: Call, env: Env) -> XlResult:
    fn, args = node.fn, node.args
    if fn == "IF":
        c = _truth(evaluate(args[0], env))
        if isinstance(c, XlError):
            return c
        if c:
            return evaluate(args[1], env)
        return evaluate(args[2], env) if len(args) > 2 else False
    if fn == "IFERROR":
        v = evaluate(args[0], env)
        return evaluate(args[1], env) if isinstance(v, XlError) else v
    if fn in ("AND", "OR"):
        vals = [_truth(evaluate(a, env)) for a in args]
        for v in vals:
            if isinstance(v, XlError):
                return v
        return all(vals) if fn == "AND" else any(vals)
    if fn in ("MIN", "MAX", "SUM"):
        nums = _aggregate_args(node, env)
        if isinstance(nums, XlError):
            return nums
        if fn == "SUM":
            return _sum(nums)
        if not nums:
            return 0.0
        return min(nums) if fn == "MIN" else max(nums)
    if fn == "ROUND":
        x, n = _number(evaluate(args[0], env)), _number(evaluate(args[1], env))
        if isinstance(x, XlError):
            return x
        if isinstance(n, XlError):
            return n
        return excel_round(x, int(n))
    if fn == "MATCH":  # exact match only (third argument 0)
        v = evaluate(args[0], env)
        rng = evaluate(args[1], env)
        if isinstance(v, XlError):
            return v
        if not isinstance(rng, list):
            rng = [rng]
        if v is None:
            return NA
        for i, item in enumerate(rng, start=1):
            if item is not None and _compare("=", v, item) is True:
                return float(i)
        return NA
    if fn == "INDEX":
        rng, k = evaluate(args[0], env), _number(evaluate(args[1], env))
        if isinstance(k, XlError):
            return k
        if not isinstance(rng, list):
            rng = [rng]
        i = int(k)
        return rng[i - 1] if 1 <= i <= len(rng) else REF
    raise ValueError(f"unknown function {fn}")


def evaluate(node: Expr, env: Env) -> XlResult:
    """Compute ``node`` as a spreadsheet would: one :data:`XlValue` (a list for a range name)."""
    if isinstance(node, Num):
        return float(node.value)
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Name):
        return env.name(node.name)
    if isinstance(node, Cell):
        return env.cell(node.sheet, node.cell)
    if isinstance(node, BinOp):
        return _arith(node.op, evaluate(node.a, env), evaluate(node.b, env))
    if isinstance(node, Compare):
        return _compare(node.op, evaluate(node.a, env), evaluate(node.b, env))
    if isinstance(node, Call):
        return _call_eval(node, env)
    if isinstance(node, TableAgg):
        try:
            cols = {h: env.column(node.table, h) for h, _ in node.criteria}
            if node.target is not None:
                cols[node.target] = env.column(node.table, node.target)
        except KeyError:
            return REF
        n = len(next(iter(cols.values())))
        rows = [i for i in range(n) if all(_criterion_matches(c, cols[h][i]) for h, c in node.criteria)]
        if node.fn == "COUNTIFS":
            return float(len(rows))
        target = cols[_target(node)]
        if node.fn == "COUNTA":
            return float(sum(1 for v in target if v is not None and v != ""))
        err = next((target[i] for i in rows if isinstance(target[i], XlError)), None)
        if err is not None:  # SUMIFS shows the error of a summed cell (criteria cells' errors never match)
            return err
        return _sum(float(v) for v in (target[i] for i in rows)
                    if isinstance(v, (int, float)) and not isinstance(v, bool))
    raise TypeError(f"not an expression: {node!r}")


def _target(node: TableAgg) -> str:
    """The summed or counted column of SUMIFS / COUNTA (COUNTIFS has none)."""
    if node.target is None:
        raise TypeError(f"{node.fn} needs a target column: {node!r}")
    return node.target


def result(value: XlResult) -> float | str | None:
    """A formula result as Python callers see it: "" (and errors) → None, numbers → float."""
    if value is None or value == "" or isinstance(value, XlError):
        return None
    if isinstance(value, list):
        raise TypeError("a range is not one formula result")
    if isinstance(value, bool):
        return float(value)
    return value


# ---------------------------------------------------------------------------------------------
# Executor 2: Excel formula text


class Refs(Protocol):
    def column_range(self, table: str, header: str) -> str:
        """``'人员编制'!$H$9:$H$14`` for a table column's data cells (KeyError when absent)."""


def _num_text(v: float) -> str:
    if float(v).is_integer():
        return str(int(v))
    return repr(float(v))


def render(node: Expr, refs: Refs) -> str:
    """Excel formula text for ``node`` (without the leading ``=``)."""
    if isinstance(node, Num):
        t = _num_text(node.value)
        return f"({t})" if t.startswith("-") else t
    if isinstance(node, Text):
        return '"' + node.value.replace('"', '""') + '"'
    if isinstance(node, Name):
        return node.name
    if isinstance(node, Cell):
        return f"{quote_sheet(node.sheet)}!{node.cell}"
    if isinstance(node, (BinOp, Compare)):
        def side(x: Expr) -> str:
            s = render(x, refs)
            return f"({s})" if isinstance(x, (BinOp, Compare)) else s
        return f"{side(node.a)}{node.op}{side(node.b)}"
    if isinstance(node, Call):
        return f"{node.fn}(" + ",".join(render(a, refs) for a in node.args) + ")"
    if isinstance(node, TableAgg):
        if node.fn == "COUNTA":
            return f"COUNTA({refs.column_range(node.table, _target(node))})"
        parts = [refs.column_range(node.table, node.target)] if node.target else []
        for header, crit in node.criteria:
            parts += [refs.column_range(node.table, header), render(Text(crit), refs)]
        return f"{node.fn}(" + ",".join(parts) + ")"
    raise TypeError(f"not an expression: {node!r}")


_RENDERED: dict[int, tuple[Expr, str | None]] = {}  # saves 0.72 ms CPU a workbook (2.2%) (benchmarks/bench_memos.py: CPU its function spends with the memo off)


def rendered(node: Expr, refs: Refs) -> str:
    """:func:`render`, remembered per expression object when the text does not depend on
    ``refs`` (no table column range in it): the shared rate, indicator and total trees."""
    got = _RENDERED.get(id(node))
    if got is not None and got[0] is node:
        return got[1] if got[1] is not None else render(node, refs)
    text = render(node, refs)
    if len(_RENDERED) >= 4096:
        _RENDERED.clear()
    _RENDERED[id(node)] = (node, None if _uses_tables(node) else text)
    return text


def _uses_tables(node: Expr) -> bool:
    if isinstance(node, TableAgg):
        return True
    if isinstance(node, (BinOp, Compare)):
        return _uses_tables(node.a) or _uses_tables(node.b)
    if isinstance(node, Call):
        return any(_uses_tables(a) for a in node.args)
    return False


def names_used(node: Expr) -> set[str]:
    """Every defined name an expression refers to."""
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, (BinOp, Compare)):
        return names_used(node.a) | names_used(node.b)
    if isinstance(node, Call):
        return set().union(*(names_used(a) for a in node.args)) if node.args else set()
    return set()
