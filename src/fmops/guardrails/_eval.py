"""Evaluate a policy like a model: precision, recall, F1 and false-positive rate on labelled texts.

The dataset is JSON Lines, one text per line:

    {"text": "...", "source": "INPUT", "labels": ["VIOLENCE"], "entities": [{"type": "EMAIL", "text": "a@b.io"}]}

`labels` name what should be caught: content filter types (HATE ... PROMPT_ATTACK), denied topic names,
WORDS (word filters), GROUNDING or RELEVANCE; `[]` marks a text that should pass. `entities` list the
sensitive values in the text by type (PII types or regex names). Optional: `source` (INPUT), and for
contextual grounding `grounding_source` and `query`.

Categories are scored per text (caught means the policy blocked it for that reason); entities per value
(a found value of the right type overlapping a listed one is a true positive; FPR is per text). 95%
intervals: Wilson for precision, recall and FPR; a seeded bootstrap over texts for F1. Latency is the
time `Policy.apply` took per text (p50 and p95).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.core.errors import BadInputError
from fmops.guardrails._apply import Policy


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelledEntity(_Frozen):
    type: str
    text: str


class LabelledText(_Frozen):
    text: str
    source: str = "INPUT"
    labels: list[str] = Field(default_factory=list)
    entities: list[LabelledEntity] = Field(default_factory=list)
    grounding_source: str | None = None
    query: str | None = None


class Interval(_Frozen):
    value: float | None
    low: float | None
    high: float | None


class Score(_Frozen):
    """One category's or entity type's figures."""

    name: str
    kind: str  # "category" or "entity"
    support: int  # positives in the dataset
    tp: int
    fp: int
    fn: int
    precision: Interval
    recall: Interval
    f1: Interval
    fpr: Interval


class GuardrailEvaluation(_Frozen):
    """`fmops guard eval`'s result (also written as JSON with --output)."""

    policy: str
    policy_version: str
    dataset: str
    records: int
    scores: list[Score]
    latency_ms_p50: float
    latency_ms_p95: float


def read_dataset(path: str | Path) -> list[LabelledText]:
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read the dataset ({exc.strerror or exc})") from None
    records = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(LabelledText.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            raise BadInputError(f"{file}:{number}: {where}: {first['msg']}") from None
    if not records:
        raise BadInputError(f"{file}: no labelled texts")
    return records


def wilson(successes: int, total: int, z: float = 1.96) -> Interval:
    if total == 0:
        return Interval(value=None, low=None, high=None)
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    return Interval(
        value=round(p, 4), low=round(max(0.0, centre - half), 4), high=round(min(1.0, centre + half), 4)
    )


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), np.nan)


def _f1_interval(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, resamples: int = 1000) -> Interval:
    point = _f1(tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True))[0]
    if np.isnan(point):
        return Interval(value=None, low=None, high=None)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(tp), size=(resamples, len(tp)))
    samples = _f1(tp[picks].sum(1), fp[picks].sum(1), fn[picks].sum(1))
    samples = samples[~np.isnan(samples)]
    low, high = np.quantile(samples, [0.025, 0.975]) if len(samples) else (point, point)
    return Interval(value=round(float(point), 4), low=round(float(low), 4), high=round(float(high), 4))


def caught_categories(response: dict[str, Any]) -> set[str]:
    """What a result blocked for: content types, topic names, WORDS, GROUNDING/RELEVANCE."""
    out: set[str] = set()
    for assessment in response.get("assessments", []):
        for f in assessment.get("contentPolicy", {}).get("filters", []):
            if f["action"] == "BLOCKED":
                out.add(f["type"])
        for t in assessment.get("topicPolicy", {}).get("topics", []):
            if t["action"] == "BLOCKED":
                out.add(t["name"])
        if assessment.get("wordPolicy"):
            out.add("WORDS")
        for g in assessment.get("contextualGroundingPolicy", {}).get("filters", []):
            if g["action"] == "BLOCKED":
                out.add(g["type"])
    return out


