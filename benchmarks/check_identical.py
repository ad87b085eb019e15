"""Check that a change leaves every batch output byte-identical (timestamps aside).

    python benchmarks/check_identical.py record FILE [--n 100] [--code DIR]
    python benchmarks/check_identical.py check FILE [--n 100] [--code DIR]

``record`` runs ``perfxl batch`` (the perfxl under ``--code``, default this checkout) over ``--n``
generated workbooks and writes a hash per output to FILE: every member of the scored workbooks,
reports and 汇总表.xlsx, the findings JSON, 汇总表.json/.csv and the batch cache.  ``check`` does
the same and lists what differs from FILE (exit 1 when anything does).

The inputs are generated once into benchmarks/.cache/identity-N and never regenerated there:
the generator builds them from the current template, so a later template change must not change
the inputs two runs are compared on (delete the folder to start afresh).  What is ignored: zip
member dates and ISO timestamps (``2026-12-04T13:26:19``, docProps/core.xml, 生成时间).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z?")


def inputs(n: int) -> Path:
    """The frozen input folder of ``n`` workbooks (generated on first use)."""
    frozen = ROOT / "benchmarks" / ".cache" / f"identity-{n}"
    if not frozen.is_dir():
        from gen_workbooks import generate

        tmp = Path(tempfile.mkdtemp(prefix="perfxl-identity-gen-"))
        generate(n, tmp)
        frozen.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(tmp, frozen, ignore=shutil.ignore_patterns(".*"))
        shutil.rmtree(tmp, ignore_errors=True)
    return frozen


def _digest(data: bytes) -> str:
    return hashlib.sha256(TIMESTAMP.sub(b"<ts>", data)).hexdigest()[:16]


def hashes(outdir: Path) -> dict[str, str]:
    """relative name (``name!member`` for zip members) → hash of the content, timestamps masked."""
    out: dict[str, str] = {}
    for path in sorted(p for p in outdir.rglob("*") if p.is_file()):
        rel = path.relative_to(outdir).as_posix()
        data = path.read_bytes()
        if path.suffix in (".xlsx", ".xlsm", ".docx"):
            with zipfile.ZipFile(path) as z:
                out[rel + "!<members>"] = hashlib.sha256(
                    "\n".join(f"{i.filename} {i.compress_type}" for i in z.infolist()).encode()).hexdigest()[:16]
                for info in z.infolist():
                    out[f"{rel}!{info.filename}"] = _digest(z.read(info))
        elif path.name.endswith(".perfxl-cache.json"):  # entries in the order workbooks finished
            out[rel] = _digest(json.dumps(json.loads(data), sort_keys=True).encode())
        else:
            out[rel] = _digest(data)
    return out


def run_batch(code: Path, n: int) -> dict[str, str]:
    src = inputs(n)
    work = Path(tempfile.mkdtemp(prefix="perfxl-identity-"))
    try:
        env = {**os.environ, "PYTHONPATH": str(code)}
        subprocess.run([sys.executable, "-m", "perfxl", "batch", str(src), "-o", str(work / "out")],
                       env=env, cwd=code, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        return hashes(work / "out")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=("record", "check"))
    ap.add_argument("file", type=Path)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--code", type=Path, default=ROOT, help="the checkout whose perfxl runs")
    args = ap.parse_args(argv)
    got = run_batch(args.code.resolve(), args.n)
    if args.action == "record":
        args.file.write_text(json.dumps(got, ensure_ascii=False, indent=0), "utf-8")
        print(f"{len(got)} hashes → {args.file}")
        return 0
    want = json.loads(args.file.read_text("utf-8"))
    diff = sorted(k for k in want.keys() | got.keys() if want.get(k) != got.get(k))
    for k in diff[:40]:
        print(f"differs: {k}  ({want.get(k)} → {got.get(k)})")
    print(f"{len(got)} hashes, {len(diff)} differ" + (" — identical" if not diff else ""))
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
