"""Putting a gateway together from its config, and running it with uvicorn (one process or several)."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fmops.core.errors import MissingDependencyError
from fmops.gateway._config import GatewayConfig, load_gateway_config

CONFIG_ENV = "FMOPS_GATEWAY_CONFIG"


def open_gateway_database(config: GatewayConfig) -> Any:
    """The gateway's database, migrated (SQLite under FMOPS_HOME unless `database_url` says otherwise)."""
    import fmops.gateway._tables  # noqa: F401 - the ORM models must be known before use
    from fmops.store import open_database

    return open_database(config.database_url)


def _guardrail_loader() -> Any:
    """`path -> policy` when fmops.guardrails is installed (policies load once per path), else None."""
    try:
        from fmops.guardrails import load_policy  # type: ignore[attr-defined]
    except ImportError:
        return None
    return functools.lru_cache(maxsize=64)(load_policy)


def build_gateway(config: GatewayConfig, *, own_process: bool = False) -> Any:
    """The ASGI app for `config`: deployments built (local models loaded), state opened, not yet started.

    `own_process`: the gateway is all this process runs (`fmops gateway`), so what it loads at start can
    be frozen out of the garbage collector's sight.
    """
    try:
        import aiohttp  # noqa: F401 - the upstream client
    except ImportError:
        raise MissingDependencyError("aiohttp", "gateway", "The gateway") from None
    from fmops.gateway._app import create_gateway_app
    from fmops.gateway._ledger import LedgerWriter, journal_dir
    from fmops.gateway._limits import LocalLimiter, RedisLimiter
    from fmops.gateway._metrics import metrics_or_none
    from fmops.gateway._observe import Tracer
    from fmops.gateway._service import GatewayService
    from fmops.gateway._upstream import Router, RouteRuntime, Sessions, build_deployment

    engine = open_gateway_database(config)
    client = Sessions()
    routes = {
        r.name: RouteRuntime(r, [build_deployment(r, i, d, client) for i, d in enumerate(r.deployments)])
        for r in config.routes
    }
    if config.redis_url:
        limiter: Any = RedisLimiter(
            config.redis_url, config.redis_prefix, engine, fail_open=config.redis_failure == "open"
        )
    else:
        limiter = LocalLimiter(engine)
    ledger = LedgerWriter(engine, journal_dir(config.journal_dir), interval_s=config.flush_interval_s)
    tracer = Tracer(config.otel_endpoint) if config.otel_endpoint else None

    class _Router(Router):
        async def close(self) -> None:
            await super().close()
            await client.close()
            if tracer is not None:
                tracer.close()

    service = GatewayService(
        config,
        engine,
        _Router(routes),
        limiter,
        ledger,
        metrics=metrics_or_none(),
        tracer=tracer,
        guardrails=_guardrail_loader(),
    )
    return create_gateway_app(service, freeze_gc=own_process)


def app_from_env() -> Any:
    """uvicorn factory for worker processes: the config path comes from $FMOPS_GATEWAY_CONFIG."""
    from fmops.gateway._observe import configure_logging

    configure_logging()
    return build_gateway(load_gateway_config(os.environ[CONFIG_ENV]), own_process=True)


def run_gateway(
    config_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 4000,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve until interrupted; with several workers each is a replica sharing the database (and Redis)."""
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "gateway", "The gateway") from None
    from fmops.gateway._observe import configure_logging

    config = load_gateway_config(config_path)
    configure_logging(log_level)
    common: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "access_log": False,
        "timeout_graceful_shutdown": 10,
        "h11_max_incomplete_event_size": config.max_header_bytes,
    }
    if workers > 1:
        os.environ[CONFIG_ENV] = str(Path(config_path).resolve())
        open_gateway_database(config)  # migrate once, before the workers race to
        with _multiprocess_metrics():
            uvicorn.run("fmops.gateway._server:app_from_env", factory=True, workers=workers, **common)
        return
    uvicorn.run(build_gateway(config, own_process=True), **common)


@contextlib.contextmanager
def _multiprocess_metrics() -> Iterator[None]:
    """Workers share their Prometheus values through files in one folder (set before they start).

    A folder given in PROMETHEUS_MULTIPROC_DIR is used and its stale value files removed (as
    prometheus_client asks); otherwise a temporary one lives as long as the gateway.
    """
    from fmops.gateway._metrics import MULTIPROC_ENV

    given = os.environ.get(MULTIPROC_ENV)
    if given:
        Path(given).mkdir(parents=True, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink(missing_ok=True)
        yield
        return
    folder = tempfile.mkdtemp(prefix="fmops-gateway-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)
