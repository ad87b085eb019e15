"""The pages in a real headless browser (Debian's chromium + chromium-driver, selenium): a clerk
logs in, uploads the sample, sees 98.31 and the findings, downloads the report, submits twice;
the reviewer sees the department in the 汇总 and the diff between the two versions.

Screenshots go to $PERFXL_SCREENSHOTS (default: the test's tmp folder)."""
from __future__ import annotations

import io
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from serverkit import DEPT_A, PASSWORD, SAMPLE_XLSX, make_server

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="chromium/chromium-driver missing: scripts/services.sh installs them")


@pytest.fixture(scope="module")
def srv(request, tmp_path_factory):
    s = make_server(request, tmp_path_factory, "sqlite")
    s.user("zhang", "clerk", DEPT_A)
    s.user("boss", "reviewer")
    s.start()
    yield s
    s.stop()


@pytest.fixture
def browser(tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-extensions", "--no-first-run",
                 "--window-size=1366,900", "--lang=zh-CN", f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(flag)
    opts.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                           "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.downloads = downloads
    shots = Path(os.environ.get("PERFXL_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    driver.shot = lambda name: driver.save_screenshot(str(shots / f"{name}.png"))
    yield driver
    driver.quit()


def _login(b, srv, login):
    b.get(srv.url + "/login")
    b.find_element(By.ID, "login").send_keys(login)
    b.find_element(By.ID, "password").send_keys(PASSWORD)
    b.find_element(By.ID, "login-button").click()


def _wait(b, by, what, timeout=60):
    return WebDriverWait(b, timeout).until(EC.presence_of_element_located((by, what)))


def _downloaded(folder: Path, suffix: str, timeout: float = 30) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in folder.iterdir() if p.suffix == suffix]
        if done:
            return done[0]
        time.sleep(0.2)
    raise AssertionError(f"no {suffix} downloaded: {list(folder.iterdir())}")


def _changed_sample(tmp_path) -> Path:
    """The sample with 预算执行!C11 (issued_project) raised: a second, different version."""
    from perfxl.edits import SetCell
    from perfxl.edits import apply_edits_bytes

    p = tmp_path / "乐昌市民政局-2023-修改.xlsx"
    p.write_bytes(apply_edits_bytes(SAMPLE_XLSX.read_bytes(), [SetCell("预算执行", "C11", 14500.0)]))
    return p


def test_clerk_checks_downloads_and_submits_then_reviewer_diffs(srv, browser, tmp_path):
    b = browser
    b.get(srv.url + "/clerk")
    assert "/login" in b.current_url  # not logged in: sent to the login page
    _login(b, srv, "zhang")
    _wait(b, By.ID, "file")
    b.shot("01-clerk-start")

    b.find_element(By.ID, "file").send_keys(str(SAMPLE_XLSX))
    assert SAMPLE_XLSX.name in b.find_element(By.CSS_SELECTOR, ".chosen").text  # the clerk sees the choice
    b.find_element(By.ID, "check-button").click()
    total = _wait(b, By.ID, "total")
    assert total.text == "98.31" and b.find_element(By.ID, "grade").text == "优"
    refs = [td.text for td in b.find_elements(By.CSS_SELECTOR, "table.findings td.ref")]
    assert refs and all("!" in r or r for r in refs)
    assert any("!" in r for r in refs)
    b.shot("02-clerk-result")

    b.find_element(By.ID, "download-report").click()
    report = _downloaded(b.downloads, ".docx")
    assert "word/document.xml" in zipfile.ZipFile(io.BytesIO(report.read_bytes())).namelist()

    b.find_element(By.ID, "submit-button").click()
    flash = _wait(b, By.ID, "flash")
    assert "第 1 版" in flash.text and "98.31" in flash.text
    b.shot("03-clerk-submitted")

    b.find_element(By.ID, "file").send_keys(str(_changed_sample(tmp_path)))
    b.find_element(By.ID, "check-button").click()
    second_total = _wait(b, By.ID, "total").text
    b.find_element(By.ID, "submit-button").click()
    assert "第 2 版" in _wait(b, By.ID, "flash").text
    assert len(b.find_elements(By.CSS_SELECTOR, "#history tbody tr")) == 2

    b.find_element(By.CSS_SELECTOR, "form[action='/logout'] button").click()
    _login(b, srv, "boss")
    table = _wait(b, By.ID, "summary")
    row = next(tr for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr") if DEPT_A in tr.text)
    assert second_total in row.text  # the latest version is what the 汇总 shows
    assert b.find_element(By.ID, "chart").get_attribute("aria-label") == "得分分布"
    assert DEPT_A in b.find_element(By.ID, "ranking").text
    b.shot("04-review-summary")

    row.find_element(By.LINK_TEXT, DEPT_A).click()
    _wait(b, By.ID, "versions")
    b.shot("05-review-dept")
    b.find_element(By.ID, "diff-button").click()
    cells = _wait(b, By.ID, "cell-diff")
    changed = cells.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(changed) == 1 and "预算执行!C11" in changed[0].text
    assert "11,933.86" in changed[0].text and "14,500" in changed[0].text
    assert b.find_element(By.ID, "total-move").text == f"98.31 → {second_total}"
    b.shot("06-review-diff")


def test_clerk_sees_refusal_for_another_department(srv, browser, tmp_path):
    import json

    from perfxl.template import build_workbook
    from serverkit import ROOT

    data = json.loads((ROOT / "samples" / "lechang-2023.json").read_text("utf-8"))
    other = tmp_path / "别的部门.xlsx"
    other.write_bytes(build_workbook(data, dept="乐昌市教育局", year=2023))
    b = browser
    _login(b, srv, "zhang")
    _wait(b, By.ID, "file").send_keys(str(other))
    b.find_element(By.ID, "check-button").click()
    refusal = _wait(b, By.ID, "refusal")
    assert "乐昌市教育局" in refusal.text and DEPT_A in refusal.text
    assert not b.find_elements(By.ID, "submit-button")
    b.shot("07-clerk-refused")


def test_unreadable_upload_shows_chinese_error_page(srv, browser, tmp_path):
    bad = tmp_path / "坏文件.xlsx"
    bad.write_bytes("部门名称,年度\n".encode("utf-8"))
    b = browser
    _login(b, srv, "zhang")
    _wait(b, By.ID, "file").send_keys(str(bad))
    b.find_element(By.ID, "check-button").click()
    alert = _wait(b, By.CSS_SELECTOR, ".alert")
    assert "坏文件.xlsx" in alert.text and "CSV" in alert.text
    b.shot("08-clerk-bad-file")
