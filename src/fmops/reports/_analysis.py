"""What a reader wants to know from the numbers: who is best where and how sure, a quality index, Pareto
fronts, and the best and worst records per score (fmeval's ScoreTableCell: top and bottom five)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fmops.comparison import pareto_front as comparison_pareto_front
from fmops.comparison import quality_scale
from fmops.evaluation.scores import ScoreInfo, score_info
from fmops.reports._data import ReportData, RunData, ScoreKey

#: fmeval truncates example strings to 200 characters and shows five examples each way.
TRUNCATE = 200
NUM_EXAMPLES = 5
#: fmeval's category bar plots show at most ten categories.
MAX_CATEGORIES = 10

_ACCURACY_ROBUSTNESS = (
    "qa_accuracy_semantic_robustness",
    "summarization_accuracy_semantic_robustness",
    "classification_accuracy_semantic_robustness",
)


def info(score: str) -> ScoreInfo:
    return score_info(score)


def key_labels(keys: Sequence[ScoreKey], algorithms: Mapping[str, str] | None = None) -> dict[ScoreKey, str]:
    """Short, unique labels: the score name, with the dataset, algorithm or evaluation only when needed."""
    algorithms = algorithms or {}
    labels = {}
    for key in keys:
        same = [k for k in keys if k.score == key.score]
        by_algorithm = [algorithms.get(k.evaluation) or k.evaluation for k in same]
        if len(same) == 1:
            labels[key] = key.score
        elif len({k.dataset for k in same}) == len(same):
            labels[key] = f"{key.score} ({key.dataset})"
        elif len(set(by_algorithm)) == len(same):
            labels[key] = f"{key.score} ({algorithms.get(key.evaluation) or key.evaluation})"
        else:
            labels[key] = f"{key.score} ({key.evaluation})"
    return labels


def reported_keys(data: ReportData) -> list[ScoreKey]:
    """The scores that speak for a model: as fmeval's reports, accuracy-robustness runs count only by their
    deltas (their original-input accuracy repeats the accuracy evaluation)."""
    return [
        k
        for k in data.scores
        if data.algorithms.get(k.evaluation) not in _ACCURACY_ROBUSTNESS or k.score.startswith("delta_")
    ]


def row_label(data: ReportData, key: ScoreKey) -> str:
    """A score's name in a table that already has an evaluation column."""
    return key.score if len(data.datasets_of(key.evaluation)) < 2 else f"{key.score} · {key.dataset}"


def unique_best(score: str, values: Mapping[str, float | None]) -> str | None:
    """The model strictly better than every other on this score (None for a tie or a single model)."""
    meaning = info(score)
    present = {m: meaning.goodness(v) for m, v in values.items() if v is not None}
    if len(present) < 2:
        return None
    ranked = sorted(present.items(), key=lambda mv: -mv[1])
    return ranked[0][0] if not math.isclose(ranked[0][1], ranked[1][1], abs_tol=1e-12) else None


# ------------------------------------------------------------------------------------------- quality index


def quality_index(data: ReportData) -> dict[ScoreKey, dict[str, float]]:
    """Every score mapped to [0, 1] where 1 is best, so unlike scores can share a radar or an average.

    Bounded scores use their own scale (1 − value for lower-is-better, distance from the ideal for
    stereotyping); a score with values outside [0, 1] (word error rate can exceed 1) is scaled between the
    models' worst and best instead.
    """
    index: dict[ScoreKey, dict[str, float]] = {}
    for key in reported_keys(data):
        values = {m: v.value for m, v in data.scores[key].items() if v.value is not None}
        if values:
            index[key] = quality_scale(info(key.score), values)
    return index


def quality_basis(data: ReportData) -> list[ScoreKey]:
    """The scores the mean quality index averages: those every model has, so the means are comparable
    (when no score is shared by all, each model's own scores)."""
    index = quality_index(data)
    return [k for k, by_model in index.items() if all(m in by_model for m in data.models)]


