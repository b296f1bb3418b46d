"""`fmops web`: the console in a browser."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from fmops.cli._common import DelayedProgress, user_errors


def web_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback unless --auth)."),
    port: int = typer.Option(8080, "--port", help="Port to listen on."),
    runs: list[Path] = typer.Option(
        [], "--runs", help="A folder of run and comparison folders (repeatable); indexed at start."
    ),
    auth: bool = typer.Option(
        False, "--auth", help="Ask for a key: the admin key ($FMOPS_ADMIN_KEY), a team key or a reviewer key."
    ),
    monitor: Path | None = typer.Option(
        None, "--monitor", help="Monitoring rules (YAML): SLOs, toxicity, drift against baselines, a webhook."
    ),
    store: str | None = typer.Option(
        None, "--store", help="The fmops database for review queues (default: FMOPS_STORE_URL or FMOPS_HOME)."
    ),
) -> None:
    """Serve the web console: runs, comparisons, human review (read-only without --auth)."""

    @user_errors
    def run() -> None:
        from fmops.web import WebSettings, create_app

        settings = WebSettings(
            host=host,
            port=port,
            runs=runs,
            auth=auth,
            admin_key=os.environ.get("FMOPS_ADMIN_KEY") or None,
            store_url=store,
            monitor=monitor,
        )
        with DelayedProgress("indexing run folders") as progress:
            app = create_app(settings, progress=progress)
        import uvicorn

        found = app.state.console.index.runs(limit=1)[1]
        mode = "sign-in required" if auth else "read-only"
        typer.echo(f"fmops console on http://{host}:{port}/ ({found} runs and comparisons indexed; {mode})")
        uvicorn.run(app, host=host, port=port, log_level="warning")

    run()
