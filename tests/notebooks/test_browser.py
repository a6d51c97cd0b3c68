"""The HTML reports in a real headless Chromium: no JS errors, figures drawn, tables filter,
and no request leaves file:// (or 127.0.0.1).

Skips when Debian's chromium is missing, unless ZOOMAUDIT_REQUIRE_BROWSER=1 (CI): then fails.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = [pytest.mark.notebooks, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LOCAL_SCHEMES = {"file", "data", "blob", "about"}


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        if os.environ.get("ZOOMAUDIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and ZOOMAUDIT_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install -y chromium to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    seen = {"errors": [], "requests": []}
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on(
        "console", lambda msg: seen["errors"].append(msg.text) if msg.type == "error" else None
    )
    page.on("request", lambda req: seen["requests"].append(req.url))
    page.goto(path.as_uri(), wait_until="load")
    return page, seen


def _external(urls: list[str]) -> list[str]:
    out = []
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme in LOCAL_SCHEMES:
            continue
        if parsed.hostname in ("127.0.0.1", "localhost"):
            continue
        out.append(url)
    return out


def test_every_report_renders_offline_without_errors(browser, report_run):
    ARTIFACTS.mkdir(exist_ok=True)
    pages = sorted(report_run["folder"].glob("[0-9]*.html"))
    assert len(pages) >= 5
    for html in pages:
        page, seen = _open(browser, html)
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
        assert page.locator(".js-plotly-plot").count() >= 1, html.name
        page.wait_for_timeout(300)  # let the DataTables module settle (a browser wait)
        assert seen["errors"] == [], (html.name, seen["errors"])
        assert _external(seen["requests"]) == [], (html.name, _external(seen["requests"]))
        page.screenshot(path=str(ARTIFACTS / f"report-{html.stem}.png"), full_page=False)
        page.close()


def test_findings_table_filters_when_typing_in_its_search_box(browser, report_run):
    page, seen = _open(browser, report_run["folder"] / "10_reconcile_users.html")
    table = page.locator("table.dataTable").first
    table.wait_for(timeout=30_000)
    container = page.locator(".dt-container").first
    rows = container.locator("tbody tr")
    before = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert len(before) >= 2
    term = "unmanaged_zoom_user"
    container.locator(".dt-search input").fill(term)
    page.wait_for_function(
        "() => document.querySelector('.dt-container .dt-info').textContent.includes('filtered')"
    )
    after = [rows.nth(i).inner_text() for i in range(rows.count())]
    assert after and all(term in row for row in after)
    assert after != before
    assert "filtered" in container.locator(".dt-info").inner_text()
    page.screenshot(path=str(ARTIFACTS / "report-table-filtered.png"))
    assert seen["errors"] == []
    page.close()


def test_index_page_opens_and_links_the_reports(browser, report_run):
    page, seen = _open(browser, report_run["folder"] / "index.html")
    links = page.locator("a[href$='.html']")
    assert links.count() >= 5
    links.first.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("10_reconcile_users.html")
    assert seen["errors"] == [] and _external(seen["requests"]) == []
    page.close()