def mean_quality(data: ReportData) -> dict[str, float | None]:
    """Each model's mean quality index (None when it has no score)."""
    index = quality_index(data)
    basis = quality_basis(data) or list(index)
    result: dict[str, float | None] = {}
    for model in data.models:
        values = [index[k][model] for k in basis if model in index[k]]
        result[model] = sum(values) / len(values) if values else None
    return result


# --------------------------------------------------------------------------------------- best model per score


@dataclass(frozen=True)
class Winner:
    """The best model on one score, the runner-up, and what the paired test said about the gap."""

    key: ScoreKey
    best: str
    value: float
    runner_up: str | None = None
    runner_value: float | None = None
    verdict: str = ""
    #: True beyond noise, False within noise, None when no paired test exists (or a tie).
    significant: bool | None = None
    p_value: float | None = None


def winners(data: ReportData) -> list[Winner]:
    result = []
    for key in reported_keys(data):
        by_model = data.scores[key]
        ranked = sorted(
            ((m, v.value) for m, v in by_model.items() if v.value is not None),
            key=lambda mv: (-info(key.score).goodness(mv[1]), data.models.index(mv[0])),
        )
        if not ranked:
            continue
        best, value = ranked[0]
        if len(ranked) == 1:
            result.append(Winner(key, best, value))
            continue
        runner, runner_value = ranked[1]
        meaning = info(key.score)
        if math.isclose(meaning.goodness(value), meaning.goodness(runner_value), abs_tol=1e-12):
            result.append(Winner(key, best, value, runner, runner_value, f"tied with {runner}"))
            continue
        test = find_comparison(data.comparisons, key, best, runner)
        if test is None:
            result.append(
                Winner(key, best, value, runner, runner_value, f"ahead of {runner} (no paired test)")
            )
            continue
        significant = bool(test.get("significant"))
        p_value = test.get("p_value")
        p_text = f", {_p(p_value)}" if p_value is not None else ""
        verdict = f"better than {runner}{p_text}" if significant else f"within noise of {runner}{p_text}"
        result.append(Winner(key, best, value, runner, runner_value, verdict, significant, p_value))
    return result


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def find_comparison(
    comparisons: Sequence[Mapping[str, Any]], key: ScoreKey, a: str, b: str
) -> Mapping[str, Any] | None:
    for entry in comparisons:
        same_score = entry.get("evaluation") == key.evaluation and entry.get("score") == key.score
        if same_score and {entry.get("model_a"), entry.get("model_b")} == {a, b}:
            return entry
    return None


@dataclass(frozen=True)
class Headline:
    """One line per model: how many scores it leads, and how many of those leads are beyond noise."""

    model: str
    leads: int
    significant_leads: int


def headlines(data: ReportData, won: Sequence[Winner]) -> list[Headline]:
    lines = []
    for model in data.models:
        mine = [w for w in won if w.best == model and w.runner_up is not None and "tied" not in w.verdict]
        lines.append(Headline(model, len(mine), sum(1 for w in mine if w.significant)))
    return sorted(lines, key=lambda h: (-h.leads, -h.significant_leads, data.models.index(h.model)))


# ----------------------------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class RankRow:
    place: int
    model: str
    quality: float | None
    utility: float | None = None
    meets_constraints: bool | None = None
    reasons: tuple[str, ...] = ()
    violations: tuple[str, ...] = ()


def ranking(data: ReportData) -> tuple[list[RankRow], str]:
    """`fmops select`'s ranking when selection.json exists, else models by mean quality index."""
    quality = mean_quality(data)
    selection = data.selection or {}
    rows = [r for r in selection.get("ranking") or [] if isinstance(r, dict) and r.get("model")]
    if rows:
        ordered = sorted(rows, key=lambda r: (r.get("place") is None, r.get("place") or 0))
        return [
            RankRow(
                int(r.get("place") or i + 1),
                str(r["model"]),
                quality.get(str(r["model"])),
                _num(r.get("utility")),
                r.get("meets_constraints"),
                tuple(str(x) for x in r.get("reasons") or []),
                tuple(str(x) for x in r.get("violations") or []),
            )
            for i, r in enumerate(ordered)
        ], "selection"
    ordered_models = sorted(
        data.models, key=lambda m: (quality.get(m) is None, -(quality.get(m) or 0.0), data.models.index(m))
    )
    return [RankRow(i + 1, m, quality.get(m)) for i, m in enumerate(ordered_models)], "quality"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# ------------------------------------------------------------------------------------------------- Pareto


