"""The console as a person uses it, in headless Chromium: every page loads without a console error or a
failed request, charts draw, filters, drill-down, side-by-side and review actions work by clicking.
Screenshots of each page go to the test's tmp folder (and /work/notes/screens when it exists)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fmops.web import WebSettings
from tests.web._browser import charts_drawn, htmx_idle, launch, screenshot, watch
from tests.web.conftest import ADMIN_KEY, Folders, LiveConsole, start_console

pytestmark = pytest.mark.skipif(
    __import__("tests.reports._browser", fromlist=["chromium_path"]).chromium_path() is None,
    reason="no Chromium installed",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def console(folders: Folders, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    state = tmp_path_factory.mktemp("web-state")
    settings = WebSettings(
        runs=[folders.root],
        auth=True,
        admin_key=ADMIN_KEY,
        index_path=state / "index.sqlite",
        store_url=f"sqlite:///{state / 'fmops.sqlite'}",
    )
    yield from start_console(settings)


@pytest.fixture(scope="module")
def screens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screens")


def _sign_in(context: Any, url: str, key: str) -> Any:
    watched = watch(context)
    page = watched.page
    page.goto(f"{url}/login")
    page.fill("input[name=key]", key)
    page.click("#sign-in")
    page.wait_for_url(f"{url}/")
    return watched


def test_runs_run_records_and_record_pages(
    browser: Any, console: LiveConsole, folders: Folders, screens: Path
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = _sign_in(context, console.url, ADMIN_KEY)
    page = watched.page
    assert page.locator("#runs tbody tr").count() == 13  # the comparison, its 11 runs, the robustness run
    screenshot(page, screens, "01-runs")

    # Filter by algorithm: the select submits through htmx and the table shrinks to the robustness runs.
    page.select_option("select[name=algorithm]", "qa_accuracy_semantic_robustness")
    page.wait_for_function("() => document.querySelector('#runs-count').textContent.startsWith('3 runs')")
    assert "algorithm=qa_accuracy_semantic_robustness" in page.url
    htmx_idle(page)

    # Drill down into the robustness run, then its records.
    page.locator("#runs tbody tr", has_text="echo/hint").locator("td:first-child a").click()
    page.wait_for_selector("#dataset-scores")
    assert charts_drawn(page)
    assert page.evaluate("() => window.__xss === undefined")  # a hostile category name stays text
    page.wait_for_load_state("networkidle")  # the human-review scores load after the page
    screenshot(page, screens, "02-run")
    page.click("#records-link")
    page.wait_for_selector("#records-table")
    assert page.locator("#records-count").text_content() == "40 records"

    # Full-text search, then sort by a score, descending: the first row holds the highest value.
    page.fill("input[name=q]", "Germany")
    page.press("input[name=q]", "Enter")
    page.wait_for_function("() => document.querySelector('#records-count').textContent !== '40 records'")
    searched = int(page.locator("#records-count").text_content().split()[0])
    assert 0 < searched < 40
    page.fill("input[name=q]", "")
    page.select_option("select[name=order]", "desc")
    page.select_option("select[name=sort]", "f1_score")
    page.wait_for_function("() => location.search.includes('sort=f1_score')")
    htmx_idle(page)
    values = page.locator("#records-table tbody tr td:nth-child(7)").all_text_contents()
    numbers = [float(v) for v in values if v != "—"]
    assert numbers == sorted(numbers, reverse=True) and numbers[0] > numbers[-1]
    screenshot(page, screens, "03-records")

    # One record: perturbed inputs and outputs side by side.
    htmx_idle(page)
    page.click("#records-table tbody tr:first-child td:first-child a")
    page.wait_for_selector("#perturbed")
    assert page.locator("#perturbed tbody tr").count() == 4  # the original and three perturbations
    screenshot(page, screens, "04-record")
    assert watched.problems() == [], watched.problems()
    assert all(r.startswith(console.url) for r in watched.requests)  # nothing from a CDN
    context.close()


def test_comparison_page(browser: Any, console: LiveConsole, screens: Path) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watched = _sign_in(context, console.url, ADMIN_KEY)
    page = watched.page
    page.click("header >> text=Comparisons")
    page.click("#comparisons >> text=capitals & co")
    page.wait_for_selector("#matrix")
    drawn = charts_drawn(page)
    assert set(drawn) == {"chart-radar", "chart-pareto-cost", "chart-pareto-latency"}
    assert all(n >= 1 for n in drawn.values())
    assert page.locator("#matrix .pill.sig").count() > 0  # some differences are beyond the noise
    assert "echo/hint" in page.locator("#selected").text_content()
    # The hostile strings in the fixture stay text.
    assert page.evaluate("() => window.__xss === undefined")
    before = page.locator("#side-input").text_content()
    page.select_option("#side-form select[name=row]", index=3)
    page.wait_for_function(f"() => document.querySelector('#side-input').textContent !== {before!r}")
    htmx_idle(page)
    assert page.locator("#side-answers .answer").count() == 3
    # Another evaluation: the record list follows it (stereotyping has 6 records; the QA data 40).
    page.select_option("#side-form select[name=evaluation]", "prompt_stereotyping/stereotyping_logprobs")
    page.wait_for_function("() => document.querySelectorAll('#side-row option').length === 6")
    htmx_idle(page)
    assert page.locator("#side-answers .answer").count() == 3
    screenshot(page, screens, "05-comparison")
    assert watched.problems() == [], watched.problems()
    context.close()


def test_review_by_clicking(browser: Any, console: LiveConsole, screens: Path) -> None:
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = _sign_in(admin_context, console.url, ADMIN_KEY)
    page = admin.page
    page.goto(f"{console.url}/review")
    keys = {}
    for name in ("alice", "bob"):
        page.fill("#add-reviewer input[name=name]", name)
        page.click("#add-reviewer button")
        page.wait_for_selector("#new-key")
        keys[name] = page.locator("#new-key .key").text_content().strip()
    run_option = page.locator("#new-queue select[name=run_id] option", has_text="echo/r").get_attribute(
        "value"
    )
    page.fill("#new-queue input[name=name]", "helpfulness")
    page.select_option("#new-queue select[name=run_id]", run_option)
    page.fill("#new-queue input[name=dataset]", "capitals")
    page.select_option("#new-queue select[name=reviewers]", ["alice", "bob"])
    page.fill("#new-queue input[name=size]", "3")
    page.fill("#new-queue input[name=judge_score]", "f1_score")
    page.click("#new-queue button")
    page.wait_for_selector("#agreement")
    queue_url = page.url
    screenshot(page, screens, "06-review-admin")

    for name, rating in (("alice", "4"), ("bob", "4")):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        reviewer = _sign_in(context, console.url, keys[name])
        rpage = reviewer.page
        rpage.click("header >> text=Review")
        rpage.click("#queues >> text=helpfulness")
        items = rpage.locator(".review-item")
        assert items.count() == 3
        for i in range(3):
            item = rpage.locator(".review-item").nth(i)
            item.locator(f"input[name=rating][value='{rating if i else '2'}']").check()
            item.locator("button").click()
            rpage.wait_for_function(
                f"() => document.querySelectorAll('.review-item.done').length === {i + 1}"
            )
        screenshot(rpage, screens, f"07-review-{name}")
        assert reviewer.problems() == []
        context.close()

    page.goto(queue_url)
    assert page.locator("#agreement").text_content().count("6 / 6") == 1
    alpha = page.locator("#alpha").text_content()
    assert alpha not in ("—", "")
    assert page.locator("#judge-agreement").text_content().startswith("alpha")
    assert admin.problems() == []
    admin_context.close()


@pytest.fixture(scope="module")
def traffic_console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveConsole]:
    """A console whose store holds gateway traffic with stored answers (and no run folders)."""
    from fmops.store import open_database
    from tests.web.test_traffic import fill_traffic

    state = tmp_path_factory.mktemp("web-traffic")
    url = f"sqlite:///{state / 'fmops.sqlite'}"
    fill_traffic(open_database(url))
    settings = WebSettings(auth=True, admin_key=ADMIN_KEY, index_path=state / "index.sqlite", store_url=url)
    yield from start_console(settings)


def test_review_from_gateway_traffic_by_clicking(
    browser: Any, traffic_console: LiveConsole, screens: Path
) -> None:
    url = traffic_console.url
    admin_context = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = _sign_in(admin_context, url, ADMIN_KEY)
    page = admin.page
    page.goto(f"{url}/review")
    page.fill("#add-reviewer input[name=name]", "carol")
    page.click("#add-reviewer button")
    page.wait_for_selector("#new-key")
    key = page.locator("#new-key .key").text_content().strip()
    form = page.locator("#new-traffic-queue")
    form.locator("input[name=name]").fill("live answers")
    form.locator("input[name=model]").fill("qa")
    form.locator("select[name=reviewers]").select_option(["carol"])
    form.locator("input[name=size]").fill("3")
    form.locator("input[name=seed]").fill("5")
    form.locator("button").click()
    page.wait_for_selector("#agreement")
    queue_url = page.url
    assert "0 / 3" in page.locator("#agreement").text_content()
    assert page.locator("#queue-run").text_content().startswith("live-answers-")
    screenshot(page, screens, "13-review-traffic-admin")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    reviewer = _sign_in(context, url, key)
    rpage = reviewer.page
    rpage.goto(queue_url)
    items = rpage.locator(".review-item")
    assert items.count() == 3
    assert all(
        t.strip().startswith("answer ") for t in rpage.locator(".review-item .answer").all_text_contents()
    )
    for i in range(3):
        item = rpage.locator(".review-item").nth(i)
        item.locator("input[name=rating][value='5']").check()
        item.locator("button").click()
        rpage.wait_for_function(f"() => document.querySelectorAll('.review-item.done').length === {i + 1}")
    screenshot(rpage, screens, "14-review-traffic-reviewer")
    assert reviewer.problems() == [], reviewer.problems()
    context.close()

    # The result joins the snapshot run as a score, on the run's page.
    page.goto(queue_url)
    page.click("#queue-run")
    page.wait_for_selector("#human-review-scores")
    row = page.locator("#human-review-scores tbody tr").first.text_content()
    assert "human_rating:live answers" in row and "1.000" in row
    screenshot(page, screens, "15-traffic-run")
    assert admin.problems() == [], admin.problems()
    admin_context.close()
