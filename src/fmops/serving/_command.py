"""The `serve` command: options, then load, warm up, build the app and run the server.

`fmops serve` (the CLI's face, `fmops.cli.serve`) and `python -m fmops.serving` both run this function;
it imports no server, model or torch until it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def serve_command(
    spec: Annotated[
        str,
        typer.Argument(
            help="Model to serve: zoo/NAME, hf/FOLDER, or any PROVIDER/MODEL spec or models.yaml name."
        ),
    ],
    model_arg: Annotated[
        list[str] | None,
        typer.Option("-M", "--model-arg", help="Model argument KEY=VALUE (repeatable), e.g. -M device=cuda."),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    adapter: Annotated[
        Path | None, typer.Option(help="LoRA adapter folder to apply (hf and zoo models).")
    ] = None,
    max_batch_size: Annotated[
        int | None,
        typer.Option(min=1, help="Most requests per forward pass (default: the provider's batch size)."),
    ] = None,
    batch_wait_ms: Annotated[
        float,
        typer.Option(
            min=0,
            help="Longest a request waits for others to join its batch (from its arrival, or from when the "
            "model became free).",
        ),
    ] = 5.0,
    served_name: Annotated[
        str | None, typer.Option(help="The `model` name clients send (default: SPEC; SPEC always works).")
    ] = None,
    max_queue: Annotated[
        int,
        typer.Option(min=1, help="Requests that may wait for a batch; beyond that the server answers 503."),
    ] = 256,
    context_window: Annotated[
        int | None,
        typer.Option(
            min=1, help="Context window in tokens (default: from the model's config, when it has one)."
        ),
    ] = None,
    log_level: Annotated[
        str, typer.Option(help="uvicorn log level (debug also logs every request).")
    ] = "info",
) -> None:
    """Serve a model with OpenAI's API: /v1/chat/completions, /v1/completions, /v1/models, /health.

    Concurrent requests are batched into one forward pass. Point any OpenAI client at
    http://HOST:PORT/v1, or another fmops at it with `openai/NAME -M base_url=http://HOST:PORT/v1`.
    """
    from fmops.serving import create_app, load_model, run_server, warm_up

    first_use = (
        " (a zoo model not yet trained is trained first: about a minute)" if spec.startswith("zoo/") else ""
    )
    typer.echo(f"loading {spec}{first_use} ...", err=True)
    model = load_model(spec, list(model_arg or []), adapter=adapter, max_batch_size=max_batch_size)
    warm_up(model)
    app = create_app(
        model,
        served_name=served_name or spec,
        max_batch_size=max_batch_size,
        batch_wait_ms=batch_wait_ms,
        max_queue=max_queue,
        context_window=context_window,
    )
    service = app.state.service
    window = service.tokens.context_window
    typer.echo(
        f"serving {spec} as '{service.name}' on http://{host}:{port}/v1 "
        f"(batches of up to {service.batcher.max_batch_size}, wait {batch_wait_ms:g} ms, "
        f"context window {window if window else 'unknown'})",
        err=True,
    )
    run_server(app, host=host, port=port, log_level=log_level)