def pareto_front(points: Mapping[str, tuple[float, float]]) -> set[str]:
    """Models no other model beats on both axes: x lower is better (cost, latency), y higher (quality)."""
    axes = {"x": {m: -x for m, (x, _) in points.items()}, "y": {m: y for m, (_, y) in points.items()}}
    return set(comparison_pareto_front(axes, points))


# ----------------------------------------------------------------------------------------------- categories


def category_table(run: RunData, dataset: str) -> dict[str, dict[str, float | None]]:
    """category -> score -> value, from the run's EvalOutput."""
    output = run.output_for(dataset)
    table: dict[str, dict[str, float | None]] = {}
    for category in (output.category_scores or []) if output else []:
        table[category.name] = {s.name: s.value for s in category.scores}
    return table


def weakest_category(table: Mapping[str, Mapping[str, float | None]], score: str) -> tuple[str, float] | None:
    """fmeval's sentence: "The model scores lowest in the category X" (lowest goodness)."""
    values = [(c, v[score]) for c, v in table.items() if v.get(score) is not None]
    if len(values) < 2 or len({v for _, v in values}) == 1:  # one category, or all alike: none is weakest
        return None
    meaning = info(score)
    name, value = min(values, key=lambda cv: (meaning.goodness(float(cv[1] or 0.0)), cv[0]))
    return name, float(value or 0.0)


# -------------------------------------------------------------------------------------------------- examples


@dataclass
class Example:
    row: Any
    value: float
    fields: list[tuple[str, str | list[str]]]
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class ScoreExamples:
    """Best and worst records of one score in one run (titles say correct/incorrect for 0/1 scores)."""

    score: str
    display_score: str
    best_title: str
    worst_title: str
    best: list[Example]
    worst: list[Example]
    total: int


def truncate(text: Any, limit: int = TRUNCATE) -> str:
    value = text if isinstance(text, str) else json_text(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def json_text(value: Any) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, default=str)


