"""The gateway's FastAPI app: OpenAI's endpoints, the usage API, the admin API, /metrics and /health.

No `from __future__ import annotations`: FastAPI must see the real `Request` class in route signatures.
Bodies are read raw (size-capped) and validated by `_schemas`, whose models also document them in the
OpenAPI spec.
"""

import contextlib
import gc
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fmops.core.errors import FmopsError, MissingDependencyError
from fmops.gateway._asgi import GatewayASGI
from fmops.gateway._keys import admin_key_matches
from fmops.gateway._schemas import SCHEMAS
from fmops.gateway._service import GatewayService
from fmops.gateway._usage import DIMENSIONS, parse_since, usage
from fmops.serving import APIError, install_error_handlers, read_bounded_body

ADMIN_KEY_ENV = "FMOPS_ADMIN_KEY"


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    models: list[str] | None = None
    budget_usd: float | None = Field(default=None, ge=0, le=1e12)
    period: str = Field(default="monthly", pattern="^(daily|monthly)$")
    expires_in_days: float | None = Field(default=None, gt=0, le=36500)
    rpm: int | None = Field(default=None, ge=1, le=10**9)
    tpm: int | None = Field(default=None, ge=1, le=10**12)
    max_concurrency: int | None = Field(default=None, ge=1, le=10**6)


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    org: str | None = Field(default=None, max_length=200)
    rpm: int | None = Field(default=None, ge=1, le=10**9)
    tpm: int | None = Field(default=None, ge=1, le=10**12)
    max_concurrency: int | None = Field(default=None, ge=1, le=10**6)
    store_content: bool = False
    budget_usd: float | None = Field(default=None, ge=0, le=1e12)
    period: str = Field(default="monthly", pattern="^(daily|monthly)$")


class Rotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: float = Field(default=24.0, ge=0, le=24 * 365)


def _body_doc(schema: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }


