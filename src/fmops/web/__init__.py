"""The web console: runs, comparisons, human review (and experiments, the registry and gateway usage when
those components are installed), served by `fmops web`.

    from fmops.web import WebSettings, create_app, serve
    serve(WebSettings(runs=[Path("runs")]))          # what `fmops web --runs runs` does

Run folders are indexed into a SQLite cache under FMOPS_HOME (`RunIndex`) so large runs page quickly;
review queues (from a run, or from a seeded sample of gateway traffic kept as a snapshot run) and answers
live in the fmops store (migration branch `review`). `human_scores` gives a run's review results as scores,
and the `human_review` pipeline step (`_gate.py`) gates on them; `cohen_kappa` and `krippendorff_alpha` are
the agreement statistics the review pages show. With `--monitor RULES.yaml` a Monitoring page checks the
gateway's traffic against SLOs, toxicity, an online judge score and drift from the evaluation baseline, and
alerts a webhook (on a schedule with `interval_s`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fmops.web._agreement import cohen_kappa, krippendorff_alpha
from fmops.web._index import RecordQuery, RunIndex
from fmops.web._settings import WebSettings

if TYPE_CHECKING:
    from fastapi import FastAPI


def create_app(
    settings: WebSettings,
    *,
    index: RunIndex | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FastAPI:
    """The console's FastAPI application (FastAPI and Jinja2 come with `fmops[web]`); the run folders are
    indexed first, `progress(done, total)` hearing about each."""
    from fmops.core.errors import MissingDependencyError

    for package in ("fastapi", "jinja2", "python_multipart"):
        try:
            __import__(package)
        except ImportError:
            raise MissingDependencyError(package, "web", "The web console") from None
    from fmops.web._app import create_app as build

    return build(settings, index=index, progress=progress)


def serve(settings: WebSettings) -> None:
    """Serve the console until interrupted."""
    import uvicorn

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning")


def human_scores(run_path: str, store_url: str | None = None) -> list[Any]:
    """A run folder's human-review results as 0..1 scores (`HumanScore`), for reports and pipeline gates."""
    from pathlib import Path

    from fmops.core.settings import fmops_home
    from fmops.store import open_database
    from fmops.web._review import human_scores as scores

    index = RunIndex(fmops_home() / "web" / "index.sqlite", [Path(run_path)])
    index.refresh()
    return scores(open_database(store_url), index, str(Path(run_path).resolve()))


__all__ = [
    "RecordQuery",
    "RunIndex",
    "WebSettings",
    "cohen_kappa",
    "create_app",
    "human_scores",
    "krippendorff_alpha",
    "serve",
]
