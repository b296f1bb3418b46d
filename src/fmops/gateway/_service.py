"""What one gateway request does, without HTTP: authenticate, validate, limit, route, meter, bill.

The FastAPI app (`_app.py`) only moves bytes in and out of `GatewayService.handle`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from fmops.gateway._auth import KeyCache
from fmops.gateway._cache import ResponseCache
from fmops.gateway._config import GatewayConfig, Route
from fmops.gateway._json import dumps, loads
from fmops.gateway._ledger import LedgerRow, LedgerWriter
from fmops.gateway._limits import NANO, Admission, Limiter, LimiterUnavailable, LimitExceeded, budget_checks
from fmops.gateway._schemas import parse
from fmops.gateway._tenancy import BudgetRule, KeyContext, RateRule, Tenancy
from fmops.gateway._upstream import Answer, Outcome, Router, StreamAnswer
from fmops.serving import APIError

log = logging.getLogger("fmops.gateway")
access = logging.getLogger("fmops.gateway.access")


@dataclass(slots=True)
class Reply:
    """What the app sends: a JSON body or an SSE stream, with a status and headers."""

    status: int
    body: bytes | None = None
    stream: AsyncIterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class _Call:
    """One request in flight: who, what, and what it has cost so far."""

    rid: str
    endpoint: str
    received: float
    started: float
    ctx: KeyContext | None = None
    route: Route | None = None
    end_user: str | None = None
    prompt: str | None = None
    admission: Admission | None = None
    prices: tuple[float, float] | None = None
    guardrail_interventions: int = 0
    #: With a guardrail on the answer: checked once the stream is whole, before the row is recorded.
    output_guard: Any = None
    output_verdict: Any = None
    #: The route's response cache and this request's key in it (cached routes, whole answers only).
    cache: ResponseCache | None = None
    cache_key: str | None = None
    cache_hit: bool = False


class GatewayService:
    def __init__(
        self,
        config: GatewayConfig,
        engine: Engine,
        router: Router,
        limiter: Limiter,
        ledger: LedgerWriter,
        *,
        metrics: Any = None,
        tracer: Any = None,
        guardrails: Any = None,
    ) -> None:
        self.config = config
        self.engine = engine
        self.tenancy = Tenancy(engine, org=config.org, actor="admin-api")
        self.keys = KeyCache(self.tenancy, config.revocation_poll_s)
        self.router = router
        self.limiter = limiter
        self.ledger = ledger
        self.metrics = metrics
        self.tracer = tracer
        self.guardrails = guardrails
        self.routes = {r.name: r for r in config.routes}
        self.caches = {
            r.name: ResponseCache(r.cache.ttl_s, r.cache.max_entries) for r in config.routes if r.cache
        }
        self.model_budgets: dict[str, list[BudgetRule]] = {}
        self._budgets_version: int | None = None

    async def start(self) -> None:
        await self.keys.start()
        await self.ledger.start()
        await self._refresh_model_budgets()

    async def close(self) -> None:
        await self.keys.close()
        await self.ledger.close()
        await self.router.close()
        await self.limiter.close()

    async def _refresh_model_budgets(self) -> None:
        budgets = await asyncio.to_thread(self.tenancy.model_budgets)
        for route in self.config.routes:
            if route.budget_usd is not None:
                budgets.setdefault(route.name, []).append(
                    BudgetRule(f"model:{route.name}", route.budget_period, route.budget_usd)
                )
        self.model_budgets = budgets

    # -- listing ------------------------------------------------------------------------------
    async def models(self, authorization: str | None) -> dict[str, Any]:
        ctx = await self.keys.authenticate(authorization)
        data = [
            {"id": r.name, "object": "model", "created": 0, "owned_by": "fmops-gateway"}
            for r in self.config.routes
            if ctx.models is None or r.name in ctx.models
        ]
        return {"object": "list", "data": data}

    # -- the request path ---------------------------------------------------------------------
    async def handle(
        self, endpoint: str, raw: bytes, authorization: str | None, end_user: str | None = None
    ) -> Reply:
        call = _Call(
            rid=f"gw-{uuid.uuid4().hex[:24]}",
            endpoint=endpoint,
            received=time.time(),
            started=time.perf_counter(),
        )
        try:
            return await self._handle(call, raw, authorization, end_user)
        except APIError as exc:
            return self._refused(call, exc)
        except LimitExceeded as exc:
            if self.metrics is not None:
                self.metrics.limited.labels("budget" if exc.budget else "rate").inc()
            retry = max(1, exc.resets_at - int(time.time()))
            code = "budget_exceeded" if exc.budget else "rate_limit_exceeded"
            error = APIError(
                429,
                str(exc),
                type="insufficient_quota" if exc.budget else "rate_limit_exceeded",
                code=code,
                headers={
                    "retry-after": str(retry),
                    "x-fmops-limit": exc.limit,
                    "x-fmops-limit-reset": str(exc.resets_at),
                },
            )
            return self._refused(call, error)
        except LimiterUnavailable as exc:
            return self._refused(
                call, APIError(503, str(exc), code="limiter_unavailable", headers={"retry-after": "1"})
            )

    async def _handle(
        self, call: _Call, raw: bytes, authorization: str | None, end_user: str | None
    ) -> Reply:
        call.ctx = ctx = await self.keys.authenticate(authorization)
        body, view = parse(call.endpoint, raw)
        route = self.routes.get(view.model)
        if route is None or (ctx.models is not None and route.name not in ctx.models):
            raise APIError(
                404,
                f"The model `{view.model}` does not exist or you do not have access to it (see /v1/models).",
                param="model",
                code="model_not_found",
            )
        if call.endpoint == "embeddings" and not route.embeddings:
            raise APIError(
                400, f"`{route.name}` does not compute embeddings", param="model", code="unsupported_endpoint"
            )
        call.route = route
        call.end_user = view.user or end_user
        text = view.text()
        if ctx.store_content:
            call.prompt = text
        call.prices = route.prices.per_token() if route.prices is not None else None
        answer_tokens = view.answer_tokens()
        n = getattr(view, "n", 1)
        estimate_in = math.ceil(len(text) / 4)
        estimate_out = (answer_tokens if answer_tokens is not None else route.default_max_tokens) * n
        cost = self._cost(call.prices, estimate_in, estimate_out)
        rates = [
            *ctx.rates,
            RateRule(f"model:{route.name}", route.limits.rpm, route.limits.tpm, route.limits.max_concurrency),
        ]
        defaults = self.config.key_limits
        if defaults.rpm or defaults.tpm or defaults.max_concurrency:
            key_rule = rates[0]
            rates[0] = RateRule(
                key_rule.scope,
                key_rule.rpm or defaults.rpm,
                key_rule.tpm or defaults.tpm,
                key_rule.max_concurrency or defaults.max_concurrency,
            )
        rates = [r for r in rates if r.rpm or r.tpm or r.max_concurrency]
        budgets = [*ctx.budgets, *self.model_budgets.get(route.name, [])]
        call.admission = Admission(
            request_id=call.rid,
            rates=rates,
            tokens=estimate_in + estimate_out,
            budgets=budget_checks(budgets, call.received),
            cost=round(cost * NANO) if budgets else 0,
        )
        await self.limiter.admit(call.admission)
        try:
            guard = self._guardrail(ctx, route)
            if guard is not None:
                verdict = await asyncio.to_thread(guard.apply, text, source="INPUT")
                if verdict.action != "NONE":
                    call.guardrail_interventions += 1
                if verdict.blocked:
                    raise APIError(
                        400, _guarded_text(verdict) or "blocked by a guardrail", code="guardrail_intervened"
                    )
                if verdict.action != "NONE":  # masked (ANONYMIZE): the deployment gets the masked prompt
                    await asyncio.to_thread(_mask_request, body, call.endpoint, guard)
                    if call.prompt is not None:
                        call.prompt = _guarded_text(verdict)
            stream = bool(getattr(view, "stream", False))
            if stream:
                body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
            outcome = None
            call.cache = self.caches.get(route.name) if not stream else None
            if call.cache is not None:
                call.cache_key = call.cache.key(ctx.team_id, call.endpoint, body)
                hit = call.cache.get(call.cache_key)
                if hit is not None:
                    call.cache_hit = True
                    outcome = Outcome(Answer(200, hit[0]), hit[1], route.name)
            if self.metrics is not None:
                self.metrics.overhead.observe(time.perf_counter() - call.started)
            if outcome is None:
                outcome = await self.router.call(route.name, call.endpoint, body, stream)
        except BaseException:
            await self.limiter.settle(call.admission, 0, 0)
            raise
        if isinstance(outcome.answer, StreamAnswer):
            if guard is not None:
                return await self._buffered_stream(call, outcome, view.wants_usage, guard)
            return Reply(
                200, stream=self._stream(call, outcome, view.wants_usage), headers=self._headers(call)
            )
        return await self._whole(call, outcome, guard)

    def _guardrail(self, ctx: KeyContext, route: Route) -> Any:
        path = ctx.guardrail or (str(route.guardrail) if route.guardrail is not None else None)
        if path is None or self.guardrails is None:
            return None
        return self.guardrails(path)

    async def _whole(self, call: _Call, outcome: Outcome, guard: Any) -> Reply:
        answer = outcome.answer
        assert isinstance(answer, Answer) and call.route is not None
        body = answer.body
        input_tokens = output_tokens = 0
        source: str | None = None
        response_text: str | None = None
        if (
            call.cache is not None
            and call.cache_key is not None
            and answer.status == 200
            and not call.cache_hit
        ):
            call.cache.put(call.cache_key, body, outcome.deployment)
        if answer.status == 200:
            if "model" in body:
                body["model"] = call.route.name
            response_text = _answer_text(body)
            if guard is not None and response_text:
                verdict = await asyncio.to_thread(guard.apply, response_text, source="OUTPUT")
                if verdict.action != "NONE":
                    call.guardrail_interventions += 1
                    replaced = _guarded_text(verdict)
                    _replace_text(body, replaced, "content_filter" if verdict.blocked else None)
                    response_text = replaced
            input_tokens, output_tokens, source = self._usage(call, outcome, body.get("usage"), response_text)
        # A cache hit spent nothing upstream: it is billed nothing (its tokens are still recorded).
        billed = answer.status == 200 and not call.cache_hit
        cost = self._cost(call.prices, input_tokens, output_tokens) if billed else 0.0
        headers = self._headers(call)
        headers["x-fmops-cost-usd"] = f"{cost:.9f}"
        if call.cache is not None:
            headers["x-fmops-cache"] = "hit" if call.cache_hit else "miss"
        if source is not None:
            headers["x-fmops-token-source"] = source
        error_type = answer.error_type or (_error_type(body) if answer.status != 200 else None)
        self._record(
            call,
            outcome,
            answer.status,
            input_tokens,
            output_tokens,
            source,
            cost,
            error_type,
            streamed=False,
            first_token=None,
            response=response_text,
        )
        assert call.admission is not None
        await self.limiter.settle(call.admission, input_tokens + output_tokens, round(cost * NANO))
        return Reply(answer.status, dumps(body), headers=headers)

    async def _stream(self, call: _Call, outcome: Outcome, wants_usage: bool) -> AsyncIterator[bytes]:
        """Pass events through as they arrive; bill from the usage chunk; record before the last event."""
        answer = outcome.answer
        assert isinstance(answer, StreamAnswer) and call.route is not None and call.admission is not None
        rename = _renamer(outcome.deployment.upstream_model, call.route.name)
        usage: dict[str, Any] | None = None
        events: list[bytes] = []
        first_token: float | None = None
        status, error_type, buffer = 200, None, b""
        recorded = False
        try:
            async for piece in answer.chunks:
                buffer += piece.replace(b"\r\n", b"\n")
                while b"\n\n" in buffer:
                    event, buffer = buffer.split(b"\n\n", 1)
                    if event.startswith(b"data: [DONE]") or event.startswith(b"data:[DONE]"):
                        continue
                    if first_token is None:
                        first_token = time.time()
                    if b'"usage":{' in event or b'"usage": {' in event:
                        data = _event_json(event)
                        if data is not None and isinstance(data.get("usage"), dict):
                            usage = data["usage"]
                            if not data.get("choices") and not wants_usage:
                                continue
                    events.append(event)
                    yield rename(event) + b"\n\n"
            text = (
                None
                if usage is not None and call.prompt is None and call.output_guard is None
                else _stream_text(events)
            )
            if call.output_guard is not None and text:
                verdict = await asyncio.to_thread(call.output_guard.apply, text, source="OUTPUT")
                if verdict.action != "NONE":
                    call.guardrail_interventions += 1
                    call.output_verdict = verdict
            input_tokens, output_tokens, source = self._usage(call, outcome, usage, text)
            cost = self._cost(call.prices, input_tokens, output_tokens)
            self._record(
                call,
                outcome,
                status,
                input_tokens,
                output_tokens,
                source,
                cost,
                None,
                streamed=True,
                first_token=first_token,
                response=text,
            )
            recorded = True
            await self.limiter.settle(call.admission, input_tokens + output_tokens, round(cost * NANO))
            yield f": x-fmops-cost-usd={cost:.9f} token-source={source}\n\n".encode()
            yield b"data: [DONE]\n\n"
        except BaseException as exc:
            status, error_type = (
                (499, "client_disconnected")
                if isinstance(exc, (asyncio.CancelledError, GeneratorExit))
                else (502, type(exc).__name__)
            )
            raise
        finally:
            await answer.close()
            if not recorded:  # cut short: bill what was sent, from our own count of it
                text = _stream_text(events)
                input_tokens, output_tokens, source = self._usage(call, outcome, usage, text)
                cost = self._cost(call.prices, input_tokens, output_tokens)
                self._record(
                    call,
                    outcome,
                    status if status != 200 else 499,
                    input_tokens,
                    output_tokens,
                    source,
                    cost,
                    error_type or "client_disconnected",
                    streamed=True,
                    first_token=first_token,
                    response=text,
                )
                await self.limiter.settle(call.admission, input_tokens + output_tokens, round(cost * NANO))

    async def _buffered_stream(self, call: _Call, outcome: Outcome, wants_usage: bool, guard: Any) -> Reply:
        """With a guardrail on the answer, the stream is checked whole before any of it is sent."""
        call.output_guard = guard
        parts = [p async for p in self._stream(call, outcome, True)]
        events = [p for p in parts if p.startswith(b"data: {")]
        verdict = call.output_verdict
        if verdict is not None and events:
            chunk = _event_json(events[0]) or {}
            chunk["choices"] = [
                {
                    "index": 0,
                    "delta": {"content": _guarded_text(verdict)},
                    "finish_reason": "content_filter" if verdict.blocked else "stop",
                }
            ]
            parts = [
                b"data: " + json.dumps(chunk).encode() + b"\n\n",
                *[p for p in parts if not p.startswith(b"data: {")],
            ]
        elif not wants_usage:
            parts = [p for p in parts if not (p.startswith(b"data: {") and b'"choices":[]' in p)]

        async def replay() -> AsyncIterator[bytes]:
            for p in parts:
                yield p

        return Reply(200, stream=replay(), headers=self._headers(call))

    # -- accounting ---------------------------------------------------------------------------
    def _usage(
        self, call: _Call, outcome: Outcome, usage: dict[str, Any] | None, text: str | None
    ) -> tuple[int, int, str]:
        if usage and isinstance(usage.get("prompt_tokens"), int):
            completion = usage.get("completion_tokens")
            return usage["prompt_tokens"], completion if isinstance(completion, int) else 0, "upstream"
        prompt_tokens, source = outcome.deployment.count_tokens(call.prompt or "")
        out_tokens, out_source = outcome.deployment.count_tokens(text or "")
        return prompt_tokens, out_tokens, "estimate" if "estimate" in (source, out_source) else source

    @staticmethod
    def _cost(prices: tuple[float, float] | None, input_tokens: int, output_tokens: int) -> float:
        if prices is None:
            return 0.0
        return input_tokens * prices[0] + output_tokens * prices[1]

    def _headers(self, call: _Call) -> dict[str, str]:
        return {"x-request-id": call.rid}

    def _record(
        self,
        call: _Call,
        outcome: Outcome | None,
        status: int,
        input_tokens: int,
        output_tokens: int,
        source: str | None,
        cost: float,
        error_type: str | None,
        *,
        streamed: bool,
        first_token: float | None,
        response: str | None,
    ) -> None:
        ctx = call.ctx
        done = time.time()
        store = ctx is not None and ctx.store_content
        # Every field is ours and typed already: no validation on the request path.
        row = LedgerRow.model_construct(
            request_id=call.rid,
            received_at=datetime.fromtimestamp(call.received, UTC),
            first_token_at=datetime.fromtimestamp(first_token, UTC) if first_token is not None else None,
            done_at=datetime.fromtimestamp(done, UTC),
            org_id=ctx.org_id if ctx else None,
            team_id=ctx.team_id if ctx else None,
            key_id=ctx.key_id if ctx else None,
            end_user=call.end_user,
            model=call.route.name if call.route else None,
            deployment=outcome.deployment.name if outcome else None,
            provider=outcome.deployment.provider if outcome else None,
            endpoint=call.endpoint,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            token_source=source,
            price_input=call.prices[0] if call.prices else None,
            price_output=call.prices[1] if call.prices else None,
            cost=cost,
            status=status,
            error_type=error_type,
            retries=outcome.retries if outcome else 0,
            fallback=outcome.fallback if outcome else None,
            cache_hit=call.cache_hit,
            streamed=streamed,
            guardrail_interventions=call.guardrail_interventions,
            prompt=call.prompt if store else None,
            response=response if store else None,
        )
        self.ledger.record(row)
        team = ctx.team if ctx else ""
        model = row.model or ""
        if self.metrics is not None:
            self.metrics.observe(model, team, status, input_tokens, output_tokens, cost, done - call.received)
            if first_token is not None:
                self.metrics.ttft.labels(model, team).observe(first_token - call.received)
        if self.config.log_requests:
            access.info(
                "request",
                extra={
                    "fields": {
                        "request_id": call.rid,
                        "team": team,
                        "key": row.key_id,
                        "model": model,
                        "deployment": row.deployment,
                        "status": status,
                        "input_tokens": input_tokens,
                        "output_tokens": output_tokens,
                        "cost": cost,
                        "streamed": streamed,
                        "latency_ms": round((done - call.received) * 1000, 2),
                        "error_type": error_type,
                    }
                },
            )
        if self.tracer is not None:
            self.tracer.record(row)

    def _refused(self, call: _Call, exc: APIError) -> Reply:
        headers = {**self._headers(call), **exc.headers}
        if call.ctx is not None:  # a known tenant: the refusal is part of its usage
            self._record(
                call,
                None,
                exc.status,
                0,
                0,
                None,
                0.0,
                exc.code or exc.type,
                streamed=False,
                first_token=None,
                response=None,
            )
        return Reply(exc.status, dumps(exc.body()), headers=headers)


def _mask_request(body: dict[str, Any], endpoint: str, guard: Any) -> None:
    """Replace every text the request sends upstream with the guardrail's masked version, in place."""

    def masked(text: Any) -> Any:
        if not isinstance(text, str) or not text:
            return text
        verdict = guard.apply(text, source="INPUT")
        return text if verdict.action == "NONE" else _guarded_text(verdict)

    if endpoint == "chat/completions":
        for message in body.get("messages") or []:
            content = message.get("content")
            if isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and "text" in part:
                        part["text"] = masked(part["text"])
            else:
                message["content"] = masked(content)
        return
    field_name = "prompt" if endpoint == "completions" else "input"
    value = body.get(field_name)
    body[field_name] = [masked(v) for v in value] if isinstance(value, list) else masked(value)


