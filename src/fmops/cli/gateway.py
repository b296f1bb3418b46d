"""`fmops gateway`, and the admin commands that share its config: `tenants`, `teams`, `keys`, `usage`.

The admin commands work on the gateway's database directly (the one `gateway.yaml` names); running
replicas see every change within a second. Each change lands in the audit log as `cli:$USER`.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from fmops.cli._common import user_errors

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="The gateway's config (gateway.yaml).")]
Period = Annotated[str, typer.Option(help="Budget period: daily or monthly.")]

tenants_app = typer.Typer(help="Organisations (tenants) of the gateway.", no_args_is_help=True)
teams_app = typer.Typer(help="Teams: who keys belong to, with limits and budgets.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, rotate, revoke.", no_args_is_help=True)


def _tenancy(config: Path) -> Any:
    from fmops.gateway import Tenancy, load_gateway_config, open_gateway_database

    cfg = load_gateway_config(config)
    return Tenancy(open_gateway_database(cfg), org=cfg.org, actor=f"cli:{_user()}")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in a bare container
        return "unknown"


def _period(value: str) -> Any:
    from fmops.core.errors import BadInputError

    if value not in ("daily", "monthly"):
        raise BadInputError(f"--period {value!r}: expected daily or monthly")
    return value


@user_errors
def gateway_command(
    config: ConfigOpt,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (replicas sharing the database).")
    ] = 1,
    log_level: Annotated[str, typer.Option(help="Log level of the JSON logs.")] = "info",
) -> None:
    """Serve the OpenAI-compatible gateway: /v1/chat/completions, /v1/completions, /v1/embeddings,
    /v1/models, /v1/usage, the admin API under /admin (FMOPS_ADMIN_KEY) and /metrics."""
    from fmops.gateway import load_gateway_config, run_gateway

    cfg = load_gateway_config(config)
    names = ", ".join(r.name for r in cfg.routes)
    shared = "Redis" if cfg.redis_url else "this process (no redis_url)"
    typer.echo(
        f"gateway on http://{host}:{port}/v1 routes: {names}; limits held in {shared}; {workers} worker(s)",
        err=True,
    )
    run_gateway(config, host=host, port=port, workers=workers, log_level=log_level)


# -- tenants ------------------------------------------------------------------------------------------
@tenants_app.command("create")
@user_errors
def tenants_create(
    name: Annotated[str, typer.Argument(help="Organisation name.")],
    config: ConfigOpt,
    budget: Annotated[float | None, typer.Option(help="Budget in USD for the whole organisation.")] = None,
    period: Period = "monthly",
) -> None:
    """Create an organisation."""
    org_id = _tenancy(config).create_org(name, budget_usd=budget, period=_period(period))
    typer.echo(f"organisation {name} ({org_id})")


@tenants_app.command("list")
@user_errors
def tenants_list(config: ConfigOpt) -> None:
    """List organisations."""
    for org in _tenancy(config).list_orgs():
        typer.echo(f"{org['name']}\t{org['id']}")


# -- teams --------------------------------------------------------------------------------------------
@teams_app.command("create")
@user_errors
def teams_create(
    name: Annotated[str, typer.Argument(help="Team name.")],
    config: ConfigOpt,
    org: Annotated[str | None, typer.Option(help="Organisation (default: the config's `org`).")] = None,
    budget: Annotated[float | None, typer.Option(help="Budget in USD per period.")] = None,
    period: Period = "monthly",
    rpm: Annotated[
        int | None, typer.Option(min=1, help="Requests per minute, all its keys together.")
    ] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute, all its keys together.")] = None,
    max_concurrency: Annotated[int | None, typer.Option(min=1, help="Concurrent requests.")] = None,
    store_content: Annotated[bool, typer.Option(help="Keep prompts and answers in the ledger.")] = False,
    guardrail: Annotated[
        Path | None, typer.Option(help="Guardrail policy (YAML) for this team's traffic.")
    ] = None,
) -> None:
    """Create a team (or set the budget of an existing one)."""
    team = _tenancy(config).create_team(
        name,
        org=org,
        budget_usd=budget,
        period=_period(period),
        rpm=rpm,
        tpm=tpm,
        max_concurrency=max_concurrency,
        store_content=store_content,
        guardrail=str(guardrail.resolve()) if guardrail else None,
        exist_ok=budget is not None,
    )
    typer.echo(json.dumps(team.model_dump(mode="json")))


@teams_app.command("list")
@user_errors
def teams_list(config: ConfigOpt) -> None:
    """List teams with their limits and budgets."""
    for team in _tenancy(config).list_teams():
        typer.echo(json.dumps(team.model_dump(mode="json")))


# -- keys ---------------------------------------------------------------------------------------------
@keys_app.command("create")
@user_errors
def keys_create(
    config: ConfigOpt,
    team: Annotated[str, typer.Option(help="The team the key bills to (created if new).")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated routes it may use (default: all).")
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Budget in USD for this key per period.")] = None,
    period: Period = "monthly",
    expires_days: Annotated[float | None, typer.Option(min=0, help="Expire after this many days.")] = None,
    rpm: Annotated[int | None, typer.Option(min=1, help="Requests per minute for this key.")] = None,
    tpm: Annotated[int | None, typer.Option(min=1, help="Tokens per minute for this key.")] = None,
    max_concurrency: Annotated[
        int | None, typer.Option(min=1, help="Concurrent requests for this key.")
    ] = None,
) -> None:
    """Create a key; it is printed once, alone on the last line (only its hash is kept)."""
    created = _tenancy(config).create_key(
        team,
        name=name,
        models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
        budget_usd=budget,
        period=_period(period),
        expires_in=timedelta(days=expires_days) if expires_days else None,
        rpm=rpm,
        tpm=tpm,
        max_concurrency=max_concurrency,
    )
    info = created.info
    budget_text = f", budget ${budget:g}/{period}" if budget is not None else ""
    typer.echo(f"key {info.id} for team {info.team}{budget_text} (shown once; store it now):", err=True)
    typer.echo(created.key)


@keys_app.command("list")
@user_errors
def keys_list(
    config: ConfigOpt, team: Annotated[str | None, typer.Option(help="Only this team's keys.")] = None
) -> None:
    """List keys (ids, never secrets)."""
    for key in _tenancy(config).list_keys(team):
        typer.echo(json.dumps(key.model_dump(mode="json")))


@keys_app.command("revoke")
@user_errors
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `keys list`).")], config: ConfigOpt
) -> None:
    """Revoke a key: every replica refuses it within a second."""
    info = _tenancy(config).revoke_key(key_id)
    typer.echo(f"revoked {info.id} (team {info.team})")


@keys_app.command("rotate")
@user_errors
def keys_rotate(
    key_id: Annotated[str, typer.Argument(help="The key's id.")],
    config: ConfigOpt,
    overlap_hours: Annotated[float, typer.Option(min=0, help="How long the old key keeps working.")] = 24.0,
) -> None:
    """Replace a key; the old one works for the overlap window. The new key is on the last line."""
    created = _tenancy(config).rotate_key(key_id, overlap=timedelta(hours=overlap_hours))
    typer.echo(f"key {created.info.id} replaces {key_id}; {key_id} stops in {overlap_hours:g} h:", err=True)
    typer.echo(created.key)


# -- usage --------------------------------------------------------------------------------------------
@user_errors
def usage_command(
    config: ConfigOpt,
    by: Annotated[
        str, typer.Option(help="Group by: comma-separated team, key, model, user, day, status, deployment.")
    ] = "team,model,day",
    since: Annotated[
        str | None, typer.Option(help="From: 2026-12-01, an ISO time, or 7d / 24h / 30m.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Up to (exclusive), same forms as --since.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, csv or json.")] = "table",
) -> None:
    """Usage and cost from the ledger, grouped."""
    from fmops.core.errors import BadInputError
    from fmops.gateway import load_gateway_config, open_gateway_database, parse_since, usage

    if output_format not in ("table", "csv", "json"):
        raise BadInputError(f"--format {output_format!r}: expected table, csv or json")
    cfg = load_gateway_config(config)
    dims = [b.strip() for b in by.split(",") if b.strip()]
    rows = usage(open_gateway_database(cfg), dims, since=parse_since(since), until=parse_since(until))
    typer.echo(render_rows(rows, dims, output_format))


def render_rows(rows: list[dict[str, Any]], dims: list[str], output_format: str) -> str:
    columns = [*dims, "requests", "errors", "input_tokens", "output_tokens", "cost"]
    if output_format == "json":
        return json.dumps(rows, indent=2)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().rstrip("\n")
    cells = [[_cell(r[c]) for c in columns] for r in rows]
    widths = [
        max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)
    ]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += [
        "  ".join(
            v.rjust(w) if i >= len(dims) else v.ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in cells
    ]
    if not rows:
        lines.append("(no requests in the ledger for this period)")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6f}"
    return "-" if value is None else str(value)
