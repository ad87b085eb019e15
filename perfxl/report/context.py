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

Automatic indicators are explained from data (:mod:`.explain`): each rate's formula with its
inputs' labels and figures, then the pack's rule applied to it, followed by the clerk's 评价说明.
A pack with ``report_wording = "reference"`` (the default pack, which reproduces the reference
report) keeps the reference report's sentences instead (:data:`RATE_SENTENCES`, keyed by rate
name); only its rates without such a sentence are explained.  Tables stay with the rate they
belong to in both.  Manual indicators print the clerk's 评价说明.  Every indicator ends with
"该项自评得 X 分。".
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from .. import schema
from ..model import Row, WorkbookModel
from . import explain, numfmt as nf
from .sentences import (RATE_SENTENCES, RATE_TABLES, Facts, as_number, field_text, indicator_rates, ratio,
                        sum_present, task_summary)
from .text import clean, paragraphs, sentence, short_name, strip_stop

if TYPE_CHECKING:
    from ..findings import Finding
    from ..rulepack import RulePack
    from ..scoring import Scores

_SELF_SCORE = re.compile(r"[，,。；;\s]*(该项目?|本项)?自评得分?[为:：]?\s*[\d.]+\s*分[。.]?\s*$")
_SPACES = re.compile(r"\s+")
_NUMBERED = re.compile(r"^[一二三四五六七八九十]+、")
_OWN_TYPES_EXCLUDED = ("工勤", "其他")  # not 编制 in the sense of the 编制构成 paragraph

SECTION_KEYS = (("自评结论", "二、自评结论"), ("主要绩效", "四、主要绩效"),
                ("存在问题", "五、存在问题"), ("改进措施", "六、改进措施"))
NARRATIVE_ORDER = ("四、主要绩效", "五、存在问题", "六、改进措施")
NOT_FILLED = "（未填写）"
STAFF_TYPE_MISSING = "（编制类型未填写）"


# ---------------------------------------------------------------- indicators

def _score_of(scores: Scores, ind_id: str) -> float | None:
    inds = getattr(scores, "indicators", None) or {}
    return as_number(inds.get(ind_id))


def _notes(model: WorkbookModel) -> dict[str, list[str]]:
    """评价说明 paragraphs per indicator id (a clerk's own '该项自评得 X 分' is dropped: the
    report writes the computed score)."""
    t = model.table("tbl_scores")
    out: dict[str, list[str]] = {}
    for r in (t.filled if t else ()):
        ind_id = clean(r.get("指标编号"))
        paras = paragraphs(r.get("评价说明"))
        if paras:
            last = paras[-1]
            if "自评" in last:  # the pattern needs it: a cheap test before the slow search
                last = _SELF_SCORE.sub("", last)
            paras[-1:] = [sentence(last)] if last.strip() else []
        out[ind_id] = paras
    return out


def _indicator_blocks(f: Facts, ind: Any, note: list[str], pack: Any = None) -> tuple[list[str], str, list[str]]:
    """(paragraphs before the table, table kind or '', paragraphs after the table)."""
    rates = [] if getattr(ind, "manual", False) else indicator_rates(ind)
    reference = getattr(pack, "report_wording", "explained") == "reference"
    table, table_after = "", True
    for r in rates:
        if r in RATE_TABLES:
            table, table_after = RATE_TABLES[r]
            break
    if "rate_key_tasks" in rates:
        n = len(f.rows("tbl_key_tasks"))
        why = "" if reference else explain.indicator_text(f, pack, ind)
        if n == 0:
            if why:
                return [f"{f.year}年{f.dept}未填报重点工作任务。{why}"] + note, "", []
            return [f"{f.year}年{f.dept}未填报重点工作任务，重点工作完成率为{f.pct('rate_key_tasks')}。"] + note, "", []
        intro = (f"经过整理，{f.year}年{f.dept}有一项重点工作任务需要完成，如下表所示：" if n == 1 else
                 f"经过整理，{f.year}年{f.dept}共有{nf.cn_count(n)}项重点工作任务需要完成，如下表所示：")
        lead = strip_stop(note[0]) if note else task_summary(f)
        done = f"，部门重点工作完成率为{f.pct('rate_key_tasks')}。" if not why else "。" + why
        after = [f"从上表中可以看出，{lead}{done}"] + note[1:]
        return [intro], "key_tasks", after
    if not reference:  # every rate from its definition, then the rule applied
        built = explain.indicator_text(f, pack, ind, rates)
    else:  # the reference report's sentences; a rate without one is explained
        if "rate_spending" in rates and f.num("payable_unpaid"):  # its sentence already gives this rate
            rates = [r for r in rates if r != "rate_spending_incl_payable"]
        built = "".join(RATE_SENTENCES[r](f) if r in RATE_SENTENCES else explain.rate_sentence(f, r) for r in rates)
        if rates and not any(r in RATE_SENTENCES for r in rates):
            built += explain.rule_sentence(f, pack, ind)
    paras = ([built + (note[0] if note else "")] + note[1:]) if built else list(note)
    if not table or table_after:
        return paras, table, []
    return [], table, paras