def _guarded_text(verdict: Any) -> str:
    """What to pass on after a guardrail intervened: the masked text or the blocked message."""
    text = getattr(verdict, "text", None)
    return text if isinstance(text, str) else "".join(o.text for o in verdict.outputs)


def _renamer(upstream: str, public: str) -> Any:
    if upstream == public:
        return lambda event: event
    pairs = [
        (f'"model":"{upstream}"'.encode(), f'"model":"{public}"'.encode()),
        (f'"model": "{upstream}"'.encode(), f'"model": "{public}"'.encode()),
    ]

    def rename(event: bytes) -> bytes:
        for old, new in pairs:
            event = event.replace(old, new)
        return event

    return rename


def _event_json(event: bytes) -> dict[str, Any] | None:
    for line in event.split(b"\n"):
        if line.startswith(b"data:"):
            try:
                data = loads(line[5:])
            except ValueError:
                return None
            return data if isinstance(data, dict) else None
    return None


def _stream_text(events: list[bytes]) -> str:
    out = []
    for event in events:
        data = _event_json(event)
        for choice in (data or {}).get("choices") or []:
            delta = choice.get("delta")
            if isinstance(delta, dict):
                out.append(delta.get("content") or "")
            elif isinstance(choice.get("text"), str):
                out.append(choice["text"])
    return "".join(out)


def _answer_text(body: dict[str, Any]) -> str:
    out = []
    for choice in body.get("choices") or []:
        message = choice.get("message")
        if isinstance(message, dict):
            out.append(message.get("content") or "")
        elif isinstance(choice.get("text"), str):
            out.append(choice["text"])
    return "".join(out)


def _replace_text(body: dict[str, Any], text: str, finish: str | None) -> None:
    for choice in body.get("choices") or []:
        if isinstance(choice.get("message"), dict):
            choice["message"]["content"] = text
        elif "text" in choice:
            choice["text"] = text
        if finish:
            choice["finish_reason"] = finish


def _error_type(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("code") or error.get("type") or "error")
    return "error"
