"""Loading the model to serve and running the app with uvicorn, in the foreground or a background thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, MissingDependencyError, RunError
from fmops.models import GenerateConfig, GenerateRequest, Limits, Model, get_model


def load_model(
    spec: str,
    args: Sequence[str] = (),
    *,
    adapter: str | Path | None = None,
    max_batch_size: int | None = None,
) -> Model:
    """The model to serve, built like any other fmops model, with two serving choices.

    No response store: a server answers every request from the model (random samples must differ).
    No retries: a failed local call fails the same way again; the client decides whether to retry.
    `adapter` is the hf provider's LoRA adapter argument; `max_batch_size` becomes the provider's
    `batch_size` when it takes one (hf, zoo, echo), so a full batch is one forward pass.
    """
    extra = list(args)
    if adapter is not None:
        extra.append(f"adapter={adapter}")
    limits = Limits(max_retries=0)
    if max_batch_size and not any(a.split("=", 1)[0].strip() == "batch_size" for a in extra):
        try:
            return get_model(spec, [*extra, f"batch_size={max_batch_size}"], store=False, limits=limits)
        except BadInputError as exc:
            if "batch_size" not in str(exc):
                raise
    return get_model(spec, extra, store=False, limits=limits)


def warm_up(model: Model) -> None:
    """Load the weights now (one one-token generation), so a broken model fails before serving."""
    result = model.generate_sync(
        [GenerateRequest(prompt="Hello", config=GenerateConfig(max_tokens=1, temperature=0))], use_store=False
    )[0]
    if result.error is not None:
        raise RunError(f"{model.name} does not answer: {result.error}")


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "serve", "Serving a model") from None
    return uvicorn


def run_server(app: Any, *, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve `app` until interrupted (Ctrl-C stops it gracefully)."""
    _uvicorn().run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        access_log=log_level == "debug",
        timeout_graceful_shutdown=5,
    )


class BackgroundServer:
    """Serve an app on loopback from a daemon thread (tests, notebooks, benchmarks)::

    with BackgroundServer(create_app(model)) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="unused")
    """

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        uvicorn = _uvicorn()
        config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, access_log=False, lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fmops-serve", daemon=True)
        self.host = host
        self.port = port

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root + "/v1"

    def start(self, timeout: float = 30.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RunError(f"the server did not start on {self.host}:{self.port}")
            time.sleep(0.01)
        sockets = [s for server in self._server.servers for s in server.sockets]
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
