"""Build hook: the Excel add-in's sources live in the top-level ``macros/`` folder (VBA as
``.bas`` text, the ribbon XML) and ship inside the package as ``perfxl/macros/`` (package data),
where :func:`perfxl.addin.macros_dir` finds them in an installed perfxl.  Everything else is
configured in pyproject.toml."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MACROS = Path(__file__).resolve().parent / "macros"


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        dst = Path(self.build_lib) / "perfxl" / "macros"
        self.mkpath(str(dst))
        for f in sorted(MACROS.iterdir()):
            if f.is_file():
                self.copy_file(str(f), str(dst / f.name))


setup(cmdclass={"build_py": BuildPy})