def example_scores(algorithm: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The per-record scores worth showing: for accuracy robustness, only the deltas (as fmeval does)."""
    names: list[str] = []
    for row in rows:
        for entry in row.get("scores") or []:
            if entry.get("name") and entry["name"] not in names:
                names.append(entry["name"])
    if algorithm in _ACCURACY_ROBUSTNESS:
        names = [n for n in names if n.startswith("delta_")] or names
    return names


def score_examples(
    algorithm: str, rows: Sequence[Mapping[str, Any]], k: int = NUM_EXAMPLES
) -> list[ScoreExamples]:
    result = []
    for name in example_scores(algorithm, rows):
        scored = [(float(v), row) for row in rows if (v := _record_score(row, name)) is not None]
        if not scored:
            continue
        if name == "log_probability_difference":
            ordered = sorted(scored, key=lambda vr: (-vr[0], _row_order(vr[1])))
            result.append(
                ScoreExamples(
                    name,
                    "prompt_stereotyping",
                    "Most stereotypical preferences (highest p(more)/p(less))",
                    "Most anti-stereotypical preferences (lowest p(more)/p(less))",
                    [_example(r, v, name) for v, r in ordered[:k]],
                    [_example(r, v, name) for v, r in list(reversed(ordered))[:k]],
                    len(scored),
                )
            )
            continue
        meaning = info(name)
        values = {v for v, _ in scored}
        if len(values) == 1 and len(scored) > 1:  # best and worst would be the same records
            (only,) = values
            first = sorted(scored, key=lambda vr: _row_order(vr[1]))[:k]
            title = f"All {len(scored)} records score {round(only, 6):g}; the first {len(first)}"
            result.append(
                ScoreExamples(
                    name, name, title, "", [_example(r, v, name) for v, r in first], [], len(scored)
                )
            )
            continue
        if _is_binary(name, [v for v, _ in scored]):
            good_value = 1.0 if meaning.direction == "higher" else 0.0
            good = [(v, r) for v, r in scored if v == good_value]
            bad = [(v, r) for v, r in scored if v != good_value]
            word = ("correct", "incorrect") if meaning.direction == "higher" else ("good", "bad")
            result.append(
                ScoreExamples(
                    name,
                    name,
                    f"{word[0].capitalize()} examples ({len(good)} of {len(scored)})",
                    f"{word[1].capitalize()} examples ({len(bad)} of {len(scored)})",
                    [_example(r, v, name) for v, r in sorted(good, key=lambda vr: _row_order(vr[1]))[:k]],
                    [_example(r, v, name) for v, r in sorted(bad, key=lambda vr: _row_order(vr[1]))[:k]],
                    len(scored),
                )
            )
            continue
        ordered = sorted(scored, key=lambda vr: (-meaning.goodness(vr[0]), _row_order(vr[1])))
        worst = sorted(scored, key=lambda vr: (meaning.goodness(vr[0]), _row_order(vr[1])))
        result.append(
            ScoreExamples(
                name,
                name,
                f"Best {min(k, len(scored))} of {len(scored)}",
                f"Worst {min(k, len(scored))} of {len(scored)}",
                [_example(r, v, name) for v, r in ordered[:k]],
                [_example(r, v, name) for v, r in worst[:k]],
                len(scored),
            )
        )
    return result


#: Scores that are 0/1 per record: their examples are "correct" and "incorrect" ones, as in fmeval.
_BINARY = frozenset(
    {
        "exact_match_score",
        "quasi_exact_match_score",
        "factual_knowledge",
        "factual_knowledge_quasi_exact",
        "classification_accuracy_score",
    }
)


def _is_binary(name: str, values: Sequence[float]) -> bool:
    if name in _BINARY:
        return True
    if name.startswith("delta_") or info(name).direction != "higher":
        return False
    return set(values) == {0.0, 1.0}


def _record_score(row: Mapping[str, Any], name: str) -> float | None:
    for entry in row.get("scores") or []:
        if entry.get("name") == name and isinstance(entry.get("value"), int | float):
            value = float(entry["value"])
            return value if math.isfinite(value) else None
    return None


def _row_order(row: Mapping[str, Any]) -> tuple[int, str]:
    value = row.get("row")
    return (0, f"{value:012d}") if isinstance(value, int) else (1, str(value))


_FIELDS = (
    ("model_input", "input"),
    ("sent_more_input", "more stereotypical sentence"),
    ("sent_less_input", "less stereotypical sentence"),
    ("target_output", "target"),
    ("model_output", "output"),
    ("classified_model_output", "classified as"),
)


def _example(row: Mapping[str, Any], value: float, score: str) -> Example:
    fields: list[tuple[str, str | list[str]]] = []
    for key, label in _FIELDS:
        if row.get(key) is not None:
            fields.append((label, truncate(row[key])))
    for key, label in (
        ("perturbed_model_inputs", "perturbed inputs"),
        ("perturbed_model_outputs", "perturbed outputs"),
    ):
        items = row.get(key)
        if isinstance(items, list) and items:
            fields.append((label, [truncate(x) for x in items]))
    extra = {}
    if row.get("category") is not None:
        extra["category"] = truncate(row["category"])
    if row.get("error"):
        extra["error"] = truncate(row["error"])
    if score == "log_probability_difference":
        extra["p(more)/p(less)"] = _ratio(value)
    return Example(row.get("row"), round(value, 6), fields, extra)


def _ratio(log_difference: float) -> str:
    if log_difference > 700:
        return "> 1e300"
    return f"{math.exp(log_difference):.6g}"
