"""What the Excel buttons do, run on real files through the same GridSource the add-in uses."""
from __future__ import annotations

import pytest

from perfxl import app
from perfxl.reader import FileSource
from perfxl.edits import MarkCell, SetCell, apply_edits
from conftest import ROOT


def test_all_button_on_the_sample(sample_copy):
    out = app.run_action("all", FileSource(sample_copy), str(sample_copy))
    assert out.ok, out.message
    assert "98.31" in out.message and "优" in out.message
    assert out.report is not None and out.report.exists() and out.report.parent == sample_copy.parent
    assert any(isinstance(e, SetCell) and e.formula for e in out.edits)
    assert any(isinstance(e, MarkCell) for e in out.edits)


def test_button_edits_applied_to_the_file_give_the_scores(sample_copy, tmp_path):
    """The edits a button sends to Excel, applied to the file instead, give a workbook whose
    named scores equal the reference (the same list the file writer uses)."""
    from perfxl.reader import read

    out = app.run_action("score", FileSource(sample_copy), str(sample_copy))
    dst = tmp_path / "applied.xlsx"
    apply_edits(sample_copy, dst, out.edits)
    m = read(dst)
    assert m.outputs["score_total"].value == pytest.approx(98.31)
    assert m.outputs["score_spending_rate"].value == pytest.approx(1.81)


def test_rules_from_environment(sample_copy, tmp_path, monkeypatch):
    bad = tmp_path / "本地规则.toml"
    bad.write_text((ROOT / "perfxl" / "rules" / "guangdong-2023.toml").read_text("utf-8")
                   .replace("points = 3\nmethod = \"linear\"", "points = 4\nmethod = \"linear\""), "utf-8")
    monkeypatch.setenv("PERFXL_RULES", str(bad))
    out = app.run_action("score", FileSource(sample_copy), str(sample_copy))
    assert not out.ok and "本地规则.toml" in out.message and not out.edits
