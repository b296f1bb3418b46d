"""Metric names as people write them (`cost`, `latency`, `precision`, `qa/x:f1_score`) -> values in a comparison.

One resolver for priorities and constraints, so both accept the same names and a typo fails the same way:
with the name and the list of metrics this comparison actually has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Literal

from fmops.comparison import Comparison, as_comparison
from fmops.core.errors import BadInputError
from fmops.evaluation.scores import ScoreInfo, score_info

Kind = Literal["performance", "score"]


@dataclass(frozen=True)
class _Perf:
    direction: Literal["higher", "lower"]
    unit: Literal["s", "$"] | None
    label: str
    suffix: str


#: comparison.json performance fields a selection can use, their direction and how to show them.
PERFORMANCE_METRICS: dict[str, _Perf] = {
    "cost_per_1k_records": _Perf("lower", "$", "cost", " per 1K records"),
    "latency_p95_s": _Perf("lower", "s", "latency p95", " s"),
    "latency_p50_s": _Perf("lower", "s", "latency p50", " s"),
    "ttft_p50_s": _Perf("lower", "s", "time to first token p50", " s"),
    "throughput_rps": _Perf("higher", None, "throughput", " records/s"),
    "output_tokens_per_s": _Perf("higher", None, "output tokens/s", " tokens/s"),
}

#: Short names for the performance fields (the first alias of each field is the one listed to users).
PERFORMANCE_ALIASES: dict[str, str] = {
    "cost": "cost_per_1k_records",
    "cost_per_1k": "cost_per_1k_records",
    "price": "cost_per_1k_records",
    "latency": "latency_p95_s",
    "latency_p95": "latency_p95_s",
    "p95_latency": "latency_p95_s",
    "p95": "latency_p95_s",
    "latency_p50": "latency_p50_s",
    "p50_latency": "latency_p50_s",
    "p50": "latency_p50_s",
    "ttft": "ttft_p50_s",
    "throughput": "throughput_rps",
    "tokens_per_s": "output_tokens_per_s",
    "speed": "output_tokens_per_s",
}

#: Everyday words for score names; used only when exactly one candidate is in the comparison.
SCORE_SYNONYMS: dict[str, tuple[str, ...]] = {
    "precision": ("precision_score", "precision_over_words"),
    "recall": ("recall_score", "recall_over_words"),
    "accuracy": ("classification_accuracy_score",),
    "balanced_accuracy": ("balanced_accuracy_score",),
    "f1": ("f1_score",),
    "exact_match": ("exact_match_score",),
    "quasi_exact_match": ("quasi_exact_match_score",),
    "factual": ("factual_knowledge",),
    "knowledge": ("factual_knowledge",),
    "stereotyping": ("prompt_stereotyping",),
    "toxic": ("toxicity",),
    "summarization": ("rouge", "meteor", "bertscore"),
    "wer": ("word_error_rate",),
}


@dataclass(frozen=True)
class Metric:
    """A resolved metric: which field or score of the comparison it reads, and which way is better."""

    key: str  # canonical name used in selection.json: a performance field, a score, or `evaluation:score`
    kind: Kind
    direction: Literal["higher", "lower", "ideal"]
    unit: Literal["s", "$"] | None = None
    score: str | None = None
    evaluations: tuple[str, ...] = ()
    ideal: float | None = None
    known: bool = True  # whether fmops knows the direction (an unknown score defaults to higher-is-better)

    @property
    def label(self) -> str:
        if self.kind == "performance":
            return PERFORMANCE_METRICS[self.key].label
        if len(self.evaluations) > 1:  # say so: one figure stands for several evaluations
            return f"mean {self.key} of {len(self.evaluations)} evaluations"
        return self.key

    def goodness(self, value: float) -> float:
        """Larger is always better: what normalisation, Pareto fronts and 'best' use (one rule: ScoreInfo's)."""
        return ScoreInfo(self.key, self.direction, "", self.ideal).goodness(value)

    def show(self, value: float | None, *, short: bool = False) -> str:
        """The value with its unit (`short`: seconds only, for values quoted a second time)."""
        if value is None:
            return "-"
        suffix = PERFORMANCE_METRICS[self.key].suffix if self.kind == "performance" else ""
        if short and suffix != " s":
            suffix = ""
        return f"{format_number(value)}{suffix}"


def format_number(value: float) -> str:
    """Short and readable: 0.8 -> 0.80, 0.00612 -> 0.00612, 12.345 -> 12.35, 1234.5 -> 1234."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


class ComparisonIndex:
    """The comparison's scores and performance laid out for lookups by model, evaluation and score."""

    def __init__(self, comparison: Comparison | Mapping[str, Any]) -> None:
        data = as_comparison(comparison)
        models = data.model_names()
        if not models:
            raise BadInputError("comparison: no models in it (expected `models`, `scores` and `performance`)")
        self.models: list[str] = models
        self.performance: dict[str, dict[str, float | None]] = {m: {} for m in models}
        for row in data.performance:
            for field in PERFORMANCE_METRICS:
                self.performance.setdefault(row.model, {})[field] = _number(getattr(row, field))
        # score -> evaluation -> model -> values (several datasets of one evaluation give several values)
        self.scores: dict[str, dict[str, dict[str, list[float]]]] = {}
        self.directions: dict[str, str] = {}
        for entry in data.scores:
            if entry.value is None:
                continue
            by_model = self.scores.setdefault(entry.score, {}).setdefault(entry.evaluation, {})
            by_model.setdefault(entry.model, []).append(entry.value)
            if entry.direction is not None:
                self.directions[entry.score] = entry.direction
        self.evaluation_parts: dict[str, set[str]] = {}
        for evaluation in {e for per_eval in self.scores.values() for e in per_eval}:
            self.evaluation_parts[evaluation] = {evaluation}
        for info in data.suite.evaluations:
            parts = {info.id, *(str(v) for v in (info.algorithm, info.dataset) if v)}
            self.evaluation_parts.setdefault(info.id, set()).update(parts)
        # (evaluation, score, model_a, model_b) -> significant?
        self.significant: dict[tuple[str, str, str, str], bool] = {}
        for test in data.comparisons:
            self.significant[(test.evaluation, test.score, test.model_a, test.model_b)] = test.significant
            self.significant[(test.evaluation, test.score, test.model_b, test.model_a)] = test.significant

    def values(self, metric: Metric) -> dict[str, float | None]:
        """Model -> value; a bare score in several evaluations (or datasets) is their mean."""
        if metric.kind == "performance":
            return {m: self.performance.get(m, {}).get(metric.key) for m in self.models}
        out: dict[str, float | None] = {}
        per_eval = self.scores.get(metric.score or "", {})
        for model in self.models:
            found = [v for e in metric.evaluations for v in per_eval.get(e, {}).get(model, [])]
            out[model] = sum(found) / len(found) if found else None
        return out

    def within_noise(self, metric: Metric, a: str, b: str) -> bool:
        """True when the paired tests of a and b on this score exist and none is significant."""
        if metric.kind != "score":
            return False
        tests = [self.significant.get((e, metric.score or "", a, b)) for e in metric.evaluations]
        known = [t for t in tests if t is not None]
        return bool(known) and not any(known)

    def available(self) -> list[str]:
        """Metric names this comparison can answer, as a user would type them."""
        names = []
        for field in PERFORMANCE_METRICS:
            if any(self.performance.get(m, {}).get(field) is not None for m in self.models):
                alias = next((a for a, f in PERFORMANCE_ALIASES.items() if f == field), field)
                names.append(alias)
        for score, per_eval in sorted(self.scores.items()):
            names.append(score)
            if len(per_eval) > 1:
                names.extend(f"{e}:{score}" for e in sorted(per_eval))
        return names

    def resolve(self, text: str) -> Metric:
        """The metric a name means here, or a BadInputError that names it and lists what is available."""
        name = text.strip()
        metric = self._resolve(name) or self._resolve(name.lower())
        if metric is None:
            available = self.available()
            close = get_close_matches(name, available, n=3, cutoff=0.6)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise BadInputError(f"unknown metric '{text}'{hint}; available metrics: {', '.join(available)}")
        if all(v is None for v in self.values(metric).values()):
            why = " (the models have no prices)" if metric.key == "cost_per_1k_records" else ""
            raise BadInputError(
                f"metric '{text}' ({metric.key}) has no value for any model in this comparison{why}; "
                f"available metrics: {', '.join(self.available())}"
            )
        return metric

    def _resolve(self, name: str) -> Metric | None:
        if ":" in name:
            evaluation, _, score = name.rpartition(":")
            evaluations = [e for e, parts in self.evaluation_parts.items() if evaluation in parts]
            if not evaluations:
                return None
            return self._score(score, evaluations, qualifier=evaluation)
        field = name if name in PERFORMANCE_METRICS else PERFORMANCE_ALIASES.get(name)
        if field is not None:
            perf = PERFORMANCE_METRICS[field]
            return Metric(key=field, kind="performance", direction=perf.direction, unit=perf.unit)
        return self._score(name, list(self.evaluation_parts), qualifier=None)

    def _score(self, name: str, evaluations: Sequence[str], *, qualifier: str | None) -> Metric | None:
        candidates = [name] if name in self.scores else []
        if not candidates:
            candidates = [s for s in SCORE_SYNONYMS.get(name, ()) if s in self.scores]
        candidates = [s for s in candidates if any(e in self.scores[s] for e in evaluations)]
        if len(candidates) > 1:
            raise BadInputError(
                f"metric '{name}' is ambiguous here: it could be {' or '.join(candidates)}; name one of them"
            )
        if not candidates:
            return None
        score = candidates[0]
        used = tuple(sorted(e for e in evaluations if e in self.scores[score]))
        info = score_info(score)
        direction = info.direction
        recorded = self.directions.get(score)
        # A direction other than the default comes from the algorithm that wrote the comparison: trust it.
        known = bool(info.description) or recorded in ("lower", "ideal")
        if not info.description and recorded in ("higher", "lower"):
            direction = recorded
        key = score
        if qualifier is not None:
            key = f"{used[0] if len(used) == 1 else qualifier}:{score}"
        return Metric(
            key=key,
            kind="score",
            direction=direction,
            score=score,
            evaluations=used,
            ideal=info.ideal,
            known=known,
        )


def metric_label(key: str) -> str:
    """How a resolved metric key reads in tables: `cost_per_1k_records` -> `cost`; scores stay as they are."""
    return PERFORMANCE_METRICS[key].label if key in PERFORMANCE_METRICS else key


def available_metrics(comparison: Comparison | Mapping[str, Any]) -> list[str]:
    """The metric names a selection over this comparison can use (for help and error messages)."""
    return ComparisonIndex(comparison).available()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


__all__ = [
    "PERFORMANCE_ALIASES",
    "PERFORMANCE_METRICS",
    "SCORE_SYNONYMS",
    "ComparisonIndex",
    "Metric",
    "available_metrics",
    "format_number",
    "metric_label",
]