def score_sentence(score: float | None, points: float | None = None) -> str:
    """"该项自评得X分。"; a score not filled (or not computable) says so — never a number —
    and one above the indicator's points is flagged rather than printed as if valid."""
    if score is None:
        return f"该项尚未评分（自评得{nf.MISSING}分，相关数据未填写或无法计算）。"
    if points is not None and score > points + 1e-9:
        return f"该项自评得{nf.points(score)}分（超出该项分值{nf.points(points)}分，须核改）。"
    return f"该项自评得{nf.points(score)}分。"


def _add_score(before: list[str], after: list[str], score: float | None, points: float | None = None) -> None:
    text = score_sentence(score, points)
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
    scores = {ind.id: _score_of(f.scores, ind.id) for ind in pack.indicators}
    out = []
    for gi, (l1, subs) in enumerate(groups.items(), start=1):
        pts = tree.get(l1)
        if pts is None:
            pts = sum(i.points for s in subs.values() for i in s)
        g = {"heading": f"（{nf.cn_ordinal(gi)}）{l1}（{nf.points(pts)}分）", "subgroups": [],
             "name": l1, "points": nf.points(pts),
             "score": nf.points(sum_present(*(scores[i.id] for s in subs.values() for i in s)))}
        for si, (l2, inds) in enumerate(subs.items(), start=1):
            sub = {"heading": f"{si}.{l2}。", "name": l2, "indicators": []}
            for ii, ind in enumerate(inds, start=1):
                before, table, after = _indicator_blocks(f, ind, list(notes.get(ind.id, [])), pack)
                score = scores[ind.id]
                _add_score(before, after, score, float(ind.points))
                points = nf.points(ind.points)
                heading = "" if len(inds) == 1 else f"（{ii}）{ind.name}（{points}分）。"
                sub["indicators"].append({"id": ind.id, "heading": heading, "name": ind.name,
                                          "points": points, "score": nf.points(score),
                                          "before": before, "table": table, "after": after})
            g["subgroups"].append(sub)
        out.append(g)
    return out


# ---------------------------------------------------------------- section 一

def _units_text(f: Facts) -> str:
    subs = _distinct(clean(r.get("单位名称")) for r in f.rows("tbl_units") if clean(r.get("层级")) == "下属")
    if not subs:
        return f"纳入{f.dept}预算管理的单位仅为本级，无下属单位。"
    if len(subs) == 1:
        return f"纳入{f.dept}预算管理的单位除本级外有一个下属单位，即{subs[0]}。"
    return (f"纳入{f.dept}预算管理的单位除本级外共{len(subs)}个，包括{nf.join_cn(subs)}"
            f"{nf.cn_count(len(subs))}个下属单位。")


