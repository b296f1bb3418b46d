"""`fmops gateway`: one OpenAI-compatible endpoint for every model, run as an internal SaaS.

    fmops gateway --config gateway.yaml            # serve /v1/chat/completions, /v1/completions, ...
    fmops keys create --config gateway.yaml --team research --budget 50 --period monthly
    fmops usage --config gateway.yaml --by team,model,day --format table

Routes map public model names to deployments (any fmops model spec; `openai/NAME` with a base_url is
passed through with aiohttp, streams as they arrive), with retries, fallbacks and least-outstanding
balancing. Every request is authenticated by a team's key (salted hash, constant-time compare), checked
against rate limits and budgets (reserved before the call, settled after; in Redis when configured,
so they hold across replicas) and written to the usage ledger (journaled before the answer is sent,
batched into the database). Admin API under /admin (FMOPS_ADMIN_KEY), Prometheus at /metrics.
"""

from fmops.gateway._config import (
    Deployment,
    GatewayConfig,
    Route,
    RouteLimits,
    RoutePrices,
    load_gateway_config,
)
from fmops.gateway._ledger import LedgerRow, LedgerWriter, insert_rows, replay
from fmops.gateway._readers import VerifiedKey, latency_percentiles, read_ledger, verify_key
from fmops.gateway._server import build_gateway, open_gateway_database, run_gateway
from fmops.gateway._tenancy import CreatedKey, KeyInfo, TeamInfo, Tenancy
from fmops.gateway._usage import DIMENSIONS, parse_since, usage

__all__ = [
    "DIMENSIONS",
    "CreatedKey",
    "Deployment",
    "GatewayConfig",
    "KeyInfo",
    "LedgerRow",
    "LedgerWriter",
    "Route",
    "RouteLimits",
    "RoutePrices",
    "TeamInfo",
    "Tenancy",
    "VerifiedKey",
    "build_gateway",
    "insert_rows",
    "latency_percentiles",
    "load_gateway_config",
    "open_gateway_database",
    "parse_since",
    "read_ledger",
    "replay",
    "run_gateway",
    "usage",
    "verify_key",
]
