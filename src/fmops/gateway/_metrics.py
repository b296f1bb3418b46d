"""Prometheus metrics of one gateway process: requests, tokens, cost and latency per model and team."""

from __future__ import annotations

from typing import Any

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.1)


class GatewayMetrics:
    """Its own registry, so several gateways in one process (tests) do not collide."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        labels = ("model", "team")
        self.requests = Counter(
            "fmops_gateway_requests", "Requests answered", (*labels, "status"), registry=self.registry
        )
        self.tokens = Counter(
            "fmops_gateway_tokens", "Tokens billed", (*labels, "direction"), registry=self.registry
        )
        self.cost = Counter("fmops_gateway_cost_usd", "Cost billed (USD)", labels, registry=self.registry)
        self.latency = Histogram(
            "fmops_gateway_latency_seconds",
            "Time to the whole answer",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.ttft = Histogram(
            "fmops_gateway_time_to_first_token_seconds",
            "Time to the first streamed token",
            labels,
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.overhead = Histogram(
            "fmops_gateway_overhead_seconds",
            "Time the gateway adds before calling the upstream",
            buckets=_OVERHEAD_BUCKETS,
            registry=self.registry,
        )
        self.limited = Counter(
            "fmops_gateway_limited",
            "Requests refused by a limit or budget",
            ("kind",),
            registry=self.registry,
        )

    def observe(
        self,
        model: str,
        team: str,
        status: int,
        tokens_in: int,
        tokens_out: int,
        cost: float,
        latency_s: float,
    ) -> None:
        self.requests.labels(model, team, str(status)).inc()
        if tokens_in:
            self.tokens.labels(model, team, "input").inc(tokens_in)
        if tokens_out:
            self.tokens.labels(model, team, "output").inc(tokens_out)
        if cost:
            self.cost.labels(model, team).inc(cost)
        self.latency.labels(model, team).observe(latency_s)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def metrics_or_none() -> Any:
    try:
        return GatewayMetrics()
    except ImportError:
        return None
