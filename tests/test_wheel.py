"""The wheel is complete: built from pyproject.toml (+ setup.py's build hook), installed into a
fresh virtual environment, `perfxl addin build` works there (issue 11: the wheel used to lack
macros/, so `perfxl addin install` failed with 找不到加载项源文件)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

pytestmark = pytest.mark.slow


def test_wheel_installs_and_builds_the_addin(tmp_path):
    # built from the committed files only (no stale build/ folder, nothing untracked)
    src = tmp_path / "src"
    for rel in subprocess.check_output(["git", "ls-files", "-z"], cwd=ROOT, text=True).split("\0"):
        if rel and (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-w", str(dist), "-q"],
                   check=True, capture_output=True, timeout=600, cwd=tmp_path)
    (wheel,) = dist.glob("perfxl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    macros = sorted(p.name for p in (ROOT / "macros").iterdir() if p.is_file())
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("perfxl/macros/")) == macros

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "-q", str(wheel)],
                   check=True, capture_output=True, timeout=300, env=env, cwd=tmp_path)
    # perfxl's dependencies: this environment's (offline); perfxl itself: only the wheel's
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True, env=env).strip())
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", "utf-8")
    where = subprocess.check_output([str(py), "-c", "import perfxl; print(perfxl.__file__)"], text=True,
                                    env=env, cwd=tmp_path).strip()
    assert Path(where).is_relative_to(venv), where
    out = tmp_path / "perfxl.xlam"
    p = subprocess.run([str(venv / "bin" / "perfxl"), "addin", "build", "-o", str(out)], capture_output=True,
                       text=True, env=env, cwd=tmp_path, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "已生成 Excel 加载项" in p.stdout and zipfile.is_zipfile(out)
