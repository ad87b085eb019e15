"""The `perfxl` command: a thin shell.  Each command parses its options, calls one library
function and maps errors to exit codes (0 ok, 1 the workbook has errors, 2 cannot proceed)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .argparse_zh import ArgumentParser
    from .pipeline import Result
    from .rulepack import RulePack

from . import __version__
from .errors import PerfxlError
from .outnames import check_output

EXIT_OK, EXIT_FINDINGS, EXIT_FAIL = 0, 1, 2


def _pack(args: argparse.Namespace) -> RulePack | None:
    """The pack named by --rules; None without it (each workbook's own, else the default)."""
    from .rulepack import load

    rules = getattr(args, "rules", None)
    return None if rules is None else load(rules)


def _out(text: str) -> None:
    """Print to stdout (:func:`perfxl.termtext.write_stdout`)."""
    from .termtext import write_stdout

    write_stdout(text)


def cmd_new(args: argparse.Namespace) -> int:
    from .template import write_new

    check_output(args.path, (".xlsx",), (args.rules, args.from_), option="perfxl new")
    if args.from_:
        from .carryover import write_new_from

        path, carried = write_new_from(args.path, args.from_, args.year, dept=args.dept, pack=_pack(args),
                                       overwrite=args.force)
        _out(f"已生成 {carried.year} 年度标准工作簿：{path}\n{carried.summary}")
        return EXIT_OK
    path = write_new(args.path, dept=args.dept, year=args.year, pack=_pack(args), overwrite=args.force)
    _out(f"已生成空白标准工作簿：{path}")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from .export import model_json
    from .reader import read

    model = read(args.file)
    _out(json.dumps(model_json(model), ensure_ascii=False, indent=1))
    return EXIT_OK


def _failed(result: Result) -> int:
    """Report a result that could not finish (UNREADABLE/FAILED) on stderr; its exit code."""
    from .termtext import printable

    sys.stderr.write(printable(f"错误：{result.error}") + "\n")
    if result.detail:  # a bug in perfxl: the details for the maintainer
        sys.stderr.write(result.detail)
    return result.exit_code


def cmd_check(args: argparse.Namespace) -> int:
    from . import api, marks, validate

    if args.unmark:
        if args.output:
            check_output(args.output, (Path(args.file).suffix.lower(),), (args.file, args.rules))
        dst = Path(args.output or args.file)
        marks.unmark_file(args.file, dst)
        _out(f"已清除校验标记：{dst}")
        return EXIT_OK
    result = api.check(args.file, rules=args.rules, mark=args.mark, output=args.output, prev=args.prev)
    findings = list(result.findings)
    if result.model is not None:  # what was found before a stage failed is still shown
        if args.json:
            _out(json.dumps(validate.findings_json(findings), ensure_ascii=False, indent=1))
        else:
            if args.mark and result.ok:
                _out(f"已将 {len(findings)} 条校验结果写入“校验结果”工作表并标注单元格：{args.output or args.file}")
            _out(validate.format_findings_text(findings, Path(args.file).name))
    return result.exit_code if result.ok else _failed(result)


def cmd_score(args: argparse.Namespace) -> int:
    from . import api, runone, writeback

    result = api.score(args.file, args.output, rules=args.rules, in_place=args.in_place)
    if not result.ok or result.analysis is None:
        return _failed(result)
    scores = result.analysis.scores
    if args.json:
        _out(json.dumps(writeback.scores_json(scores), ensure_ascii=False, indent=1))
    else:
        dst = args.file if args.in_place else (args.output or runone.default_output(Path(args.file)))
        _out(writeback.format_scores_text(scores, result.analysis.pack, str(dst)))
    return _gate(result)


def cmd_report(args: argparse.Namespace) -> int:
    from . import api

    result = api.make_report(args.file, args.output, rules=args.rules, pdf=args.pdf,
                             template=args.template, charts=not args.no_charts)
    if not result.ok:
        return _failed(result)
    out = result.files[0]
    also = f"（及 {out.with_suffix('.pdf').name}）" if result.pdf and out.suffix != ".pdf" else ""
    if result.pdf_error:  # the Word report is there, the PDF is not
        _out(f"注意：{result.pdf_error}")
    if result.errors:
        _out(f"已生成自评报告草稿：{out}{also}")
    else:
        _out(f"已生成自评报告：{out}{also}")
    return _gate(result)


def _gate(result: Result) -> int:
    """Exit 1 whenever the workbook has 错误 findings (README's promise), saying so on stderr:
    a report made then is a draft (:mod:`perfxl.report.draft`), never one to seal."""
    if not result.errors:
        return EXIT_OK
    sys.stderr.write(f"注意：工作簿有 {result.errors} 个错误（运行 perfxl check 查看）；据此生成的报告是草稿"
                     "（每页标有“草稿 — 校验未通过”），不得盖章报送。请改正后重新运行。\n")
    return EXIT_FINDINGS


def cmd_run(args: argparse.Namespace) -> int:
    """The main job for one workbook: check, score, mark, report — outputs beside it or in -o."""
    from .runone import run_one

    result = run_one(args.file, args.outdir, pack=_pack(args), pdf=args.pdf, explicit=args.rules is not None)
    if not result.ok:
        return _failed(result.result)
    _out(result.summary)
    return EXIT_FINDINGS if result.errors else EXIT_OK


def _year(text: str) -> int:
    """A --year value: a four-digit year."""
    if not (text.strip().isdigit() and len(text.strip()) == 4):
        raise argparse.ArgumentTypeError(f"年度应为四位数字（如 2023），收到“{text}”")
    return int(text)


def cmd_batch(args: argparse.Namespace) -> int:
    from . import batch

    result = batch.run(args.dir, args.output, pack=_pack(args), pdf=args.pdf, jobs=args.jobs,
                       recursive=args.recursive, scheduler=args.scheduler, progress=not args.quiet,
                       charts=not args.no_charts, year=args.year)
    if args.quiet:
        _out(result.line)
    return result.exit_code


def cmd_codes(args: argparse.Namespace) -> int:
    from .findings import catalogue_table

    _out(catalogue_table())
    return EXIT_OK


def cmd_addin(args: argparse.Namespace) -> int:
    from . import addin

    if args.action == "build":
        out = Path(args.output or addin.ADDIN_NAME)
        check_output(out, (".xlam",))
        path = addin.build(out, server=args.server, server_only=args.server_only)
        _out(f"已生成 Excel 加载项：{path}")
    elif args.action == "wps-zip":
        from . import wpsaddin

        zip_out = args.output or f"perfxl-wps-{__version__}.zip"
        check_output(zip_out, (".zip",))
        path = wpsaddin.write_zip(zip_out)
        _out(f"已生成 WPS 加载项离线安装包：{path}（安装步骤见包内“安装说明.txt”）")
    else:
        _out(f"已安装 Excel 加载项：{addin.install()}（重新打开 Excel 后生效）")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    from .argparse_zh import ArgumentParser, register_examples
    from .cli_examples import EXAMPLES

    register_examples(EXAMPLES)
    p = ArgumentParser(prog="perfxl", description="部门整体支出绩效自评：校验、评分、生成自评报告")
    p.add_argument("--version", action="version", version=f"perfxl {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="命令")

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> ArgumentParser:
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(func=func)
        return sp

    def rules(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--rules", help="评分规则包：随附规则包的名称（见 perfxl packs）或 .toml 文件路径"
                                        "（默认：工作簿“评分参数”表记录的规则包，未记录时为广东 2023）")

    sp = add("new", cmd_new, "生成一份空白标准工作簿")
    sp.add_argument("path")
    sp.add_argument("--dept", help="部门名称")
    sp.add_argument("--year", type=int, help="年度，如 2023")
    sp.add_argument("--force", action="store_true", help="覆盖已存在的文件")
    sp.add_argument("--from", dest="from_", help="上年的工作簿：带入部门职责、单位编制、绩效目标和报告章节，年度加一，金额留空")
    rules(sp)

    sp = add("export", cmd_export, "把工作簿数据导出为 JSON（按契约名称）")
    sp.add_argument("file")
    sp.add_argument("--json", action="store_true", default=True, help="输出 JSON（默认）")

    sp = add("check", cmd_check, "校验工作簿，列出全部问题")
    sp.add_argument("file")
    sp.add_argument("--json", action="store_true", help="输出 JSON")
    sp.add_argument("--mark", action="store_true", help="把校验结果写入工作簿（校验结果表 + 单元格标注）")
    sp.add_argument("--unmark", action="store_true", help="清除之前写入的校验标记")
    sp.add_argument("-o", "--output", help="标注后另存为（默认改写原文件，仅在 --mark/--unmark 时）")
    sp.add_argument("--prev", metavar="上年工作簿.xlsx", help="上年的工作簿：与上年对比（编制变化过大、单位消失、上年末存量资金不符、年度不相连），"
                         "结果与其他校验结果一同列出；加 --mark 时同样写入“校验结果”表并标注单元格")
    rules(sp)

    sp = add("score", cmd_score, "评分并把公式写回工作簿")
    sp.add_argument("file")
    sp.add_argument("-o", "--output", help="输出文件（默认：<原名>-已评分.xlsx）")
    sp.add_argument("--in-place", action="store_true", help="直接改写原文件（保留 .bak 备份）")
    sp.add_argument("--json", action="store_true", help="以 JSON 输出得分")
    rules(sp)

    sp = add("report", cmd_report, "生成 Word 自评报告")
    sp.add_argument("file")
    sp.add_argument("-o", "--output", help="输出 .docx（默认：<原名>-自评报告.docx）")
    sp.add_argument("--template", help="自定义 Word 模板 .docx")
    sp.add_argument("--pdf", action="store_true", help="同时生成 PDF（需要 LibreOffice）")
    sp.add_argument("--no-charts", action="store_true", help="报告中不插入图表")
    rules(sp)

    sp = add("run", cmd_run, "一键完成：校验、评分、生成报告")
    sp.add_argument("file")
    sp.add_argument("-o", "--outdir", help="输出文件夹（默认：工作簿所在文件夹）")
    sp.add_argument("--pdf", action="store_true", help="同时生成 PDF")
    rules(sp)

    sp = add("batch", cmd_batch, "批量处理一个文件夹中的工作簿并生成汇总表")
    sp.add_argument("dir")
    sp.add_argument("-o", "--output", required=True, help="输出文件夹（不得位于输入文件夹内）")
    sp.add_argument("--pdf", action="store_true")
    sp.add_argument("--jobs", type=int, help="并行进程数（默认：CPU 核数）")
    sp.add_argument("--recursive", action="store_true", help="包括子文件夹")
    sp.add_argument("--scheduler", help="dask.distributed 调度器地址，如 tcp://10.0.0.5:8786")
    sp.add_argument("--no-charts", action="store_true", help="报告中不插入图表")
    sp.add_argument("--quiet", action="store_true", help="不显示进度条（仍输出最后的汇总行）")
    sp.add_argument("--year", type=_year, metavar="年度",
                    help="评审的年度（如 2023）：只有“年度”与之相同的工作簿参与抽查排名；其他工作簿在汇总表中标为"
                         "“年度不符”，写明工作簿的年度和应为的年度，不参与排名，退出码为 1")
    rules(sp)

    add("codes", cmd_codes, "列出全部校验代码")

    sp = add("addin", cmd_addin, "构建或安装 Excel 加载项；wps-zip 生成 WPS 表格加载项的离线安装包")
    sp.add_argument("action", choices=["build", "install", "wps-zip"])
    sp.add_argument("-o", "--output", default=None,
                    help="输出文件（build 默认 perfxl.xlam，wps-zip 默认 perfxl-wps-版本.zip）")
    sp.add_argument("--server", default=None,
                    help="build：预先写入绩效自评服务的地址（如 http://192.168.1.10:8000），加载项按钮改走服务，本机无需 Python")
    sp.add_argument("--server-only", action="store_true",
                    help="build：只走服务，不含本机 Python 的部分（xlwings 宏），安全软件不再报 Shell、Kill 等")

    from .packs_cli import register as register_packs
    from .server.cli import register as register_server

    register_packs(sub)

    register_server(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except PerfxlError as e:
        from .termtext import printable

        sys.stderr.write(printable(f"错误：{e}") + "\n")
        return EXIT_FAIL
    except KeyboardInterrupt:
        sys.stderr.write("已中断。\n")
        return 130
    except BrokenPipeError:  # stdout closed outside _out (e.g. a progress line)
        from .termtext import stdout_closed

        stdout_closed()
        return EXIT_FAIL
    except OSError as e:  # a system error perfxl did not word itself: still Chinese
        from .oserrors import describe
        from .termtext import printable

        where = f"{e.filename}：" if getattr(e, "filename", None) else ""
        sys.stderr.write(printable(f"错误：{where}{describe(e)}。") + "\n")
        return EXIT_FAIL
    except Exception as e:  # a bug in perfxl: say so in Chinese, keep the details for the report
        import traceback

        sys.stderr.write(f"错误：perfxl 内部错误（{type(e).__name__}: {e}）。输入的工作簿没有被修改，"
                         "也没有写出不完整的文件。请把该工作簿和下面的信息发给维护者。\n")
        traceback.print_exc()
        return EXIT_FAIL


if __name__ == "__main__":
    sys.exit(main())
