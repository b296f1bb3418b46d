"""`gateway.yaml`: the one model of the gateway's configuration, and its one reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from fmops.core.errors import BadInputError
from fmops.models import Prices, parse_model_spec


class RouteLimits(BaseModel):
    """Per-minute and concurrency limits (None: unlimited)."""

    model_config = ConfigDict(extra="forbid")

    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    max_concurrency: int | None = Field(default=None, ge=1)


class RoutePrices(Prices):
    """Per-token prices, or a per-hour price shared by the tokens an instance serves in an hour."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: With `per_hour`: the tokens (in + out) one instance serves per hour, measured.
    tokens_per_hour: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _hourly_needs_capacity(self) -> RoutePrices:
        if self.per_hour is not None and self.tokens_per_hour is None:
            raise ValueError("`per_hour` needs `tokens_per_hour` (the tokens one instance serves per hour)")
        return self

    def per_token(self) -> tuple[float, float]:
        """(input, output) price per token."""
        if self.per_hour is not None and self.tokens_per_hour:
            share = self.per_hour / self.tokens_per_hour
            return share, share
        return (self.input_per_1k or 0.0) / 1000, (self.output_per_1k or 0.0) / 1000


class RouteCache(BaseModel):
    """An opt-in cache of whole answers: the same request from the same team within `ttl_s`."""

    model_config = ConfigDict(extra="forbid")

    ttl_s: float = Field(gt=0)
    #: Per replica; the least recently used entry goes first.
    max_entries: int = Field(default=1024, ge=1)


class Deployment(BaseModel):
    """One replica a route sends to: any fmops model spec (`openai/NAME` with a base_url is passed through)."""

    model_config = ConfigDict(extra="forbid")

    model: str
    args: dict[str, Any] = Field(default_factory=dict)
    name: str | None = None

    @model_validator(mode="after")
    def _valid_spec(self) -> Deployment:
        try:
            parse_model_spec(self.model)
        except BadInputError as exc:
            raise ValueError(str(exc)) from None
        return self


class Route(BaseModel):
    """A public model name and the deployments behind it."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    #: Shorthand for one deployment.
    model: str | None = None
    args: dict[str, Any] = Field(default_factory=dict)
    deployments: list[Deployment] = Field(default_factory=list)
    #: Other routes to try, in order, when every deployment of this one failed.
    fallbacks: list[str] = Field(default_factory=list)
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=1, ge=0, le=10)
    prices: RoutePrices | None = None
    limits: RouteLimits = RouteLimits()
    #: Budget in USD for all traffic to this route, per `budget_period`.
    budget_usd: float | None = Field(default=None, ge=0)
    budget_period: Literal["daily", "monthly"] = "monthly"
    #: Tokens reserved for the answer when a request does not say (`max_tokens`).
    default_max_tokens: int = Field(default=256, ge=1)
    guardrail: Path | None = None
    #: The provider supports /v1/embeddings (OpenAI-compatible upstreams only).
    embeddings: bool = False
    #: Answer repeated requests from memory (off unless given).
    cache: RouteCache | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Route:
        if self.model is not None and self.deployments:
            raise ValueError("give `model` (one deployment) or `deployments`, not both")
        if self.model is None and not self.deployments:
            raise ValueError("give `model: PROVIDER/MODEL` or a `deployments` list")
        if self.model is not None:
            self.deployments = [Deployment(model=self.model, args=self.args)]
        return self


class GatewayConfig(BaseModel):
    """What `fmops gateway --config gateway.yaml` serves, and where it keeps its state."""

    model_config = ConfigDict(extra="forbid")

    routes: list[Route] = Field(min_length=1)
    #: Tenants, keys and the ledger (default: SQLite under FMOPS_HOME).
    database_url: str | None = None
    #: Limits and budgets shared by every replica; without it, limits hold per process.
    redis_url: str | None = None
    redis_prefix: str = "fmops:gw:"
    #: When Redis cannot be reached: admit requests (open) or refuse them with 503 (closed).
    redis_failure: Literal["open", "closed"] = "open"
    #: The organisation keys are created in when none is named.
    org: str = "default"
    #: Limits every key gets unless its own or its team's say otherwise.
    key_limits: RouteLimits = RouteLimits()
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    #: Where each replica writes its ledger journal before answering (default: FMOPS_HOME/gateway/journal).
    journal_dir: Path | None = None
    #: How often buffered ledger rows go to the database, and how often replicas look for revocations.
    flush_interval_s: float = Field(default=0.2, gt=0, le=10)
    revocation_poll_s: float = Field(default=0.2, gt=0, le=1)
    #: Log one JSON line per request (request id, key, model, status, tokens, cost).
    log_requests: bool = True
    #: Send OpenTelemetry spans here (needs opentelemetry-exporter-otlp); "console" prints them.
    otel_endpoint: str | None = None

    @model_validator(mode="after")
    def _unique_names(self) -> GatewayConfig:
        names = [r.name for r in self.routes]
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in seen:
                raise ValueError(f"routes[{i}]: the name {name!r} is used twice")
            seen.add(name)
        for i, route in enumerate(self.routes):
            for fallback in route.fallbacks:
                if fallback not in seen or fallback == route.name:
                    raise ValueError(f"routes[{i}].fallbacks: {fallback!r} is not another route's name")
        return self

    def route(self, name: str) -> Route | None:
        return next((r for r in self.routes if r.name == name), None)


def load_gateway_config(path: str | Path) -> GatewayConfig:
    """Read and validate gateway.yaml; a mistake is one line naming the file and the field."""
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path}: gateway config not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise BadInputError(f"{path}:{where} not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{path}: expected a mapping with at least `routes: [{{name, model}}]`")
    try:
        config = GatewayConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "config"
        raise BadInputError(f"{path}: {field}: {first['msg']}") from None
    # Relative guardrail paths are relative to the config file, not the working directory; a policy
    # source's reference (`registry:NAME@ALIAS`: a colon in its first part) is not a path.
    for route in config.routes:
        if (
            route.guardrail is not None
            and not route.guardrail.is_absolute()
            and ":" not in route.guardrail.parts[0]
        ):
            route.guardrail = (path.parent / route.guardrail).resolve()
    return config
