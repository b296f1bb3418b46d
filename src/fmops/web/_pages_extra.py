"""Pages that appear when their component is installed: experiments (fine-tuning), the model registry,
pipeline runs and the gateway's usage (with latency percentiles per model). Each reads its component through that component's public API only,
and a team signed in with its gateway key sees only its own usage."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from functools import cache
from html import escape
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from fmops.core.errors import FmopsError
from fmops.web._app import console_of, render

router = APIRouter()

#: (component module, the public names its page reads, nav label, URL)
_PAGES = (
    ("fmops.customization", ("list_runs", "get_run"), "Experiments", "/experiments"),
    ("fmops.registry", ("model_registry",), "Registry", "/registry"),
    ("fmops.pipelines", ("list_runs",), "Pipelines", "/pipelines"),
    ("fmops.gateway", ("usage", "Tenancy", "latency_percentiles"), "Usage", "/usage"),
)


@cache
def optional_pages() -> tuple[tuple[str, str], ...]:
    """(label, url) of the optional pages whose component offers what the page reads."""
    return tuple(
        (label, url) for module, names, label, url in _PAGES if _component(module, names) is not None
    )


def _component(module: str, names: tuple[str, ...]) -> Any:
    try:
        package = importlib.import_module(module)
    except ImportError:
        return None
    return package if all(hasattr(package, n) for n in names) else None


def _missing(request: Request, label: str) -> Response:
    return render(request, "error.html", {"message": f"{label}: that component is not installed"}, 404)


def _problem(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"message": str(exc)}, 422)


# ------------------------------------------------------------------------------------------- experiments


@router.get("/experiments")
def experiments(request: Request) -> Response:
    customization = _component("fmops.customization", ("list_runs", "get_run"))
    if customization is None:
        return _missing(request, "experiments")
    try:
        runs = customization.list_runs(console_of(request).settings.store_url, limit=200)
    except FmopsError as exc:
        return _problem(request, exc)
    return render(request, "experiments.html", {"runs": runs})


@router.get("/experiments/{run_id}")
def experiment(request: Request, run_id: str) -> Response:
    customization = _component("fmops.customization", ("list_runs", "get_run"))
    if customization is None:
        return _missing(request, "experiments")
    console = console_of(request)
    try:
        run = customization.get_run(run_id, console.settings.store_url)
    except FmopsError as exc:
        return _problem(request, exc)
    charts = []
    losses = {k: v for k, v in run.metrics.items() if "loss" in k}
    others = {k: v for k, v in run.metrics.items() if "loss" not in k}
    for chart_id, title, series in (("chart-loss", "loss", losses), ("chart-eval", "evaluation", others)):
        if series:
            traces = [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": escape(name),
                    "x": [s for s, _ in points],
                    "y": [v for _, v in points],
                }
                for name, points in sorted(series.items())
            ]
            layout = {
                "height": 320,
                "margin": {"t": 30, "l": 50, "r": 20, "b": 40},
                "xaxis": {"title": {"text": "step"}},
                "legend": {"orientation": "h", "y": 1.15},
            }
            charts.append({"id": chart_id, "title": title, "data": traces, "layout": layout})
    comparison = console.index.run_by_path(run.comparison_path) if run.comparison_path else None
    return render(request, "experiment.html", {"run": run, "charts": charts, "comparison": comparison})


# ---------------------------------------------------------------------------------------------- registry


@router.get("/registry")
def registry(request: Request, name: str = "") -> Response:
    package = _component("fmops.registry", ("model_registry",))
    if package is None:
        return _missing(request, "registry")
    catalog = package.model_registry(console_of(request).settings.store_url)
    try:
        entries = catalog.list()
        chosen = next((e for e in entries if e.name == name), entries[0] if entries else None)
        history = catalog.alias_history(chosen.name) if chosen else []
        audit = catalog.audit(chosen.name) if chosen else []
    except FmopsError as exc:
        return _problem(request, exc)
    chart = _lineage_chart(chosen) if chosen else None
    context = {"entries": entries, "chosen": chosen, "history": history, "audit": audit, "chart": chart}
    return render(request, "registry.html", context)


@router.post("/registry/promote")
def promote(
    request: Request,
    name: str = Form(...),
    version: int = Form(...),
    alias: str = Form(...),
    reason: str = Form(""),
) -> Response:
    identity = request.state.identity
    if not identity.is_admin:
        return Response("only the admin moves aliases", status_code=403)
    package = _component("fmops.registry", ("model_registry",))
    if package is None:
        return _missing(request, "registry")
    try:
        package.model_registry(console_of(request).settings.store_url).promote(
            name, version, alias.strip(), actor=f"web:{identity.name}", reason=reason or None
        )
    except FmopsError as exc:
        return _problem(request, exc)
    return RedirectResponse(f"/registry?name={name}", status_code=303)


def _lineage_chart(entry: Any) -> dict[str, Any] | None:
    """Lineage as a left-to-right graph: bases and experiment runs, the versions, their evidence."""
    nodes: dict[str, tuple[float, float]] = {}
    edges: list[tuple[str, str]] = []
    columns: dict[int, int] = {0: 0, 1: 0, 2: 0}

    def node(label: str, column: int) -> str:
        if label not in nodes:
            nodes[label] = (float(column), -float(columns[column]))
            columns[column] += 1
        return label

    for version in entry.versions:
        lineage = (version.payload or {}).get("lineage") or {}
        this = node(f"{entry.name} v{version.version}", 1)
        for key in ("base_model", "experiment_run"):
            if lineage.get(key):
                edges.append((node(f"{key.split('_')[0]}: {lineage[key]}", 0), this))
        for key in ("evaluation_runs", "comparisons"):
            for item in lineage.get(key) or []:
                edges.append((this, node(f"{key[:-1].replace('_', ' ')}: {item}", 2)))
    if not edges:
        return None
    xs, ys = [], []
    for a, b in edges:
        xs += [nodes[a][0], nodes[b][0], None]
        ys += [nodes[a][1], nodes[b][1], None]
    labels = list(nodes)
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "x": xs,
            "y": ys,
            "hoverinfo": "skip",
            "line": {"color": "#9aa5b1"},
        },
        {
            "type": "scatter",
            "mode": "markers+text",
            "x": [nodes[n][0] for n in labels],
            "y": [nodes[n][1] for n in labels],
            "text": [escape(n) for n in labels],
            "textposition": "top center",
            "marker": {"size": 14, "color": "#3b6fd8"},
            "hoverinfo": "text",
        },
    ]
    layout = {
        "height": 140 + 60 * max(columns.values()),
        "showlegend": False,
        "margin": {"t": 30, "l": 20, "r": 20, "b": 20},
        "xaxis": {"visible": False, "range": [-0.5, 2.5]},
        "yaxis": {"visible": False},
    }
    return {"id": "chart-lineage", "title": "lineage", "data": data, "layout": layout}


# --------------------------------------------------------------------------------------------- pipelines


@router.get("/pipelines")
def pipelines(request: Request) -> Response:
    package = _component("fmops.pipelines", ("list_runs",))
    if package is None:
        return _missing(request, "pipelines")
    try:
        runs = list(reversed(package.list_runs()))[:100]
    except FmopsError as exc:
        return _problem(request, exc)
    return render(request, "pipelines.html", {"runs": runs})


# ------------------------------------------------------------------------------------------------- usage


@router.get("/usage")
def usage(request: Request, days: int = 30) -> Response:
    gateway = _component("fmops.gateway", ("usage", "Tenancy", "latency_percentiles"))
    if gateway is None:
        return _missing(request, "usage")
    console = console_of(request)
    identity = request.state.identity
    engine = console.engine()
    team_id = identity.team if identity.role == "team" else None
    if identity.role == "reviewer":
        return render(request, "error.html", {"message": "usage is for the admin and teams"}, 403)
    now = datetime.now(UTC)
    since = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() - 86400 * max(1, days)
    since_dt = datetime.fromtimestamp(since, UTC)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    try:
        by_day = gateway.usage(engine, ["day", "team", "model"], since=since_dt, team_id=team_id)
        by_key = gateway.usage(engine, ["team", "key"], since=since_dt, team_id=team_id)
        month = {
            r["team"]: r["cost"] for r in gateway.usage(engine, ["team"], since=month_start, team_id=team_id)
        }
        teams = gateway.Tenancy(engine).list_teams()
        latency = gateway.latency_percentiles(engine, since=since_dt, team_id=team_id)
    except FmopsError as exc:
        return _problem(request, exc)
    if team_id is not None:
        teams = [t for t in teams if t.id == team_id]
    budgets = [
        {
            "team": t.name,
            "period": period,
            "budget": usd,
            "spent": month.get(t.name, 0.0) if period == "monthly" else None,
        }
        for t in teams
        for period, usd in sorted(t.budgets.items())
    ]
    top_keys = sorted(by_key, key=lambda r: -r["cost"])[:10]
    totals: dict[tuple[str, str], dict[str, float]] = {}
    for row in by_day:
        entry = totals.setdefault(
            (row["team"], row["model"]), {"requests": 0, "errors": 0, "cost": 0.0, "tokens": 0}
        )
        entry["requests"] += row["requests"]
        entry["errors"] += row["errors"]
        entry["cost"] += row["cost"]
        entry["tokens"] += row["input_tokens"] + row["output_tokens"]
    chart = _cost_chart(by_day)
    context = {
        "days": days,
        "totals": totals,
        "budgets": budgets,
        "top_keys": top_keys,
        "chart": chart,
        "latency": latency,
    }
    return render(request, "usage.html", context)


def _cost_chart(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not rows:
        return None
    days = sorted({r["day"] for r in rows})
    teams = sorted({r["team"] for r in rows})
    data = [
        {
            "type": "bar",
            "name": escape(str(team)),
            "x": days,
            "y": [sum(r["cost"] for r in rows if r["team"] == team and r["day"] == d) for d in days],
        }
        for team in teams
    ]
    layout = {
        "barmode": "stack",
        "height": 320,
        "margin": {"t": 30, "l": 60, "r": 20, "b": 60},
        "yaxis": {"title": {"text": "cost (USD)"}},
        "legend": {"orientation": "h", "y": 1.15},
    }
    return {"id": "chart-cost", "title": "cost by day and team", "data": data, "layout": layout}


# -------------------------------------------------------------------------------------------- monitoring


@router.get("/monitoring")
def monitoring(request: Request) -> Response:
    console = console_of(request)
    if console.settings.monitor is None or _component("fmops.gateway", ("usage",)) is None:
        return _missing(request, "monitoring (start with --monitor RULES.yaml)")
    if request.state.identity.role in ("team", "reviewer"):
        return render(request, "error.html", {"message": "monitoring is for the admin"}, 403)
    from fmops.web._monitor import check, load_rules

    try:
        rules = load_rules(console.settings.monitor)
        health = check(console.engine(), rules)
    except FmopsError as exc:
        return _problem(request, exc)
    context = {"rules": rules, "health": health, "sent": None, "schedule": console.schedule}
    return render(request, "monitoring.html", context)


@router.post("/monitoring/alert")
def monitoring_alert(request: Request) -> Response:
    """Check now and send what fires to the webhook (the admin's button; a scheduler can POST it too)."""
    console = console_of(request)
    if not request.state.identity.is_admin:
        return Response("only the admin sends alerts", status_code=403)
    if console.settings.monitor is None:
        return _missing(request, "monitoring")
    from fmops.web._monitor import check, load_rules, send_alerts

    try:
        rules = load_rules(console.settings.monitor)
        health = check(console.engine(), rules)
        sent = send_alerts(rules.webhook, health) if rules.webhook else None
    except FmopsError as exc:
        return _problem(request, exc)
    context = {"rules": rules, "health": health, "sent": sent, "schedule": console.schedule}
    return render(request, "monitoring.html", context)