def create_gateway_app(service: GatewayService, *, freeze_gc: bool = False) -> Any:
    """The ASGI app; `freeze_gc` (a gateway process of its own) hides what start-up loaded from the GC."""
    try:
        from fastapi import FastAPI, Query, Request
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse, Response, StreamingResponse
    except ImportError:
        raise MissingDependencyError("fastapi", "gateway", "The gateway") from None

    max_body = service.config.max_body_bytes

    @contextlib.asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        await service.start()
        if freeze_gc:
            # Everything loaded so far lives as long as the process: out of the collector's sight, a full
            # collection scans only what requests allocate (tens of ms less at the tail, under load).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await service.close()

    app = FastAPI(
        title="fmops gateway",
        summary="One OpenAI-compatible endpoint for every model, with tenants, keys, budgets and a usage ledger",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = service

    def error(exc: APIError) -> Any:
        return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers)

    install_error_handlers(app)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> Any:
        first = exc.errors()[0] if exc.errors() else {}
        param = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")) or None
        return error(
            APIError(400, f"`{param}`: {first.get('msg', 'invalid')}", param=param, code="invalid_value")
        )

    @app.exception_handler(FmopsError)
    async def _fmops_error(_: Request, exc: FmopsError) -> Any:
        return error(APIError(400 if exc.exit_code == 2 else 500, str(exc)))

    async def read_body(request: Request) -> bytes:
        return await read_bounded_body(request, max_body)

    async def generate(endpoint: str, request: Request) -> Any:
        raw = await read_body(request)
        reply = await service.handle(
            endpoint, raw, request.headers.get("authorization"), request.headers.get("x-fmops-end-user")
        )
        if reply.stream is not None:
            return StreamingResponse(
                reply.stream,
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "x-accel-buffering": "no", **reply.headers},
            )
        return Response(
            reply.body, status_code=reply.status, media_type="application/json", headers=reply.headers
        )

    @app.post("/v1/chat/completions", openapi_extra=_body_doc(SCHEMAS["chat/completions"]))
    async def chat(request: Request) -> Any:
        return await generate("chat/completions", request)

    @app.post("/v1/completions", openapi_extra=_body_doc(SCHEMAS["completions"]))
    async def completions(request: Request) -> Any:
        return await generate("completions", request)

    @app.post("/v1/embeddings", openapi_extra=_body_doc(SCHEMAS["embeddings"]))
    async def embeddings(request: Request) -> Any:
        return await generate("embeddings", request)

    @app.get("/v1/models")
    async def models(request: Request) -> Any:
        return JSONResponse(await service.models(request.headers.get("authorization")))

    @app.get("/v1/usage")
    async def team_usage(request: Request, by: str = Query("model,day"), since: str | None = None) -> Any:
        """The calling key's team's usage (a key never sees another team's)."""
        ctx = await service.keys.authenticate(request.headers.get("authorization"))
        rows = usage(service.engine, _dims(by), since=parse_since(since), team_id=ctx.team_id)
        return JSONResponse({"object": "list", "team": ctx.team, "data": rows})

    @app.get("/health")
    async def health() -> Any:
        return JSONResponse({"status": "ok", "routes": [r.name for r in service.config.routes]})

    @app.get("/metrics")
    async def metrics() -> Any:
        if service.metrics is None:
            raise APIError(404, "metrics need prometheus-client: pip install 'fmops[gateway]'")
        data, content_type = service.metrics.render()
        return Response(data, media_type=content_type)

    # -- admin ----------------------------------------------------------------------------------
    def admin(request: Request) -> None:
        expected = os.environ.get(ADMIN_KEY_ENV)
        if not expected:
            raise APIError(
                403,
                f"the admin API is off: start the gateway with {ADMIN_KEY_ENV} set",
                code="admin_disabled",
            )
        scheme, _, presented = (request.headers.get("authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not admin_key_matches(presented.strip(), expected):
            raise APIError(
                401, "admin endpoints need `Authorization: Bearer $FMOPS_ADMIN_KEY`", code="invalid_admin_key"
            )

    async def run(fn: Any, *args: Any, **kwargs: Any) -> Any:
        import asyncio

        return await asyncio.to_thread(fn, *args, **kwargs)

    @app.get("/admin/teams")
    async def admin_teams(request: Request) -> Any:
        admin(request)
        teams = await run(service.tenancy.list_teams)
        return JSONResponse({"data": [t.model_dump(mode="json") for t in teams]})

    @app.post("/admin/teams")
    async def admin_team_create(request: Request, body: TeamCreate) -> Any:
        admin(request)
        team = await run(
            service.tenancy.create_team,
            body.name,
            org=body.org,
            rpm=body.rpm,
            tpm=body.tpm,
            max_concurrency=body.max_concurrency,
            store_content=body.store_content,
            budget_usd=body.budget_usd,
            period=body.period,
        )
        return JSONResponse(team.model_dump(mode="json"), status_code=201)

    @app.get("/admin/keys")
    async def admin_keys(request: Request, team: str | None = None) -> Any:
        admin(request)
        keys = await run(service.tenancy.list_keys, team)
        return JSONResponse({"data": [k.model_dump(mode="json") for k in keys]})

    @app.post("/admin/keys")
    async def admin_key_create(request: Request, body: KeyCreate) -> Any:
        admin(request)
        created = await run(
            service.tenancy.create_key,
            body.team,
            name=body.name,
            models=body.models,
            budget_usd=body.budget_usd,
            period=body.period,
            expires_in=timedelta(days=body.expires_in_days) if body.expires_in_days else None,
            rpm=body.rpm,
            tpm=body.tpm,
            max_concurrency=body.max_concurrency,
        )
        service.keys.invalidate()
        return JSONResponse({"key": created.key, **created.info.model_dump(mode="json")}, status_code=201)

    @app.post("/admin/keys/{key_id}/revoke")
    async def admin_key_revoke(request: Request, key_id: str) -> Any:
        admin(request)
        info = await run(service.tenancy.revoke_key, key_id)
        service.keys.invalidate()
        return JSONResponse(info.model_dump(mode="json"))

    @app.post("/admin/keys/{key_id}/rotate")
    async def admin_key_rotate(request: Request, key_id: str, body: Rotate) -> Any:
        admin(request)
        created = await run(service.tenancy.rotate_key, key_id, overlap=timedelta(hours=body.overlap_hours))
        service.keys.invalidate()
        return JSONResponse({"key": created.key, **created.info.model_dump(mode="json")}, status_code=201)

    @app.get("/admin/usage")
    async def admin_usage(
        request: Request, by: str = Query("team,model,day"), since: str | None = None
    ) -> Any:
        admin(request)
        rows = await run(usage, service.engine, _dims(by), since=parse_since(since))
        return JSONResponse({"object": "list", "data": rows})

    @app.get("/admin/audit")
    async def admin_audit(request: Request, limit: int = Query(100, ge=1, le=10000)) -> Any:
        admin(request)
        return JSONResponse({"data": await run(service.tenancy.audit_log, limit)})

    return GatewayASGI(app, service, max_body, service.config.max_header_bytes)


def _dims(by: str) -> list[str]:
    dims = [b.strip() for b in by.split(",") if b.strip()]
    bad = [d for d in dims if d not in DIMENSIONS]
    if bad:
        raise APIError(
            400, f"`by`: unknown dimension(s) {', '.join(bad)}; expected {', '.join(DIMENSIONS)}", param="by"
        )
    return dims
