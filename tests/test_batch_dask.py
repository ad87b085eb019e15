"""`perfxl batch --scheduler`: the same work unit on a dask.distributed cluster gives the same
outputs as the local process pool (workers get bytes and return bytes; no shared disk)."""
from __future__ import annotations

import copy
import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from perfxl import batch
from perfxl.rulepack import load as load_rules
from perfxl.template import build_workbook

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # a LocalCluster of two worker processes per module


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as c:
        yield c


def _folder(root: Path, sample: dict) -> Path:
    src = root / "各 部门"
    (src / "子 文件夹").mkdir(parents=True)
    good = build_workbook(sample)
    (src / "乐昌市民政局.xlsx").write_bytes(good)
    bad = copy.deepcopy(sample)
    bad["fields"]["dept_name"] = "乐昌市财政局"
    bad["fields"]["exp_public"] = -1.0
    (src / "乐昌市财政局.xlsx").write_bytes(build_workbook(bad))
    other = copy.deepcopy(sample)
    other["fields"]["dept_name"] = "仁化县教育局"
    other["fields"]["issued_project"] = 15000.0
    (src / "子 文件夹" / "仁化县 教育局.xlsx").write_bytes(build_workbook(other))
    (src / "坏文件.xlsx").write_bytes(good[:1000])
    return src


def _values(body: bytes) -> dict:
    wb = openpyxl.load_workbook(io.BytesIO(body))
    return {ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb}


def test_dask_gives_the_same_outputs(cluster, tmp_path, sample_data):
    pack = load_rules()
    src = _folder(tmp_path, copy.deepcopy(sample_data))
    local = batch.run(src, tmp_path / "local", pack=pack, jobs=2, recursive=True, progress=False)
    remote = batch.run(src, tmp_path / "dask", pack=pack, recursive=True, progress=False,
                       scheduler=cluster.scheduler_address)
    assert remote.processed == local.processed == 4
    assert remote.rows == local.rows
    assert remote.exit_code == local.exit_code == 1  # one unreadable file

    a, b = tmp_path / "local", tmp_path / "dask"
    files = sorted(p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file() and p.name != ".perfxl-cache.json")
    assert files == sorted(p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()
                           and p.name != ".perfxl-cache.json")
    for rel in files:
        x, y = (a / rel).read_bytes(), (b / rel).read_bytes()
        if rel.endswith("-已评分.xlsx"):
            assert _values(x) == _values(y), rel
            assert x == y, rel  # the patcher is deterministic: same bytes
        elif rel.endswith(".docx"):
            assert zipfile.ZipFile(io.BytesIO(x)).read("word/document.xml") == \
                zipfile.ZipFile(io.BytesIO(y)).read("word/document.xml"), rel
        elif rel.endswith("-校验结果.json") or rel == "汇总表.csv":
            assert x == y, rel
    assert json.loads((a / "汇总表.json").read_text("utf-8"))["rows"] == \
        json.loads((b / "汇总表.json").read_text("utf-8"))["rows"]


def test_dask_client_object_and_incremental(cluster, tmp_path, sample_data):
    """A Client may be passed instead of an address; the cache works the same way."""
    pack = load_rules()
    src = _folder(tmp_path, copy.deepcopy(sample_data))
    with distributed.Client(cluster) as client:
        first = batch.run(src, tmp_path / "out", pack=pack, recursive=True, progress=False, scheduler=client)
        again = batch.run(src, tmp_path / "out", pack=pack, recursive=True, progress=False, scheduler=client)
        assert client.status == "running"  # not closed by batch: the caller owns it
    assert first.processed == 4 and (again.processed, again.skipped) == (0, 4)


def test_unreachable_scheduler_is_a_batch_error(tmp_path, sample_data):
    src = _folder(tmp_path, copy.deepcopy(sample_data))
    with pytest.raises(batch.BatchError, match="dask"):
        batch.run(src, tmp_path / "out", progress=False, scheduler="tcp://127.0.0.1:9", scheduler_timeout=0.5)
