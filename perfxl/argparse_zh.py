"""argparse in Chinese: usage line, section titles, default help texts and argparse's own error
messages, so that every ``--help`` and every mistake on the command line reads in one language.

:class:`ArgumentParser` is a drop-in subclass; subparsers created from it are of the same class.
It does not patch the :mod:`argparse` module (other parsers in the same process are untouched):
the texts argparse builds are translated where they leave it — the help formatter's usage prefix,
the group titles, and :meth:`ArgumentParser.error`.  A message argparse may add in a later
Python version and that no pattern below knows is shown as argparse wrote it.
"""
from __future__ import annotations

import argparse
import re
import sys
import unicodedata
from typing import Any, Callable, Iterable, Mapping, NoReturn

# What an argument's value is, when the command does not say (shown in usage lines and errors).
METAVARS: dict[str, str] = {
    "file": "工作簿.xlsx", "path": "文件.xlsx", "dir": "文件夹", "output": "输出文件", "outdir": "输出文件夹",
    "rules": "规则包.toml", "template": "模板.docx", "dept": "部门名称", "year": "年度", "jobs": "进程数",
    "scheduler": "地址", "server": "服务地址", "from_": "上年工作簿.xlsx",
}
METAVARS |= {"data": "文件夹", "db": "数据库地址", "host": "地址", "port": "端口", "login": "登录名",
             "forwarded_allow_ips": "地址"}
# English value names some commands spell out themselves, in Chinese.
_RENAMED = {"DIR": "文件夹", "URL": "数据库地址", "IPS": "地址", "PACK.toml": "规则包.toml", "FILE": "文件"}
# Names of arguments whose value is one of a list (no value name replaces them in usage lines).
_NAMES = {"action": "操作", "command": "命令", "user_command": "操作", "log_level": "日志级别", "role": "角色"}
_TYPES = {"int": "整数", "float": "数", "str": "文字"}

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _quoted_list(text: str) -> str:
    """"'a', 'b'" → "a、b" (argparse lists choices as Python reprs)."""
    return "、".join(re.findall(r"'([^']*)'", text)) or text


_ARGUMENT = re.compile(r"^argument (?P<name>.+?): (?P<rest>.*)$", re.S)
_RULES: tuple[_Rule, ...] = (
    (re.compile(r"^the following arguments are required: (.*)$"), lambda m: f"缺少必需的参数：{m[1]}"),
    (re.compile(r"^unrecognized arguments: (.*)$"), lambda m: f"无法识别的参数：{m[1]}"),
    (re.compile(r"^one of the arguments (.*) is required$"), lambda m: f"以下参数必须指定一个：{m[1]}"),
    (re.compile(r"^ambiguous option: (\S+) could match (.*)$"),
     lambda m: f"选项 {m[1]} 不明确，可能是：{m[2]}"),
    (re.compile(r"^unexpected option string: (.*)$"), lambda m: f"意外的选项：{m[1]}"),
)
_ARGUMENT_RULES: tuple[_Rule, ...] = (
    (re.compile(r"^invalid choice: '(.*)' \(choose from (.*)\)$", re.S),
     lambda m: f"“{m[1]}”不是可选值（可选：{_quoted_list(m[2])}）"),
    (re.compile(r"^invalid (\w+) value: '(.*)'$", re.S),
     lambda m: f"“{m[2]}”不是有效的{_TYPES.get(m[1], m[1])}"),
    (re.compile(r"^expected one argument$"), lambda m: "需要一个值"),
    (re.compile(r"^expected at most one argument$"), lambda m: "最多只能有一个值"),
    (re.compile(r"^expected at least one argument$"), lambda m: "至少需要一个值"),
    (re.compile(r"^expected (\d+) arguments?$"), lambda m: f"需要 {m[1]} 个值"),
    (re.compile(r"^not allowed with argument (.*)$"), lambda m: f"不能与 {m[1]} 同时使用"),
    (re.compile(r"^ignored explicit argument '(.*)'$"), lambda m: f"不接受值“{m[1]}”"),
)


def translate(message: str) -> str:
    """argparse's English error message in Chinese (unknown messages are returned unchanged)."""
    arg = _ARGUMENT.match(message)
    if arg:
        for pattern, build in _ARGUMENT_RULES:
            m = pattern.match(arg["rest"])
            if m:
                return f"参数 {_NAMES.get(arg['name'], arg['name'])}：{build(m)}"
        return f"参数 {_NAMES.get(arg['name'], arg['name'])}：{arg['rest']}"
    for pattern, build in _RULES:
        m = pattern.match(message)
        if m:
            return build(m)
    return message


