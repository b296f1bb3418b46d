"""Prometheus metrics of the gateway: requests, tokens, cost and latency per model and team.

With several workers (`--workers N`), each is a process of its own and a scrape reaches only one of them:
`run_gateway` then points prometheus_client's multiprocess mode at a fresh folder
(PROMETHEUS_MULTIPROC_DIR), every worker writes its values there, and whichever worker answers
/metrics adds up all of them.
"""

from __future__ import annotations

import os
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

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
        self._children: dict[tuple[str, str, int], tuple[Any, ...]] = {}

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
        children = self._children.get((model, team, status))
        if children is None:  # labels() validates and hashes on every call: look each set up once
            children = self._children[(model, team, status)] = (
                self.requests.labels(model, team, str(status)),
                self.tokens.labels(model, team, "input"),
                self.tokens.labels(model, team, "output"),
                self.cost.labels(model, team),
                self.latency.labels(model, team),
            )
        requests, tokens_input, tokens_output, cost_usd, latency = children
        requests.inc()
        if tokens_in:
            tokens_input.inc(tokens_in)
        if tokens_out:
            tokens_output.inc(tokens_out)
        if cost:
            cost_usd.inc(cost)
        latency.observe(latency_s)

    def render(self) -> tuple[bytes, str]:
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if os.environ.get(MULTIPROC_ENV):  # every worker's values, summed
            from prometheus_client.multiprocess import MultiProcessCollector

            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def metrics_or_none() -> Any:
    try:
        return GatewayMetrics()
    except ImportError:
        return None
