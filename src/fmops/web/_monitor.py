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
    judge: openai/gpt-4o-mini   # any fmops model spec: an online judge score of the same answers
    min_judge_score: 0.5        # mean normalized judge score (0..1) below this fires
    webhook: http://127.0.0.1:9000/alerts
    interval_s: 300             # the console checks on its own this often and alerts the webhook
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

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
    #: A judge model (any fmops model spec, `judge_args` its `-M` arguments) scoring the sampled answers.
    judge: str | None = None
    judge_args: list[str] = Field(default_factory=list)
    judge_rubric: str | None = None
    min_judge_score: float | None = Field(default=None, ge=0, le=1)
    #: Seconds between the console's own checks (each one alerts the webhook); leave out: no schedule.
    interval_s: float | None = Field(default=None, gt=0)


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
    #: Mean normalized judge score (0..1) of the answers the judge could grade, and how many it could not.
    judge_score: float | None = None
    judged: int = 0
    judge_failures: int = 0
    baseline_toxicity: float | None = None
    drift_p_value: float | None = None
    alerts: list[str] = Field(default_factory=list)
    #: The rule behind each alert, in the same order ("latency", "errors", "toxicity", "drift", "judge"):
    #: what tells an alert that keeps firing from a new one.
    fired: list[str] = Field(default_factory=list)


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
    from fmops.gateway import read_ledger

    now = now or datetime.now(UTC)
    by_model: dict[str, list[Any]] = defaultdict(list)
    for row in read_ledger(engine, since=now - timedelta(hours=rules.window_hours)):
        by_model[row.model or "?"].append(row)
    detector = None
    health = []
    for model, entries in sorted(by_model.items()):
        latencies = [(r.done_at - r.received_at).total_seconds() for r in entries]
        errors = sum(1 for r in entries if r.status >= 400)
        sampled = [r for r in entries if r.response][-rules.sample :]  # rows come oldest first
        stored = [r.response for r in sampled]
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
        if rules.judge and sampled:
            grades = judge_answers(rules, [(r.prompt, r.response) for r in sampled])
            graded = [g for g in grades if g is not None]
            item.judged, item.judge_failures = len(graded), len(grades) - len(graded)
            item.judge_score = float(np.mean(graded)) if graded else None
        baseline = rules.baselines.get(model)
        if baseline is not None and values:
            reference = _baseline_values(baseline, rules.toxicity_score)
            if reference:
                item.baseline_toxicity = float(np.mean(reference))
                item.drift_p_value = permutation_p_value(values, reference)
        fired = _alerts(item, rules)
        item.fired, item.alerts = [rule for rule, _ in fired], [text for _, text in fired]
        health.append(item)
    return health


def judge_answers(rules: MonitorRules, answers: list[tuple[str | None, str]]) -> list[float | None]:
    """The judge's normalized score (0..1) of each (prompt, answer), None where it gave no verdict. The same
    prompt and verdict parsing as the `judge` evaluation, so online and offline scores compare; calls go
    through the response store, so an answer already judged costs nothing at the next check."""
    from fmops.evaluation.algorithms.judge import JUDGE_ERROR, NORMALIZED, VERDICTS, Judge, JudgeConfig
    from fmops.models import GenerateConfig, GenerateRequest, get_model

    options: dict[str, Any] = {"judge_model": rules.judge, "judge_model_args": rules.judge_args}
    if rules.judge_rubric:
        options["rubric"] = rules.judge_rubric
    judge = Judge(JudgeConfig(**options))
    records: list[dict[str, Any]] = [{"model_input": p or "", "model_output": a} for p, a in answers]
    config = GenerateConfig(max_tokens=judge.config.judge_max_tokens)
    model = get_model(str(rules.judge), rules.judge_args)
    try:
        results = model.generate_sync(
            [GenerateRequest(prompt=judge.judge_prompts(r)[0], config=config) for r in records]
        )
    finally:
        model.close()
    for record, result in zip(records, results, strict=True):
        record[VERDICTS], record[JUDGE_ERROR] = [result.text], result.error
    return [scored.scores.get(NORMALIZED) for scored in judge.score_records(records)]


def _alerts(item: ModelHealth, rules: MonitorRules) -> list[tuple[str, str]]:
    fired = []
    if (
        rules.latency_p95_s is not None
        and item.latency_p95_s is not None
        and item.latency_p95_s > rules.latency_p95_s
    ):
        text = f"{item.model}: latency p95 {item.latency_p95_s:.2f} s > SLO {rules.latency_p95_s} s"
        fired.append(("latency", text))
    if rules.error_rate is not None and item.error_rate > rules.error_rate:
        fired.append(
            ("errors", f"{item.model}: error rate {item.error_rate:.1%} > SLO {rules.error_rate:.1%}")
        )
    if rules.max_toxicity is not None and item.toxicity is not None and item.toxicity > rules.max_toxicity:
        text = f"{item.model}: mean {rules.toxicity_score} {item.toxicity:.3f} > {rules.max_toxicity}"
        fired.append(("toxicity", text))
    if item.drift_p_value is not None and item.drift_p_value < rules.drift_alpha:
        text = (
            f"{item.model}: {rules.toxicity_score} drifted from its evaluation baseline "
            f"({item.toxicity:.3f} vs {item.baseline_toxicity:.3f}, p={item.drift_p_value:.4f})"
        )
        fired.append(("drift", text))
    if (
        rules.min_judge_score is not None
        and item.judge_score is not None
        and item.judge_score < rules.min_judge_score
    ):
        text = f"{item.model}: mean judge score {item.judge_score:.3f} < {rules.min_judge_score}"
        fired.append(("judge", text))
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


def send_alerts(webhook: str, health: list[ModelHealth], only: set[str] | None = None) -> int:
    """POST the fired alerts as JSON to the webhook (with `only`, just those whose `alert_key` is in it);
    returns how many were sent (0: nothing to send)."""
    import httpx

    chosen = [
        (
            h,
            [
                a
                for a, rule in zip(h.alerts, h.fired, strict=True)
                if only is None or alert_key(h, rule) in only
            ],
        )
        for h in health
    ]
    alerts = [a for _, picked in chosen for a in picked]
    if not alerts:
        return 0
    payload = {
        "source": "fmops web",
        "alerts": alerts,
        "models": [h.model_dump() for h, picked in chosen if picked],
    }
    try:
        httpx.post(webhook, json=payload, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise BadInputError(f"webhook {webhook}: {exc}") from None
    return len(alerts)


def alert_key(health: ModelHealth, rule: str) -> str:
    """What names one alert across checks (its text carries figures that change from check to check)."""
    return f"{health.model}:{rule}"


def _baseline_values(folder: Path, score: str) -> list[float]:
    from fmops.reports import read_run, record_values

    run = read_run(folder)
    return record_values([r for rows in run.records.values() for r in rows], score)


__all__ = [
    "ModelHealth",
    "MonitorRules",
    "alert_key",
    "check",
    "judge_answers",
    "load_rules",
    "permutation_p_value",
    "send_alerts",
]