def display_width(text: str) -> int:
    """Terminal columns of ``text``: CJK and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """"用法：" instead of "usage: "; descriptions and examples keep their line breaks; option
    columns aligned by display width (argparse counts a CJK character as one column)."""

    def add_argument(self, action: argparse.Action) -> None:
        if action.help is not argparse.SUPPRESS:
            invocations = [self._format_action_invocation(action)]
            invocations += [self._format_action_invocation(a) for a in self._iter_indented_subactions(action)]
            length = max(map(display_width, invocations)) + self._current_indent
            self._action_max_length = max(self._action_max_length, length)
            self._add_item(self._format_action, [action])

    def _format_action(self, action: argparse.Action) -> str:
        help_position = min(self._action_max_length + 2, self._max_help_position)
        help_width = max(self._width - help_position, 11)
        action_width = help_position - self._current_indent - 2
        header = self._format_action_invocation(action)
        indent = " " * self._current_indent
        if not action.help:
            parts = [f"{indent}{header}\n"]
        elif display_width(header) <= action_width:
            parts = [f"{indent}{header}{' ' * (action_width - display_width(header))}  "]
            first_indent = 0
        else:
            parts = [f"{indent}{header}\n"]
            first_indent = help_position
        if action.help and action.help.strip():
            text = self._expand_help(action)
            if text:
                lines = self._split_lines(text, help_width)
                parts.append(" " * first_indent + lines[0] + "\n")
                parts += [" " * help_position + line + "\n" for line in lines[1:]]
        elif not parts[0].endswith("\n"):
            parts.append("\n")
        for sub in self._iter_indented_subactions(action):
            parts.append(self._format_action(sub))
        return self._join_parts(parts)

    def add_usage(self, usage: str | None, actions: Iterable[argparse.Action],
                  groups: Iterable[argparse._MutuallyExclusiveGroup], prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def format_help(self) -> str:
        # section headings end in argparse's ":"; a Chinese heading takes a full-width colon
        return re.sub(r"^([^\x00-\x7f][^\n:]*):$", r"\1：", super().format_help(), flags=re.M)


class ArgumentParser(argparse.ArgumentParser):
    """An :class:`argparse.ArgumentParser` that speaks Chinese.

    ``examples``: lines shown under "示例：" at the end of ``--help``
    (``examples_for(prog)`` is consulted when not given: see :data:`EXAMPLES`).
    """

    def __init__(self, *args: Any, examples: list[str] | tuple[str, ...] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        add_help = kwargs.pop("add_help", True)
        kwargs["add_help"] = False  # a Chinese -h/--help is added below
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="显示本帮助并退出")
        if examples is None:
            examples = EXAMPLES.get(self.prog, ())
        if examples and self.epilog is None:
            self.epilog = "示例：\n" + "\n".join(f"  {line}" for line in examples)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        """Chinese defaults: the version action's help, value names from :data:`METAVARS`."""
        action = kwargs.get("action")
        if action == "version":
            kwargs.setdefault("help", "显示版本号并退出")
        elif kwargs.get("metavar") in _RENAMED:
            kwargs["metavar"] = _RENAMED[kwargs["metavar"]]
        elif action in (None, "store", "append") and "metavar" not in kwargs and "choices" not in kwargs:
            dest = kwargs.get("dest") or next((a.lstrip("-").replace("-", "_") for a in args
                                               if a.startswith("--")), args[0] if args else "")
            if dest in METAVARS:
                kwargs["metavar"] = METAVARS[dest]
        return super().add_argument(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        hint = f"（用 {self.prog} --help 查看用法和示例）"
        self.exit(2, f"{self.prog}：错误：{translate(message)}{hint}\n")


# Examples per command, keyed by the parser's prog ("perfxl new").  Filled by the program that
# builds the parsers (perfxl.cli) before it creates them.
EXAMPLES: dict[str, tuple[str, ...]] = {}


def register_examples(examples: Mapping[str, tuple[str, ...]]) -> None:
    """Add examples (prog → lines) for parsers created afterwards."""
    EXAMPLES.update(examples)
