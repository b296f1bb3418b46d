"""Open the reports in headless Chromium: every chart draws, nothing errors, nothing leaves file://."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from fmops.reports import write_report
from tests.reports._browser import PageReport, chromium_path, inspect
from tests.reports._fixtures import SECTIONS

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("playwright") is None,
        reason="playwright is not installed (pip install playwright)",
    ),
    pytest.mark.skipif(
        chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]


def _check(*html: Path) -> list[PageReport]:
    pages = inspect(*html)
    for page in pages:
        _check_page(page)
    return pages


def _check_page(page: PageReport) -> None:
    assert page.console_errors == []
    assert page.page_errors == []
    assert [u for u in page.requests if not u.startswith("file://")] == []
    assert page.charts and all(count >= 1 for count in page.charts.values()), page.charts
    assert page.xss is None  # no injected script or handler ran
    assert page.menu_switched in (True, None)  # the category chart's score menu works


def test_comparison_report_renders(comparison_dir: Path, tmp_path: Path) -> None:
    paths = write_report(comparison_dir, tmp_path)
    html = paths.html.read_text(encoding="utf-8")
    (page,) = _check(paths.html)
    assert page.menu_switched is True
    assert page.anchors == list(SECTIONS)
    # Every chart div in the page was drawn (inspect counts .main-svg per div).
    assert html.count('class="chart"') >= 9


def test_single_run_reports_render(byo_run_dir: Path, robustness_run_dir: Path, tmp_path: Path) -> None:
    _check(
        *(
            write_report(run, tmp_path / str(i)).html
            for i, run in enumerate((byo_run_dir, robustness_run_dir))
        )
    )
