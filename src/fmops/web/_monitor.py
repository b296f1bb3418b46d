"""Monitoring the gateway's live traffic: latency and error SLOs per model, the stored answers of sampled
requests scored for toxicity (and guardrail interventions counted), drift of that score against the
evaluation baseline of the deployed model, and alerts to a webhook when a rule fires.

Rules come from a YAML file (`fmops web --monitor rules.yaml`):

    window_hours: 24
    sample: 200                 # newest requests with stored content scored per model
    latency_p95_s: 2.0          # SLOs (leave out to skip)
    error_rate: 0.02
    max_toxicity: 0.2
    baselines: {qa: runs/qa-toxicity}   # gateway model -> a toxicity evaluation run folder
    drift_alpha: 0.05
    webhook: http://127.0.0.1:9000/alerts
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine, select

from fmops.core.errors import BadInputError


class MonitorRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    window_hours: float = Field(default=24.0, gt=0)
    sample: int = Field(default=200, ge=1)
    latency_p95_s: float | None = Field(default=None, gt=0)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    max_toxicity: float | None = Field(default=None, ge=0, le=1)
    toxicity_score: str = "profanity"
    baselines: dict[str, Path] = Field(default_factory=dict)
    drift_alpha: float = Field(default=0.05, gt=0, lt=1)
    webhook: str | None = None


class ModelHealth(BaseModel):
    """One gateway model over the window: what was measured and which rules fired."""

    model: str
    requests: int
    errors: int
    error_rate: float
    latency_p50_s: float | None
    latency_p95_s: float | None
    scored: int
    toxicity: float | None
    guardrail_interventions: int
    baseline_toxicity: float | None = None
    drift_p_value: float | None = None
    alerts: list[str] = Field(default_factory=list)


def load_rules(path: Path) -> MonitorRules:
    """The rules file, with a one-line error naming the field that is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise BadInputError(f"--monitor {path}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise BadInputError(f"--monitor {path}: not valid YAML ({exc})") from None
    try:
        rules = MonitorRules.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInputError(f"{path}: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    return rules.model_copy(
        update={"baselines": {m: (path.parent / p).resolve() for m, p in rules.baselines.items()}}
    )


def check(engine: Engine, rules: MonitorRules, now: datetime | None = None) -> list[ModelHealth]:
    """Measure every model seen in the window and apply the rules."""
    now = now or datetime.now(UTC)
    rows = _ledger(engine, now - timedelta(hours=rules.window_hours))
    by_model: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_model[row.model or "?"].append(row)
    detector = None
    health = []
    for model, entries in sorted(by_model.items()):
        latencies = [(_aware(r.done_at) - _aware(r.received_at)).total_seconds() for r in entries]
        errors = sum(1 for r in entries if r.status >= 400)
        stored = [r.response for r in sorted(entries, key=lambda r: _aware(r.received_at)) if r.response][
            -rules.sample :
        ]
        values: list[float] = []
        if stored:
            if detector is None:
                from fmops.metrics.toxicity import get_toxicity_detector

                detector = get_toxicity_detector()
            values = [s.get(rules.toxicity_score, 0.0) for s in detector.score(stored)]
        item = ModelHealth(
            model=model,
            requests=len(entries),
            errors=errors,
            error_rate=errors / len(entries),
            latency_p50_s=float(np.percentile(latencies, 50)) if latencies else None,
            latency_p95_s=float(np.percentile(latencies, 95)) if latencies else None,
            scored=len(values),
            toxicity=float(np.mean(values)) if values else None,
            guardrail_interventions=sum(r.guardrail_interventions or 0 for r in entries),
        )
        baseline = rules.baselines.get(model)
        if baseline is not None and values:
            reference = _baseline_values(baseline, rules.toxicity_score)
            if reference:
                item.baseline_toxicity = float(np.mean(reference))
                item.drift_p_value = permutation_p_value(values, reference)
        item.alerts = _alerts(item, rules)
        health.append(item)
    return health


def _alerts(item: ModelHealth, rules: MonitorRules) -> list[str]:
    fired = []
    if (
        rules.latency_p95_s is not None
        and item.latency_p95_s is not None
        and item.latency_p95_s > rules.latency_p95_s
    ):
        fired.append(f"{item.model}: latency p95 {item.latency_p95_s:.2f} s > SLO {rules.latency_p95_s} s")
    if rules.error_rate is not None and item.error_rate > rules.error_rate:
        fired.append(f"{item.model}: error rate {item.error_rate:.1%} > SLO {rules.error_rate:.1%}")
    if rules.max_toxicity is not None and item.toxicity is not None and item.toxicity > rules.max_toxicity:
        fired.append(f"{item.model}: mean {rules.toxicity_score} {item.toxicity:.3f} > {rules.max_toxicity}")
    if item.drift_p_value is not None and item.drift_p_value < rules.drift_alpha:
        fired.append(
            f"{item.model}: {rules.toxicity_score} drifted from its evaluation baseline "
            f"({item.toxicity:.3f} vs {item.baseline_toxicity:.3f}, p={item.drift_p_value:.4f})"
        )
    return fired


def permutation_p_value(a: list[float], b: list[float], rounds: int = 2000, seed: int = 0) -> float:
    """Two-sided permutation test of the difference of means (seeded, so a page shows stable figures)."""
    observed = abs(float(np.mean(a)) - float(np.mean(b)))
    pooled = np.asarray(a + b, dtype=float)
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(rounds):
        rng.shuffle(pooled)
        if abs(pooled[: len(a)].mean() - pooled[len(a) :].mean()) >= observed - 1e-12:
            hits += 1
    return (hits + 1) / (rounds + 1)


def send_alerts(webhook: str, health: list[ModelHealth]) -> int:
    """POST the fired alerts as JSON to the webhook; returns how many were sent (0: nothing fired)."""
    import httpx

    alerts = [a for h in health for a in h.alerts]
    if not alerts:
        return 0
    payload = {
        "source": "fmops web",
        "alerts": alerts,
        "models": [h.model_dump() for h in health if h.alerts],
    }
    try:
        httpx.post(webhook, json=payload, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise BadInputError(f"webhook {webhook}: {exc}") from None
    return len(alerts)


def _baseline_values(folder: Path, score: str) -> list[float]:
    from fmops.reports import read_run, record_values

    run = read_run(folder)
    return record_values([r for rows in run.records.values() for r in rows], score)


def _ledger(engine: Engine, since: datetime) -> list[Any]:
    # The gateway exports no reader of single ledger rows yet: its table model is read directly.
    from fmops.gateway._tables import LedgerEntry

    with engine.connect() as conn:
        return list(conn.execute(select(LedgerEntry).where(LedgerEntry.received_at >= since)).all())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


__all__ = ["ModelHealth", "MonitorRules", "check", "load_rules", "permutation_p_value", "send_alerts"]
