"""Open a report in headless Chromium (Debian's package, driven by Playwright) and record what went wrong.

Playwright's own browser download does not work offline, so it drives the system Chromium through
`executable_path`.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str | None:
    for candidate in (os.environ.get("FMOPS_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


@dataclass
class PageReport:
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    charts: dict[str, int] = field(default_factory=dict)
    anchors: list[str] = field(default_factory=list)
    xss: Any = None
    menu_switched: bool | None = None
    title: str = ""


def inspect(*pages: Path, screenshot: Path | None = None, width: int = 1280) -> list[PageReport]:
    """Load each page in one browser, wait for its charts, and report errors, requests and `.main-svg`
    counts per chart div (a screenshot of the first page when asked)."""
    from playwright.sync_api import sync_playwright

    reports = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        try:
            for i, html in enumerate(pages):
                reports.append(_inspect(browser, html, screenshot if i == 0 else None, width))
        finally:
            browser.close()
    return reports


def _inspect(browser: Any, html: Path, screenshot: Path | None, width: int) -> PageReport:
    report = PageReport()
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: report.page_errors.append(str(exc)))
    page.on("request", lambda r: report.requests.append(r.url))
    page.goto(html.resolve().as_uri(), wait_until="load")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('div.chart')).every(d => d.querySelector('.main-svg'))",
        timeout=20000,
    )
    report.charts = page.evaluate(
        "() => Object.fromEntries(Array.from(document.querySelectorAll('div.chart'))"
        ".map(d => [d.id, d.querySelectorAll('.main-svg').length]))"
    )
    report.anchors = page.evaluate(
        "() => Array.from(document.querySelectorAll('section[id]')).map(s => s.id)"
    )
    # Switch the first category chart to its second score: the menu's update must apply without errors.
    charts = page.locator("div.chart:has(.updatemenu-header-group)")
    if charts.count():
        chart = charts.first
        before = chart.locator(".ytitle").text_content()
        chart.locator(".updatemenu-header-group").click()
        chart.locator(".updatemenu-dropdown-button").nth(1).click()
        page.wait_for_timeout(200)
        report.menu_switched = chart.locator(".ytitle").text_content() != before
    report.xss = page.evaluate("() => window.__xss === undefined ? null : window.__xss")
    report.title = page.title()
    if screenshot is not None:
        page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    return report
