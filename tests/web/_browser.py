"""One headless Chromium (Debian's, driven by Playwright) per test module, and pages that record what went
wrong: console errors, uncaught exceptions and failed requests."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reports._browser import CHROMIUM_ARGS, chromium_path

#: Where a copy of the screenshots goes for a person to look at (when that folder exists).
SHARED_SCREENS = Path("/work/notes/screens")


@dataclass
class Watched:
    page: Any
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return self.console_errors + self.page_errors + self.failed


def watch(context: Any) -> Watched:
    page = context.new_page()
    watched = Watched(page)
    page.on("console", lambda m: watched.console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: watched.page_errors.append(str(exc)))
    page.on("requestfailed", lambda r: watched.failed.append(f"{r.url} {r.failure}"))
    page.on("response", lambda r: watched.failed.append(f"{r.url} {r.status}") if r.status >= 400 else None)
    page.on("request", lambda r: watched.requests.append(r.url))
    return watched


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def screenshot(page: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if SHARED_SCREENS.parent.is_dir():
        SHARED_SCREENS.mkdir(exist_ok=True)
        shutil.copy(path, SHARED_SCREENS / path.name)
    return path


def charts_drawn(page: Any) -> dict[str, int]:
    """`.main-svg` count per chart div, once every chart on the page has drawn."""
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('div.chart')).every(d => d.querySelector('.main-svg'))",
        timeout=20000,
    )
    return page.evaluate(
        "() => Object.fromEntries(Array.from(document.querySelectorAll('div.chart'))"
        ".map(d => [d.id, d.querySelectorAll('.main-svg').length]))"
    )


def htmx_idle(page: Any) -> None:
    """Wait until no htmx request is in flight (htmx marks the element that sent it)."""
    page.wait_for_function("() => !document.querySelector('.htmx-request')", timeout=20000)