def found_entities(response: dict[str, Any]) -> list[tuple[str, str]]:
    """(type or regex name, matched text) of every sensitive value a result found."""
    out = []
    for assessment in response.get("assessments", []):
        sensitive = assessment.get("sensitiveInformationPolicy", {})
        out += [(e["type"], e["match"]) for e in sensitive.get("piiEntities", [])]
        out += [(e["name"], e["match"]) for e in sensitive.get("regexes", [])]
    return out


def _overlaps(a: str, b: str) -> bool:
    return a in b or b in a


def evaluate_policy(
    policy: Policy,
    records: list[LabelledText],
    *,
    dataset_name: str = "dataset",
    on_progress: Callable[[int, int], None] | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> GuardrailEvaluation:
    """Apply `policy` to every record and score what it caught against the labels."""
    latencies, caught, found = [], [], []
    for i, record in enumerate(records):
        started = clock()
        result = policy.apply(
            record.text, record.source, grounding_source=record.grounding_source, query=record.query
        )
        latencies.append((clock() - started) * 1000)
        response = result.response()
        caught.append(caught_categories(response))
        found.append(found_entities(response))
        if on_progress:
            on_progress(i + 1, len(records))
    scores = []
    categories = sorted({c for r in records for c in r.labels} | {c for c in caught for c in c})
    for category in categories:
        gold = np.array([category in r.labels for r in records])
        pred = np.array([category in c for c in caught])
        scores.append(_score(category, "category", gold, pred, (gold & pred), (~gold & pred), (gold & ~pred)))
    types = sorted({e.type for r in records for e in r.entities} | {t for f in found for t, _ in f})
    for kind in types:
        tp, fp, fn, gold_any, pred_any = [], [], [], [], []
        for record, hits in zip(records, found, strict=True):
            gold_values = [e.text for e in record.entities if e.type == kind]
            predicted = [m for t, m in hits if t == kind]
            matched = sum(any(_overlaps(g, p) for p in predicted) for g in gold_values)
            tp.append(matched)
            fn.append(len(gold_values) - matched)
            fp.append(sum(not any(_overlaps(g, p) for g in gold_values) for p in predicted))
            gold_any.append(bool(gold_values))
            pred_any.append(bool(predicted))
        gold = np.array(gold_any)
        scores.append(
            _score(kind, "entity", gold, np.array(pred_any), np.array(tp), np.array(fp), np.array(fn))
        )
    ordered = sorted(latencies)
    return GuardrailEvaluation(
        policy=policy.name,
        policy_version=policy.version,
        dataset=dataset_name,
        records=len(records),
        scores=scores,
        latency_ms_p50=round(_quantile(ordered, 0.5), 3),
        latency_ms_p95=round(_quantile(ordered, 0.95), 3),
    )


def _quantile(ordered: list[float], q: float) -> float:
    return float(np.quantile(ordered, q)) if ordered else 0.0


def _score(
    name: str, kind: str, gold: np.ndarray, pred: np.ndarray, tp: np.ndarray, fp: np.ndarray, fn: np.ndarray
) -> Score:
    tp, fp, fn = tp.astype(int), fp.astype(int), fn.astype(int)
    negatives = int((~gold).sum())
    false_alarms = int((~gold & pred).sum())
    return Score(
        name=name,
        kind=kind,
        support=int(tp.sum() + fn.sum()),
        tp=int(tp.sum()),
        fp=int(fp.sum()),
        fn=int(fn.sum()),
        precision=wilson(int(tp.sum()), int(tp.sum() + fp.sum())),
        recall=wilson(int(tp.sum()), int(tp.sum() + fn.sum())),
        f1=_f1_interval(tp, fp, fn),
        fpr=wilson(false_alarms, negatives),
    )


def write_evaluation(evaluation: GuardrailEvaluation, path: str | Path) -> None:
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(evaluation.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
