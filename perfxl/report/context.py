"""Model + scores → the report's context: a plain dict of already formatted Chinese text.

Everything the report says is decided here, by pure functions: number formatting
(:mod:`.numfmt`), sentence building, numbering of the analysis section from the rule pack's
tree, table rows.  The Word template only places these strings; a bureau that restyles the
template can never change a figure.

Figures come from the workbook (:class:`~perfxl.model.WorkbookModel`) and from the scoring
engine (``scores``: ``.rates``, ``.indicators``, ``.score_base``/``.score_bonus``/
``.score_total``, ``.grade``, ``.awards``); the only arithmetic done here is presentation
arithmetic (sums, differences and shares of workbook values for 表3 and 占总支出比重).  A value
the workbook lacks is printed as ``××`` — never invented.

Automatic indicators get a sentence built from the figures behind the rate they use
(:data:`RATE_SENTENCES`, keyed by rate name, so any rule pack that scores an indicator on
``rate_spending`` gets the spending sentence), followed by the clerk's 评价说明; manual
indicators print the clerk's 评价说明.  Every indicator ends with "该项自评得 X 分。".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from .. import schema
from ..model import Row, WorkbookModel
from . import numfmt as nf

# Characters XML 1.0 forbids, plus the ones docxtpl turns into structure (\a new paragraph,
# \f page break) — clerk text must stay text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_END_PUNCT = "。！？!?…"
_CLOSERS = "”’」』）)】"
_SELF_SCORE = re.compile(r"[，,。；;\s]*(该项目?|本项)?自评得分?[为:：]?\s*[\d.]+\s*分[。.]?\s*$")
_OWN_TYPES_EXCLUDED = ("工勤", "其他")  # not 编制 in the sense of the 编制构成 paragraph

SECTION_KEYS = (("自评结论", "二、自评结论"), ("主要绩效", "四、主要绩效"),
                ("存在问题", "五、存在问题"), ("改进措施", "六、改进措施"))
NARRATIVE_ORDER = ("四、主要绩效", "五、存在问题", "六、改进措施")
NOT_FILLED = "（未填写）"


# ---------------------------------------------------------------- text helpers

def clean(s: Any) -> str:
    """Clerk text as one clean string: control characters removed, newlines normalised."""
    if s is None:
        return ""
    s = str(s).replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    return _CONTROL.sub("", s).strip()


def paragraphs(s: Any) -> list[str]:
    """Clerk text split into its non-empty paragraphs (one per line)."""
    return [p.strip() for p in clean(s).split("\n") if p.strip()]


def sentence(s: str) -> str:
    """``s`` ending with a full stop: trailing commas/semicolons become '。'."""
    s = s.strip().rstrip("，,；;：:、 ")
    if not s:
        return ""
    if s.rstrip(_CLOSERS)[-1:] in _END_PUNCT or s[-1] in _END_PUNCT:
        return s
    return s + "。"


def strip_stop(s: str) -> str:
    """``s`` without its final full stop (to continue the sentence)."""
    return s.strip().rstrip("。.；;，, ")


def short_name(dept: str) -> str:
    """'乐昌市民政局' → '市民政局': the department as its own documents call it (place name
    dropped, administrative level kept); the full name when no level character is found."""
    m = re.match(r"^(.{2,}?)(省|市|县|区|州|旗)(.+)$", dept or "")
    if not m or len(m.group(3)) < 2:
        return dept
    return m.group(2) + m.group(3)


# ---------------------------------------------------------------- facts

def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _sum(*xs: float | None) -> float | None:
    """Sum of present values; None when none is present."""
    vals = [x for x in xs if x is not None]
    return round(sum(vals), 6) if vals else None


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


@dataclass(frozen=True)
class Facts:
    """What the sentence builders read: the model, the scores, the year and names."""

    model: WorkbookModel
    scores: Any
    year: str
    dept: str

    def num(self, name: str) -> float | None:
        return _num(self.model.get(name))

    def money(self, name: str) -> str:
        return nf.money(self.num(name))

    def rate(self, name: str) -> float | None:
        rates = getattr(self.scores, "rates", None) or {}
        return _num(rates.get(name))

    def pct(self, name: str) -> str:
        return nf.pct(self.rate(name))

    def rows(self, table: str) -> tuple[Row, ...]:
        t = self.model.table(table)
        return t.filled if t is not None else ()

    @property
    def prev_year(self) -> str:
        return str(int(self.year) - 1) if self.year.isdigit() else "上"


def _text(model: WorkbookModel, name: str) -> str:
    return clean(model.get(name))


# ---------------------------------------------------------------- sentence builders per rate

def _compare(actual: float | None, budget: float | None) -> str:
    if actual is None or budget is None:
        return "，预算安排数"
    if round(actual - budget, 6) < 0:
        return "，小于预算安排数"
    if round(actual - budget, 6) == 0:
        return "，等于预算安排数"
    return "，超过预算安排数"


def _s_spending(f: Facts) -> str:
    quota = _sum(f.num("quota_basic"), f.num("quota_project"))
    issued = f.num("issued_incl_special")
    if issued is None:
        issued = _sum(f.num("issued_basic"), f.num("issued_project"))
    head = (f"{f.dept}在{f.year}年共{nf.integer(f.num('payment_count'))}笔资金支出，"
            if f.num("payment_count") is not None else f"{f.dept}{f.year}")
    inner = []
    if f.num("special_account"):
        inner.append(f"含{f.money('special_account')}万元专户资金")
    if f.num("payable_unpaid"):
        inner.append(f"有{f.money('payable_unpaid')}万元应付未付")
    s = (head + f"年度的指标数共计{nf.money(quota)}万元，本年度已下达资金用款计划为{nf.money(issued)}万元"
         + (f"（{'，'.join(inner)}）" if inner else "") + f"，资金支出进度为{f.pct('rate_spending')}")
    if f.num("payable_unpaid"):
        s += f"（含应付未付资金则为{f.pct('rate_spending_incl_payable')}）"
    return s + "。"


def _s_issued(kind: str, label: str) -> Callable[[Facts], str]:
    def build(f: Facts) -> str:
        return (f"{label}指标数{f.money('quota_' + kind)}万元，已下达用款计划{f.money('issued_' + kind)}万元，"
                f"支出进度为{f.pct('rate_issued_' + kind)}。")
    return build


def _s_spending_incl_payable(f: Facts) -> str:
    return (f"计入应付未付资金{f.money('payable_unpaid')}万元后，资金支出进度为"
            f"{f.pct('rate_spending_incl_payable')}。")


def _s_carryover(f: Facts) -> str:
    s = (f"{f.year}年{f.dept}上级资金总量为{f.money('upper_funds_total')}万元，"
         f"结转结余{f.money('carryover_balance')}万元")
    if f.num("carryover_payable_excluded"):
        s += f"（已剔除应付未付资金{f.money('carryover_payable_excluded')}万元）"
    return s + f"，结转结余率为{f.pct('rate_carryover')}。"


def _s_stock(f: Facts) -> str:
    return (f"{f.prev_year}年度年末存量资金{f.money('stock_prev')}万元，{f.year}年度年末存量资金"
            f"{f.money('stock_curr')}万元，存量资金效率性（增长率）为{f.pct('rate_stock_change')}。")


def _s_staff(f: Facts) -> str:
    own = [r for r in f.rows("tbl_units") if clean(r.get("层级")) == "本级"]
    if not own:
        return f"本级人员编制情况未填报，财政供养人员控制率为{f.pct('rate_staff_control')}。"
    name = clean(own[0].get("单位名称")) or f.dept
    quotas, actual = [], []
    for i, r in enumerate(own):
        t = clean(r.get("编制类型")) or "其他"
        n = nf.integer(_num(r.get("核定编制数")))
        unit = "人" if t == "工勤" else "名"  # the reference counts 工勤 in 人
        quotas.append(f"{t}编制人数为{n}{unit}" if i == 0 else f"{t}编制{n}{unit}")
        a = nf.integer(_num(r.get("年末实有人数")))
        actual.append(f"工勤人员{a}人" if t == "工勤" else f"{t}在编{a}名")
    return (f"{name}{'，'.join(quotas)}，年末{'、'.join(actual)}。"
            f"财政供养人员控制率为{f.pct('rate_staff_control')}。")


def _s_sangong(f: Facts) -> str:
    a, b = f.num("sangong_actual"), f.num("sangong_budget")
    return (f"{f.year}年度{f.dept}“三公”经费实际支出数为{nf.money(a)}万元{_compare(a, b)}"
            f"{nf.money(b)}万元，实际支出率为{f.pct('rate_sangong')}。")


def _s_public(f: Facts) -> str:
    a, b = f.num("public_actual"), f.num("public_budget")
    return (f"日常公用经费实际支出数为{nf.money(a)}万元{_compare(a, b).replace('预算安排数', '日常公用经费预算数')}"
            f"{nf.money(b)}万元，实际支出率为{f.pct('rate_public')}。")


def _s_sme(f: Facts) -> str:
    parts = (("proc_goods", "货物"), ("proc_works", "工程"), ("proc_services", "服务"))
    total = _sum(*(f.num(n) for n, _ in parts))
    detail = "、".join(f"政府采购{label}支出{f.money(n)}万元" for n, label in parts if f.num(n) is not None)
    return (f"{f.year}年政府采购支出总额{nf.money(total)}万元" + (f"，其中：{detail}" if detail else "")
            + f"。授予中小企业合同金额{f.money('proc_sme')}万元，占政府采购支出总额的{f.pct('rate_sme_share')}。")


def _s_target_coverage(f: Facts) -> str:
    return f"{f.dept}设置了绩效目标的项目占全部项目的{f.pct('rate_target_coverage')}。"


def _task_summary(f: Facts) -> str:
    rows = f.rows("tbl_key_tasks")
    counts: dict[str, int] = {}
    for r in rows:
        s = clean(r.get("完成状态")) or "未填写状态"
        counts[s] = counts.get(s, 0) + 1
    n = len(rows)
    if counts.get("已完成") == n:
        return f"{n}项重点工作均已完成"
    return f"{n}项重点工作中" + "、".join(f"{k}{v}项" for k, v in counts.items())


#: Sentence builders keyed by the rate an automatic indicator uses.
RATE_SENTENCES: dict[str, Callable[[Facts], str]] = {
    "rate_spending": _s_spending,
    "rate_spending_incl_payable": _s_spending_incl_payable,
    "rate_issued_basic": _s_issued("basic", "基本支出"),
    "rate_issued_project": _s_issued("project", "项目支出"),
    "rate_carryover": _s_carryover,
    "rate_stock_change": _s_stock,
    "rate_staff_control": _s_staff,
    "rate_sangong": _s_sangong,
    "rate_public": _s_public,
    "rate_sme_share": _s_sme,
    "rate_target_coverage": _s_target_coverage,
}
#: Tables that belong to an indicator using this rate: (table kind, placed after the text?).
RATE_TABLES: dict[str, tuple[str, bool]] = {
    "rate_spending": ("spending", True),
    "rate_key_tasks": ("key_tasks", False),
}
_RATE_LABELS = {o.name: o.label for o in schema.RATE_OUTPUTS}


def indicator_rates(ind: Any) -> list[str]:
    """The rates an indicator is scored on: its ``input`` and the inputs of its checks."""
    out = []
    if getattr(ind, "input", None):
        out.append(ind.input)
    params = getattr(ind, "params", None) or {}
    for check in params.get("checks", ()) if isinstance(params, Mapping) else ():
        if isinstance(check, Mapping) and check.get("input") and check["input"] not in out:
            out.append(check["input"])
    return out


def _generic_rate(f: Facts, rate: str) -> str:
    return f"{_RATE_LABELS.get(rate, rate)}为{f.pct(rate)}。"


# ---------------------------------------------------------------- indicators

def _score_of(scores: Any, ind_id: str) -> float | None:
    inds = getattr(scores, "indicators", None) or {}
    return _num(inds.get(ind_id))


def _notes(model: WorkbookModel) -> dict[str, list[str]]:
    """评价说明 paragraphs per indicator id (a clerk's own '该项自评得 X 分' is dropped: the
    report writes the computed score)."""
    t = model.table("tbl_scores")
    out: dict[str, list[str]] = {}
    for r in (t.filled if t else ()):
        ind_id = clean(r.get("指标编号"))
        paras = paragraphs(r.get("评价说明"))
        if paras:
            last = _SELF_SCORE.sub("", paras[-1])
            paras[-1:] = [sentence(last)] if last.strip() else []
        out[ind_id] = paras
    return out


def _indicator_blocks(f: Facts, ind: Any, note: list[str]) -> tuple[list[str], str, list[str]]:
    """(paragraphs before the table, table kind or '', paragraphs after the table)."""
    rates = [] if getattr(ind, "manual", False) else indicator_rates(ind)
    table, table_after = "", True
    for r in rates:
        if r in RATE_TABLES:
            table, table_after = RATE_TABLES[r]
            break
    if "rate_key_tasks" in rates:
        n = len(f.rows("tbl_key_tasks"))
        if n == 0:
            return [f"{f.year}年{f.dept}未填报重点工作任务，重点工作完成率为{f.pct('rate_key_tasks')}。"] + note, "", []
        intro = f"经过整理，{f.year}年{f.dept}共有{nf.cn_count(n)}项重点工作任务需要完成，如下表所示："
        lead = strip_stop(note[0]) if note else _task_summary(f)
        after = [f"从上表中可以看出，{lead}，部门重点工作完成率为{f.pct('rate_key_tasks')}。"] + note[1:]
        return [intro], "key_tasks", after
    if "rate_spending" in rates and f.num("payable_unpaid"):  # its sentence already gives this rate
        rates = [r for r in rates if r != "rate_spending_incl_payable"]
    built = "".join(RATE_SENTENCES.get(r, lambda f_, r_=r: _generic_rate(f_, r_))(f) for r in rates)
    paras = ([built + (note[0] if note else "")] + note[1:]) if built else list(note)
    if not table or table_after:
        return paras, table, []
    return [], table, paras


def _add_score(before: list[str], after: list[str], score: float | None) -> None:
    text = f"该项自评得{nf.points(score)}分。"
    target = after if after else before
    if target:
        target[-1] = sentence(target[-1]) + text
    else:
        target.append(text)


def _analysis(f: Facts, pack: Any) -> list[dict]:
    notes = _notes(f.model)
    tree = getattr(pack, "tree", {}) or {}
    groups: dict[str, dict[str, list]] = {}
    for ind in pack.indicators:
        groups.setdefault(ind.level1, {}).setdefault(ind.level2, []).append(ind)
    out = []
    for gi, (l1, subs) in enumerate(groups.items(), start=1):
        pts = tree.get(l1)
        if pts is None:
            pts = sum(i.points for s in subs.values() for i in s)
        g = {"heading": f"（{nf.cn_ordinal(gi)}）{l1}（{nf.points(pts)}分）", "subgroups": [],
             "name": l1, "points": nf.points(pts),
             "score": nf.points(_sum(*(_score_of(f.scores, i.id) for s in subs.values() for i in s)))}
        for si, (l2, inds) in enumerate(subs.items(), start=1):
            sub = {"heading": f"{si}.{l2}。", "name": l2, "indicators": []}
            for ii, ind in enumerate(inds, start=1):
                before, table, after = _indicator_blocks(f, ind, list(notes.get(ind.id, [])))
                score = _score_of(f.scores, ind.id)
                _add_score(before, after, score)
                heading = "" if len(inds) == 1 else f"（{ii}）{ind.name}（{nf.points(ind.points)}分）。"
                sub["indicators"].append({"id": ind.id, "heading": heading, "name": ind.name,
                                     "points": nf.points(ind.points), "score": nf.points(score),
                                     "before": before, "table": table, "after": after})
            g["subgroups"].append(sub)
        out.append(g)
    return out


# ---------------------------------------------------------------- section 一

def _units_text(f: Facts) -> str:
    subs = _distinct(clean(r.get("单位名称")) for r in f.rows("tbl_units") if clean(r.get("层级")) == "下属")
    if not subs:
        return f"纳入{f.dept}预算管理的单位仅为本级，无下属单位。"
    return (f"纳入{f.dept}预算管理的单位除本级外共{len(subs)}个，包括{nf.join_cn(subs)}"
            f"{nf.cn_count(len(subs))}个下属单位。")


def _distinct(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        if n:
            seen.setdefault(n, None)
    return list(seen)


def _staffed(r: Row) -> bool:
    return (clean(r.get("编制类型")) or "其他") not in _OWN_TYPES_EXCLUDED


def _staff_paras(f: Facts) -> list[str]:
    units = [r for r in f.rows("tbl_units") if clean(r.get("单位名称"))]
    if not units:
        return ["人员编制情况未填报。"]
    own = [r for r in units if clean(r.get("层级")) == "本级" and _staffed(r)]
    subs = [r for r in units if clean(r.get("层级")) == "下属" and _staffed(r)]
    first = []
    if own:
        name = clean(own[0].get("单位名称"))
        first.append(name + "、".join(f"{clean(r.get('编制类型'))}编制人数为{nf.integer(_num(r.get('核定编制数')))}名"
                                      for r in own))
    if subs:
        names = [clean(r.get("单位名称")) for r in subs]
        types = _distinct(clean(r.get("编制类型")) for r in subs)
        nums = [nf.integer(_num(r.get("核定编制数"))) for r in subs]
        total = nf.integer(_sum(*(_num(r.get("核定编制数")) for r in subs)))
        if len(types) == 1 and len(subs) > 1 and len(set(names)) == len(names):
            first.append(f"{nf.join_cn(names)}的{types[0]}编制分别为{nf.join_cn(n + '名' for n in nums)}，共计{total}名")
        elif len(subs) == 1:
            first.append(f"{names[0]}的{types[0]}编制为{nums[0]}名")
        else:
            first.append("、".join(f"{clean(r.get('单位名称'))}{clean(r.get('编制类型'))}编制{n}名"
                                  for r, n in zip(subs, nums)) + f"，共计{total}名")
    paras = [sentence("，".join(first))] if first else []

    stated = f.num("staff_actual_stated")
    listed = own + subs
    total_actual = stated if stated is not None else _sum(*(_num(r.get("年末实有人数")) for r in listed))
    funded = [r for r in listed if "自理" not in clean(r.get("经费保障"))]
    selfpaid = [r for r in listed if "自理" in clean(r.get("经费保障"))]

    def actual(r: Row, unit: str) -> str:
        t = clean(r.get("编制类型"))
        return f"{clean(r.get('单位名称'))}{t}{'在' if t in ('行政', '参公') else ''}编{nf.integer(_num(r.get('年末实有人数')))}{unit}"

    s = f"本部门{f.year}年年末实际编制{nf.integer(total_actual)}人" + ("（含下属单位）" if subs else "")
    if funded:
        s += f"，其中{nf.join_cn(actual(r, '名') for r in funded)}"
    if selfpaid:
        s += "，另有" + nf.join_cn(actual(r, "人").replace(clean(r.get("单位名称")), clean(r.get("单位名称")) + "经费自理", 1)
                                 for r in selfpaid)
    paras.append(sentence(s))

    nature = _nature_sentence([r for r in units if clean(r.get("层级")) == "下属"])
    if nature:
        paras.append(nature)
    return paras


def _nature_sentence(subs: Sequence[Row]) -> str:
    """'A、B、C三个单位为公益一类事业单位，由财政全额拨款提供…；D为公益二类事业单位，人员经费自理。'"""
    groups: dict[tuple[str, str], list[str]] = {}
    for r in subs:
        nature, funding = clean(r.get("单位性质")), clean(r.get("经费保障"))
        if not nature and not funding:
            continue
        names = groups.setdefault((nature, funding), [])
        if clean(r.get("单位名称")) not in names:
            names.append(clean(r.get("单位名称")))
    parts = []
    for (nature, funding), names in groups.items():
        who = (("、".join(names) + f"{nf.cn_count(len(names))}个单位") if len(names) > 1 else names[0])
        kind = nature if (not nature or nature.endswith("单位")) else nature + "事业单位"
        if "自理" in funding:
            how = "人员经费自理"
        elif funding.startswith("财政"):
            how = f"由{funding}提供基本的工资待遇和其他后勤保障"
        elif funding:
            how = f"经费保障方式为{funding}"
        else:
            how = ""
        parts.append(f"{who}为{kind}" + (f"，{how}" if how else "") if kind else f"{who}{how}")
    return sentence("；".join(parts)) if parts else ""


def _income_text(f: Facts) -> str:
    parts = [f"{schema.FIELD_BY_NAME[n].label}{f.money(n)}万元"
             for n in ("income_general", "income_fund", "income_other") if f.num(n)]
    return f"{f.year}年{f.dept}总收入{f.money('income_total')}万元" + (f"，其中，{'，'.join(parts)}" if parts else "") + "。"


def _expense_paras(f: Facts) -> list[str]:
    total = f.num("exp_total")
    desc = strip_stop(_text(f.model, "exp_project_desc"))
    return [
        f"{f.dept}{f.year}年度财政拨款支出合计{f.money('exp_total')}万元。",
        f"基本支出{f.money('exp_basic')}万元，占总支出比重的{nf.share(_div(f.num('exp_basic'), total))}，"
        f"其中人员经费支出{f.money('exp_personnel')}万元，公用经费支出{f.money('exp_public')}万元。",
        f"项目支出{f.money('exp_project')}万元，占总支出比重的{nf.share(_div(f.num('exp_project'), total))}"
        + (f"，{desc}" if desc else "") + "。",
    ]


def _targets(f: Facts) -> list[dict]:
    out, prev = [], None
    for r in f.rows("tbl_targets"):
        t = clean(r.get("指标类型"))
        out.append({"type": "" if t == prev else t, "content": clean(r.get("指标内容")),
                    "value": clean(r.get("指标值")), "actual": clean(r.get("实际完成值")),
                    "done": clean(r.get("是否完成"))})
        prev = t
    return out


# ---------------------------------------------------------------- tables 3, 4, 5

def _spending_table(f: Facts) -> dict:
    qb, qp = f.num("quota_basic"), f.num("quota_project")
    ib, ip = f.num("issued_basic"), f.num("issued_project")
    qt, it = _sum(qb, qp), _sum(ib, ip)
    bb = None if qb is None or ib is None else qb - ib
    bp = None if qp is None or ip is None else qp - ip
    bt = None if qt is None or it is None else qt - it

    def line(q, i, b, rate, tot=False):
        return {"quota": nf.money(q), "issued": nf.money(i), "balance": nf.money(b), "progress": nf.pct(rate),
                "quota_share": nf.pct(_div(q, qt)), "issued_share": nf.pct(_div(i, it)),
                "balance_share": nf.pct(_div(b, bt))}

    return {"basic": line(qb, ib, bb, f.rate("rate_issued_basic")),
            "project": line(qp, ip, bp, f.rate("rate_issued_project")),
            "total": line(qt, it, bt, f.rate("rate_spending"))}


def _key_tasks(f: Facts) -> list[dict]:
    return [{"no": nf.integer(_num(r.get("序号"))) if r.get("序号") is not None else str(i),
             "task": clean(r.get("重点工作")), "progress": clean(r.get("进展情况")),
             "status": clean(r.get("完成状态"))}
            for i, r in enumerate(f.rows("tbl_key_tasks"), start=1)]


def award_scores(scores: Any, rows: Sequence[Row]) -> list[float | None]:
    """Each tbl_awards row's signed score, in row order: ``scores.awards`` holds (sheet row,
    score) of the 加分 rows and ``scores.deductions`` (sheet row, points) of the 减分 rows."""
    by_row: dict[int, float | None] = {}
    for item in getattr(scores, "awards", None) or ():
        if isinstance(item, (tuple, list)) and len(item) == 2:
            by_row[item[0]] = _num(item[1])
    for item in getattr(scores, "deductions", None) or ():
        if isinstance(item, (tuple, list)) and len(item) == 2 and _num(item[1]) is not None:
            by_row[item[0]] = -abs(_num(item[1]))
    return [by_row.get(r.row) for r in rows]


def _awards(f: Facts) -> list[dict]:
    rows = f.rows("tbl_awards")
    pts = award_scores(f.scores, rows)
    out = []
    for i, (r, p) in enumerate(zip(rows, pts), start=1):
        out.append({"no": nf.integer(_num(r.get("序号"))) if r.get("序号") is not None else str(i),
                    "name": clean(r.get("项目名称")), "authority": clean(r.get("授奖机关")),
                    "date": nf.dot_date(r.get("授奖时间")), "basis": clean(r.get("授奖依据")),
                    "level": clean(r.get("授奖级别")), "kind": clean(r.get("类型")),
                    "score": nf.points(p)})
    return out


# ---------------------------------------------------------------- narrative

def _section_of(chapter: str) -> str:
    c = re.sub(r"\s+", "", chapter)
    for key, title in SECTION_KEYS:
        if key in c:
            return title
    return c


def _narrative(model: WorkbookModel) -> dict[str, list[dict]]:
    """Blocks per section: a 标题 alone is a heading paragraph; a 标题 with 正文 leads the
    first paragraph in bold; further lines of 正文 are paragraphs of their own."""
    t = model.table("tbl_narrative")
    out: dict[str, list[dict]] = {}
    for r in (t.filled if t else ()):
        sec = _section_of(clean(r.get("章节")) or "四、主要绩效")
        title, body = clean(r.get("标题")), paragraphs(r.get("正文"))
        blocks = out.setdefault(sec, [])
        if title and not body:
            blocks.append({"heading": True, "lead": "", "text": title})
            continue
        for i, p in enumerate(body):
            blocks.append({"heading": False, "lead": title if i == 0 else "", "text": p})
    return out


def _narrative_sections(blocks: Mapping[str, list[dict]]) -> list[dict]:
    order = list(NARRATIVE_ORDER) + [s for s in blocks if s not in NARRATIVE_ORDER and s != "二、自评结论"]
    out = []
    for i, sec in enumerate(order, start=4):
        heading = sec if re.match(r"^[一二三四五六七八九十]+、", sec) else f"{nf.cn_ordinal(i)}、{sec}"
        out.append({"heading": heading,
                    "blocks": blocks.get(sec) or [{"heading": False, "lead": "", "text": NOT_FILLED}]})
    return out


# ---------------------------------------------------------------- the whole context

def _findings(findings: Iterable[Any] | None) -> list[dict]:
    return [{"code": getattr(x, "code", ""), "severity": getattr(x, "severity", ""),
             "where": getattr(x, "ref", ""), "message": clean(getattr(x, "message", ""))}
            for x in (findings or ())]


def build(model: WorkbookModel, scores: Any, pack: Any, findings: Iterable[Any] | None = None) -> dict:
    """The report context: only ``str``, lists and dicts of ``str`` (and ``bool``); no ``None``
    except the chart slots the renderer fills.  Pure: same inputs, same dict."""
    year_v = model.get("fiscal_year")
    year = nf.integer(_num(year_v)) if _num(year_v) is not None else (clean(year_v) or nf.MISSING)
    dept = _text(model, "dept_name") or nf.MISSING
    f = Facts(model, scores, year, dept)
    narrative = _narrative(model)
    groups = _analysis(f, pack)

    # Table numbers follow the order tables appear in, so another pack's tree renumbers them.
    kinds = [i["table"] for g in groups for s in g["subgroups"] for i in s["indicators"] if i["table"]]
    awards = _awards(f)
    numbers = {"duties": 1, "targets": 2}
    for k in kinds:
        numbers.setdefault(k, len(numbers) + 1)
    numbers["awards"] = len(numbers) + 1
    all_plus = all(a["kind"] != "减分" for a in awards)
    captions = {
        "duties": f"表{numbers['duties']} 部门主要职责",
        "targets": f"表{numbers['targets']} 部门整体支出绩效目标情况",
        "spending": f"表{numbers.get('spending', '')} 不同类型支出的支出进度统计表",
        "key_tasks": f"表{numbers.get('key_tasks', '')} {year}年{dept}重点工作完成情况表",
        "awards": f"表{numbers['awards']} 创新性亮点工作{'加分' if all_plus else '加减分'}申报表",
    }

    duties = [{"no": nf.integer(_num(r.get("序号"))) if _num(r.get("序号")) is not None else str(i),
               "text": clean(r.get("主要职责"))} for i, r in enumerate(f.rows("tbl_duties"), start=1)]
    basis = strip_stop(_text(model, "duty_basis"))
    duties_intro = ((f"{basis}文件，" if basis else "") + f"{short_name(dept)}履行的主要职责共有{len(duties)}项，"
                    f"具体内容如表{numbers['duties']}所示：")
    goal = _text(model, "overall_goal")
    annual, executed = f.num("budget_annual"), f.num("budget_executed")
    conclusion = [f"根据年初设定的绩效目标，部门整体支出绩效自评得分为{nf.points(_num(getattr(scores, 'score_total', None)))}分。"
                  f"全年预算数{nf.money(annual)}万元，执行数{nf.money(executed)}万元，"
                  f"完成预算的{nf.pct(_div(executed, annual))}。"]
    conclusion += [b["text"] if not b["lead"] else b["lead"] + b["text"] for b in narrative.get("二、自评结论", [])]
    last_group = groups[-1]["subgroups"] if groups else []
    bonus = nf.points(_num(getattr(scores, "score_bonus", None)))

    return {
        # cover
        "attachment_label": _text(model, "attachment_label"),
        "title": f"{year}年度部门整体支出绩效自评报告",
        "year": year,
        "dept_name": dept,
        "dept_short": short_name(dept),
        "dept_head": _text(model, "dept_head"),
        "preparer": _text(model, "preparer"),
        "phone": _text(model, "phone"),
        "report_date": nf.date(model.get("report_date")) if model.get("report_date") else "",
        # 一、部门的基本情况
        "duties_intro": duties_intro,
        "duties": duties,
        "units_text": _units_text(f),
        "staff_paras": _staff_paras(f),
        "income_text": _income_text(f),
        "expense_paras": _expense_paras(f),
        "goal_text": f"{dept}确定了{year}年部门整体支出总体绩效目标：" + (sentence(goal) if goal else NOT_FILLED),
        "targets": _targets(f),
        # 二、自评结论
        "conclusion_paras": conclusion,
        # 三、绩效分析
        "groups": groups,
        "spending": _spending_table(f),
        "key_tasks": _key_tasks(f),
        "awards_heading": f"{len(last_group) + 1}.加减分项。该项自评得{bonus}分。",
        "awards": awards,
        "has_awards": bool(awards),
        "captions": captions,
        # 四、五、六
        "narrative": _narrative_sections(narrative),
        # figures (for templates that want them anywhere)
        "score_total": nf.points(_num(getattr(scores, "score_total", None))),
        "score_base": nf.points(_num(getattr(scores, "score_base", None))),
        "score_bonus": bonus,
        "grade": clean(getattr(scores, "grade", None)) or nf.MISSING,
        "fields": _formatted_fields(model),
        "rates": {k: nf.pct(_num(v)) for k, v in (getattr(scores, "rates", None) or {}).items()},
        "indicator_scores": {k: nf.points(_num(v)) for k, v in (getattr(scores, "indicators", None) or {}).items()},
        "findings": _findings(findings),
        # chart slots (filled by the renderer when charts are asked for)
        "chart_scores": None,
        "chart_expense": None,
    }


def _formatted_fields(model: WorkbookModel) -> dict[str, str]:
    out = {}
    for fd in schema.FIELDS:
        v = model.get(fd.name)
        if fd.kind == schema.MONEY:
            out[fd.name] = nf.money(_num(v))
        elif fd.kind == schema.INT:
            out[fd.name] = nf.integer(_num(v))
        elif fd.kind == schema.DATE:
            out[fd.name] = nf.date(v) if v else ""
        elif fd.kind == schema.RATE:
            out[fd.name] = nf.pct(_num(v))
        else:
            out[fd.name] = clean(v)
    return out


def chart_data(model: WorkbookModel, scores: Any, pack: Any) -> dict:
    """Numbers for the optional charts: per 一级指标 (name, score, points) and the
    expenditure composition [(label, 万元)]."""
    groups: dict[str, list] = {}
    for ind in pack.indicators:
        g = groups.setdefault(ind.level1, [0.0, 0.0])
        g[0] += _score_of(scores, ind.id) or 0.0
        g[1] += float(ind.points)
    tree = getattr(pack, "tree", {}) or {}
    return {
        "groups": [(name, round(s, 2), float(tree.get(name, p))) for name, (s, p) in groups.items()],
        "expense": [(label, _num(model.get(n)) or 0.0)
                    for n, label in (("exp_personnel", "人员经费"), ("exp_public", "公用经费"), ("exp_project", "项目支出"))],
    }
