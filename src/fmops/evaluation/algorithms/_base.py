"""What every evaluation algorithm is: a validated config, required columns, per-record scoring, aggregation.

Algorithms are pure: they receive records (dicts keyed by fmeval's column names) and return scores.
Loading data, calling models and writing results belong to the engine (`fmops.evaluation.run`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from fmops.core.errors import BadInputError
from fmops.core.results import CategoryScore, EvalScore

if TYPE_CHECKING:
    from fmops.evaluation.prompts import PromptTemplate

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ModelCall:
    """One model call a record needs: generate from a prompt, or score a text's log-probability.

    The result lands in `record[key]` (text for generate, log-probability for score), or in
    `record[key][index]` when `index` is set; the prompt itself is kept under `prompt_key` if given.
    """

    key: str
    op: Literal["generate", "score"]
    text: str
    index: int | None = None
    prompt_key: str | None = None
    #: A second sample of the same prompt is a different call (determinism probes, baselines).
    sample_index: int = 0
    #: Must reach the model even under greedy decoding, where the store shares one answer for all samples.
    fresh_sample: bool = False
    #: Which model answers: None for the model under evaluation, else a helper model's spec (a judge).
    model: str | None = None
    model_args: tuple[str, ...] = ()
    #: Where a failed call's error goes: the record's `error` (the model failed) or e.g. `judge_error`.
    error_key: str = "error"
    #: Decoding for this call (e.g. a judge's own max_tokens); None: the run's generate config.
    max_tokens: int | None = None


class AlgorithmConfig(BaseModel):
    """Base of every algorithm config: frozen, and unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(slots=True)
class ScoredRecord:
    """One record's scores (name -> value), the scores it could not get (name -> why), and extra fields."""

    scores: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


class Algorithm:
    """An fmeval-compatible evaluation algorithm over records that already carry the model's outputs."""

    eval_name: ClassVar[str]
    config_class: ClassVar[type[AlgorithmConfig]] = AlgorithmConfig
    #: Columns the dataset must provide when outputs are brought by the user.
    required_columns: ClassVar[tuple[str, ...]] = ()
    #: Columns the dataset must provide when a model produces the outputs.
    model_required_columns: ClassVar[tuple[str, ...]] = ("model_input",)
    #: Per-record fields the algorithm adds (perturbed inputs and outputs...) and the run folder keeps.
    record_fields: ClassVar[tuple[str, ...]] = ()
    #: Columns used when present (kept in the per-record output).
    optional_columns: ClassVar[tuple[str, ...]] = ("model_input", "category")
    #: Names of the dataset-level scores, in report order.
    score_names: ClassVar[tuple[str, ...]] = ()
    default_num_records: ClassVar[int] = 100
    #: The model under evaluation must score given texts (log-probabilities), not only generate.
    needs_model_scores: ClassVar[bool] = False

    def __init__(self, config: AlgorithmConfig | None = None) -> None:
        self.config = config if config is not None else self.config_class()

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Algorithm:
        """Build from fmeval config field names; values may be strings as typed on a command line."""
        return cls(parse_config(cls.config_class, options, cls.eval_name))

    def prepare(self, records: Sequence[Record]) -> None:
        """Look at the whole (sampled) dataset before scoring; e.g. collect the valid labels."""

    def model_calls(self, record: Record, template: PromptTemplate) -> list[ModelCall]:
        """The calls one record needs, planned in record order (perturbations consume a seeded RNG)."""
        return [ModelCall("model_output", "generate", template.render(record), prompt_key="prompt")]

    def followup_calls(self, records: Sequence[Record]) -> list[list[ModelCall]]:
        """Calls that depend on earlier outputs (e.g. baselines once a model proves non-deterministic)."""
        return []

    def manifest_info(self) -> dict[str, Any]:
        """What the manifest should record beyond the config (helper models used, probes...)."""
        return {}

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        """Score every record. The default applies `score_record` and turns its exceptions into errors."""
        return [_safe(self.score_record, record, self.score_names) for record in records]

    def score_record(self, record: Record) -> dict[str, float]:
        raise NotImplementedError

    def aggregate(
        self, records: Sequence[Record], scored: Sequence[ScoredRecord]
    ) -> tuple[list[EvalScore], list[CategoryScore] | None]:
        """Dataset and category scores: arithmetic means, as fmeval's only aggregation method."""
        return mean_scores(scored, self.score_names), category_means(records, scored, self.score_names)


def _safe(fn: Callable[[Record], dict[str, float]], record: Record, names: Iterable[str]) -> ScoredRecord:
    try:
        return ScoredRecord(scores=fn(record))
    except Exception as exc:  # a metric failing on one record must not stop the run
        message = f"{type(exc).__name__}: {exc}"
        return ScoredRecord(errors=dict.fromkeys(names, message))


def mean_scores(scored: Sequence[ScoredRecord], names: Iterable[str]) -> list[EvalScore]:
    """Mean of each score over the records that have it; records without it are counted and reported."""
    results = []
    for name in names:
        values = [r.scores[name] for r in scored if name in r.scores]
        results.append(_mean_score(name, values, len(scored), _first_error(scored, name)))
    return results


def _mean_score(name: str, values: list[float], total: int, first_error: str | None) -> EvalScore:
    missing = total - len(values)
    if not values:
        return EvalScore(name=name, error=first_error or "no record has this score", num_errors=missing)
    value = float(sum(values) / len(values))
    if missing:
        error = f"{missing} of {total} records have no {name} score; first error: {first_error}"
        return EvalScore(name=name, value=value, error=error, num_errors=missing)
    return EvalScore(name=name, value=value)


def _first_error(scored: Sequence[ScoredRecord], name: str) -> str | None:
    return next((r.errors[name] for r in scored if name in r.errors), None)


def group_by_category(records: Sequence[Record]) -> dict[str, list[int]] | None:
    """Record indices per category, categories sorted by name (as a groupby does); None without categories."""
    if not records or records[0].get("category") is None:
        return None
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(records):
        groups.setdefault(str(record.get("category")), []).append(i)
    return dict(sorted(groups.items()))


def category_means(
    records: Sequence[Record], scored: Sequence[ScoredRecord], names: Iterable[str]
) -> list[CategoryScore] | None:
    groups = group_by_category(records)
    if groups is None:
        return None
    names = tuple(names)
    return [
        CategoryScore(name=category, scores=mean_scores([scored[i] for i in indices], names))
        for category, indices in groups.items()
    ]


def parse_config(config_class: type[AlgorithmConfig], options: dict[str, Any], eval_name: str) -> Any:
    """Validate fmeval config options; strings such as '["0", "1"]', 'false' or 'null' are decoded."""
    allowed = sorted(config_class.model_fields)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        hint = ", ".join(allowed) if allowed else "none"
        raise BadInputError(f"{eval_name}: unknown config key(s) {', '.join(unknown)}; allowed: {hint}")
    decoded = {key: _decode_option(value) for key, value in options.items()}
    try:
        return config_class(**decoded)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "config"
        raise BadInputError(f"{eval_name}: config {where}: {first['msg']}") from None


def _decode_option(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text in ("null", "None"):
        return None
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return value
    return value