def _distinct(names: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for n in names:
        if n:
            seen.setdefault(n, None)
    return list(seen)


def _staffed(r: Row) -> bool:
    """A row of 编制 staff; a blank 编制类型 is "not filled" (kept and shown as such), never 其他."""
    return clean(r.get("编制类型")) not in _OWN_TYPES_EXCLUDED


def staff_type(r: Row) -> str:
    """The row's 编制类型 as the report prints it: a blank one is marked, never guessed."""
    return clean(r.get("编制类型")) or STAFF_TYPE_MISSING


def _staff_paras(f: Facts) -> list[str]:
    units = [r for r in f.rows("tbl_units") if clean(r.get("单位名称"))]
    if not units:
        return ["人员编制情况未填报。"]
    own = [r for r in units if clean(r.get("层级")) == "本级" and _staffed(r)]
    subs = [r for r in units if clean(r.get("层级")) == "下属" and _staffed(r)]
    first = []
    if own:
        name = clean(own[0].get("单位名称"))
        first.append(name + "、".join(f"{staff_type(r)}编制人数为{nf.integer(as_number(r.get('核定编制数')))}名"
                                      for r in own))
    if subs:
        names = [clean(r.get("单位名称")) for r in subs]
        types = _distinct(staff_type(r) for r in subs)
        nums = [nf.integer(as_number(r.get("核定编制数"))) for r in subs]
        total = nf.integer(sum_present(*(as_number(r.get("核定编制数")) for r in subs)))
        if len(types) == 1 and len(subs) > 1 and len(set(names)) == len(names):
            first.append(f"{nf.join_cn(names)}的{types[0]}编制分别为{nf.join_cn(n + '名' for n in nums)}，共计{total}名")
        elif len(subs) == 1:
            first.append(f"{names[0]}的{types[0]}编制为{nums[0]}名")
        else:
            first.append("、".join(f"{clean(r.get('单位名称'))}{staff_type(r)}编制{n}名"
                                  for r, n in zip(subs, nums)) + f"，共计{total}名")
    paras = [sentence("，".join(first))] if first else []

    stated = f.num("staff_actual_stated")
    listed = own + subs
    total_actual = stated if stated is not None else sum_present(*(as_number(r.get("年末实有人数")) for r in listed))
    funded = [r for r in listed if "自理" not in clean(r.get("经费保障"))]
    selfpaid = [r for r in listed if "自理" in clean(r.get("经费保障"))]

    def actual(r: Row, unit: str) -> str:
        t = staff_type(r)
        return f"{clean(r.get('单位名称'))}{t}{'在' if t in ('行政', '参公') else ''}编{nf.integer(as_number(r.get('年末实有人数')))}{unit}"

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
    desc = strip_stop(field_text(f.model, "exp_project_desc"))
    return [
        f"{f.dept}{f.year}年度财政拨款支出合计{f.money('exp_total')}万元。",
        f"基本支出{f.money('exp_basic')}万元，占总支出比重的{nf.share(ratio(f.num('exp_basic'), total))}，"
        f"其中人员经费支出{f.money('exp_personnel')}万元，公用经费支出{f.money('exp_public')}万元。",
        f"项目支出{f.money('exp_project')}万元，占总支出比重的{nf.share(ratio(f.num('exp_project'), total))}"
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
    qt, it = sum_present(qb, qp), sum_present(ib, ip)
    bb = None if qb is None or ib is None else qb - ib
    bp = None if qp is None or ip is None else qp - ip
    bt = None if qt is None or it is None else qt - it

    def line(q, i, b, rate, tot=False):
        return {"quota": nf.money(q), "issued": nf.money(i), "balance": nf.money(b), "progress": nf.pct(rate),
                "quota_share": nf.pct(ratio(q, qt)), "issued_share": nf.pct(ratio(i, it)),
                "balance_share": nf.pct(ratio(b, bt))}

    return {"basic": line(qb, ib, bb, f.rate("rate_issued_basic")),
            "project": line(qp, ip, bp, f.rate("rate_issued_project")),
            "total": line(qt, it, bt, f.rate("rate_spending"))}


def _key_tasks(f: Facts) -> list[dict]:
    return [{"no": nf.integer(as_number(r.get("序号"))) if r.get("序号") is not None else str(i),
             "task": clean(r.get("重点工作")), "progress": clean(r.get("进展情况")),
             "status": clean(r.get("完成状态"))}
            for i, r in enumerate(f.rows("tbl_key_tasks"), start=1)]


def award_scores(scores: Scores, rows: Sequence[Row]) -> list[float | None]:
    """Each tbl_awards row's signed score, in row order: ``scores.awards`` holds (sheet row,
    score) of the 加分 rows and ``scores.deductions`` (sheet row, points) of the 减分 rows."""
    by_row: dict[int, float | None] = {}
    for item in getattr(scores, "awards", None) or ():
        if isinstance(item, (tuple, list)) and len(item) == 2:
            by_row[item[0]] = as_number(item[1])
    for item in getattr(scores, "deductions", None) or ():
        if isinstance(item, (tuple, list)) and len(item) == 2 and as_number(item[1]) is not None:
            by_row[item[0]] = -abs(as_number(item[1]))
    return [by_row.get(r.row) for r in rows]


def _awards(f: Facts) -> list[dict]:
    rows = f.rows("tbl_awards")
    pts = award_scores(f.scores, rows)
    out = []
    for i, (r, p) in enumerate(zip(rows, pts), start=1):
        out.append({"no": nf.integer(as_number(r.get("序号"))) if r.get("序号") is not None else str(i),
                    "name": clean(r.get("项目名称")), "authority": clean(r.get("授奖机关")),
                    "date": nf.dot_date(r.get("授奖时间")), "basis": clean(r.get("授奖依据")),
                    "level": clean(r.get("授奖级别")), "kind": clean(r.get("类型")),
                    "score": nf.points(p)})
    return out


# ---------------------------------------------------------------- narrative

def _section_of(chapter: str) -> str:
    c = _SPACES.sub("", chapter)
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
        heading = sec if _NUMBERED.match(sec) else f"{nf.cn_ordinal(i)}、{sec}"
        out.append({"heading": heading,
                    "blocks": blocks.get(sec) or [{"heading": False, "lead": "", "text": NOT_FILLED}]})
    return out


# ---------------------------------------------------------------- the whole context

def _findings(findings: Iterable[Any] | None) -> list[dict]:
    return [{"code": getattr(x, "code", ""), "severity": getattr(x, "severity", ""),
             "where": getattr(x, "ref", ""), "message": clean(getattr(x, "message", ""))}
            for x in (findings or ())]


def build(model: WorkbookModel, scores: Scores, pack: RulePack, findings: Iterable[Finding] | None = None) -> dict:
    """The report context: only ``str``, lists and dicts of ``str`` (and ``bool``); no ``None``
    except the chart slots the renderer fills.  Pure: same inputs, same dict."""
    year_v = model.get("fiscal_year")
    year = nf.integer(as_number(year_v)) if as_number(year_v) is not None else (clean(year_v) or nf.MISSING)
    dept = field_text(model, "dept_name") or nf.MISSING
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
        **figure_captions(("chart_expense", "chart_scores")),
    }

    duties = [{"no": nf.integer(as_number(r.get("序号"))) if as_number(r.get("序号")) is not None else str(i),
               "text": clean(r.get("主要职责"))} for i, r in enumerate(f.rows("tbl_duties"), start=1)]
    basis = strip_stop(field_text(model, "duty_basis"))
    duties_intro = ((f"{basis}文件，" if basis else "") + f"{short_name(dept)}履行的主要职责共有{len(duties)}项，"
                    f"具体内容如表{numbers['duties']}所示：")
    goal = field_text(model, "overall_goal")
    annual, executed = f.num("budget_annual"), f.num("budget_executed")
    conclusion = [_conclusion_lead(scores, pack) +
                  f"全年预算数{nf.money(annual)}万元，执行数{nf.money(executed)}万元，"
                  f"完成预算的{nf.pct(ratio(executed, annual))}。"]
    conclusion += [b["text"] if not b["lead"] else b["lead"] + b["text"] for b in narrative.get("二、自评结论", [])]
    last_group = groups[-1]["subgroups"] if groups else []
    bonus = nf.points(as_number(getattr(scores, "score_bonus", None)))

    return {
        # cover
        "attachment_label": field_text(model, "attachment_label"),
        "title": f"{year}年度部门整体支出绩效自评报告",
        "year": year,
        "dept_name": dept,
        "dept_short": short_name(dept),
        "dept_head": field_text(model, "dept_head"),
        "preparer": field_text(model, "preparer"),
        "phone": field_text(model, "phone"),
        "report_date": nf.date(model.get("report_date")) if model.get("report_date") else "",
        # 一、部门的基本情况
        "duties_intro": duties_intro,
        "duties": duties or [{"no": "", "text": NOT_FILLED}],
        "units_text": _units_text(f),
        "staff_paras": _staff_paras(f),
        "income_text": _income_text(f),
        "expense_paras": _expense_paras(f),
        "goal_text": f"{dept}确定了{year}年部门整体支出总体绩效目标：" + (sentence(goal) if goal else NOT_FILLED),
        "targets": _targets(f) or [{"type": "", "content": NOT_FILLED, "value": "", "actual": "", "done": ""}],
        # 二、自评结论
        "conclusion_paras": conclusion,
        # 三、绩效分析
        "groups": groups,
        "spending": _spending_table(f),
        "key_tasks": _key_tasks(f) or [{"no": "", "task": NOT_FILLED, "progress": "", "status": ""}],
        "awards_heading": (f"{len(last_group) + 1}.加减分项。该项自评得{bonus}分。" if awards else
                           f"{len(last_group) + 1}.加减分项。本年度未申报加减分项目，该项自评得{bonus}分。"),
        "awards": awards,
        "has_awards": bool(awards),
        "captions": captions,
        # 四、五、六
        "narrative": _narrative_sections(narrative),
        # figures (for templates that want them anywhere)
        "score_total": nf.points(as_number(getattr(scores, "score_total", None))),
        "score_base": nf.points(as_number(getattr(scores, "score_base", None))),
        "score_bonus": bonus,
        "grade": clean(getattr(scores, "grade", None)) or nf.MISSING,
        "fields": _formatted_fields(model),
        "rates": {k: nf.pct(as_number(v)) for k, v in (getattr(scores, "rates", None) or {}).items()},
        "indicator_scores": {k: nf.points(as_number(v)) for k, v in (getattr(scores, "indicators", None) or {}).items()},
        "findings": _findings(findings),
        # chart slots (filled by the renderer when charts are asked for)
        "chart_scores": None,
        "chart_expense": None,
    }


FIGURES = {"chart_expense": "部门支出构成", "chart_scores": "各一级指标得分情况"}  # in document order


def figure_captions(present: Iterable[str]) -> dict[str, str]:
    """Captions of the charts that are drawn, numbered 图1, 图2 … in document order: a chart
    left out (no money data, charts off) leaves no gap in the numbering."""
    shown_ = [k for k in FIGURES if k in set(present)]
    return {k: f"图{i} {FIGURES[k]}" for i, k in enumerate(shown_, start=1)}


def _conclusion_lead(scores: Scores, pack: RulePack) -> str:
    """'…自评得分为98.31分，评价等级为“优”。' — the grade the score earns; indicators not
    scored are named as such rather than counted silently as 0."""
    total = as_number(getattr(scores, "score_total", None))
    grade = clean(getattr(scores, "grade", None))
    text = f"根据年初设定的绩效目标，部门整体支出绩效自评得分为{nf.points(total)}分"
    unscored = [i.name for i in pack.indicators if _score_of(scores, i.id) is None]
    if unscored:
        names = nf.join_cn(unscored) if len(unscored) <= 3 else "、".join(unscored[:3]) + "等"
        text += f"（其中{names}共{len(unscored)}项指标尚未评分，未计入）"
    if total is not None and grade:
        text += f"，评价等级为“{grade}”"
    return text + "。"


def _formatted_fields(model: WorkbookModel) -> dict[str, str]:
    out = {}
    for fd in schema.FIELDS:
        v = model.get(fd.name)
        if fd.kind == schema.MONEY:
            out[fd.name] = nf.money(as_number(v))
        elif fd.kind == schema.INT:
            out[fd.name] = nf.integer(as_number(v))
        elif fd.kind == schema.DATE:
            out[fd.name] = nf.date(v) if v else ""
        elif fd.kind == schema.RATE:
            out[fd.name] = nf.pct(as_number(v))
        else:
            out[fd.name] = clean(v)
    return out


def chart_data(model: WorkbookModel, scores: Scores, pack: RulePack) -> dict:
    """Numbers for the optional charts: per 一级指标 (name, score, points) and the
    expenditure composition [(label, 万元)]."""
    groups: dict[str, list] = {}
    for ind in pack.indicators:
        g = groups.setdefault(ind.level1, [0.0, 0.0, 0])
        got = _score_of(scores, ind.id)
        if got is None:  # not filled / not computable: the group is missing, never 0
            g[2] += 1
        else:
            g[0] += got
        g[1] += float(ind.points)
    tree = getattr(pack, "tree", {}) or {}
    return {
        "groups": [(name, None if n else round(s, 2), float(tree.get(name, p)))
                   for name, (s, p, n) in groups.items()],
        "unscored": {name: n for name, (_, _, n) in groups.items() if n},
        "expense": [(label, as_number(model.get(n)))  # None: not filled (no chart is drawn)
                    for n, label in (("exp_personnel", "人员经费"), ("exp_public", "公用经费"), ("exp_project", "项目支出"))],
    }
