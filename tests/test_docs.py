"""The README documents every command and every option, and the finding-code catalogue."""
from __future__ import annotations

import argparse

from perfxl.cli import build_parser
from conftest import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def _subparsers():
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_command_is_in_readme():
    for name in _subparsers():
        assert f"perfxl {name}" in README, name


def test_every_option_is_in_readme():
    for name, sp in _subparsers().items():
        for a in sp._actions:
            for opt in a.option_strings:
                if opt.startswith("--") and opt != "--help":
                    assert opt in README, f"perfxl {name} {opt}"


def test_readme_lists_every_finding_code():
    from perfxl.findings import CATALOGUE

    for code in CATALOGUE:
        assert f"`{code}`" in README, code


def test_readme_codes_block_is_current():
    from perfxl.findings import catalogue_table

    block = README.split("<!-- codes:start -->")[1].split("<!-- codes:end -->")[0].strip()
    assert block == catalogue_table().strip()
