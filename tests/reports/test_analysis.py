"""The numbers behind the summary: quality index, Pareto fronts, winners, best and worst examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmops.reports import _analysis as analysis
from fmops.reports._data import ReportData, ScoreKey, ScoreValue, load_report_data
from tests.reports._fixtures import XSS_MODEL


def _data(scores: dict[ScoreKey, dict[str, float]], comparisons: list[dict] | None = None) -> ReportData:
    models = list(dict.fromkeys(m for by in scores.values() for m in by))
    return ReportData(
        kind="comparison",
        source=Path("."),
        name="t",
        created_at=None,
        fmops_version=None,
        models=models,
        model_info={},
        evaluations=list(dict.fromkeys(k.evaluation for k in scores)),
        algorithms={},
        scores={k: {m: ScoreValue(v) for m, v in by.items()} for k, by in scores.items()},
        performance={},
        comparisons=comparisons or [],
        selection=None,
        runs={},
    )


def test_quality_index_maps_every_direction_to_one_is_best() -> None:
    data = _data(
        {
            ScoreKey("e", "d", "f1_score"): {"a": 0.8, "b": 0.4},
            ScoreKey("e", "d", "toxicity"): {"a": 0.2, "b": 0.0},
            ScoreKey("s", "d", "prompt_stereotyping"): {"a": 0.5, "b": 0.75},
            ScoreKey("g", "d", "word_error_rate"): {"a": 1.5, "b": 0.5},
        }
    )
    index = analysis.quality_index(data)
    assert index[ScoreKey("e", "d", "f1_score")] == {"a": 0.8, "b": 0.4}
    assert index[ScoreKey("e", "d", "toxicity")] == pytest.approx({"a": 0.8, "b": 1.0})
    assert index[ScoreKey("s", "d", "prompt_stereotyping")] == pytest.approx({"a": 1.0, "b": 0.5})
    # Unbounded (WER > 1): scaled between the models' worst and best.
    assert index[ScoreKey("g", "d", "word_error_rate")] == {"a": 0.0, "b": 1.0}
    assert analysis.mean_quality(data) == pytest.approx({"a": 0.65, "b": 0.725})


def test_pareto_front() -> None:
    points = {"cheap": (1.0, 0.5), "twin": (1.0, 0.5), "best": (3.0, 0.9), "dominated": (2.0, 0.4)}
    assert analysis.pareto_front(points) == {"cheap", "twin", "best"}
    assert analysis.pareto_front({"only": (1.0, 1.0)}) == {"only"}


def test_winners_use_paired_verdicts() -> None:
    key, tie = ScoreKey("e", "d", "f1_score"), ScoreKey("s", "d", "prompt_stereotyping")
    data = _data(
        {key: {"a": 0.5, "b": 0.7, "c": 0.1}, tie: {"a": 0.4, "b": 0.6}},
        [
            {
                "evaluation": "e",
                "score": "f1_score",
                "model_a": "a",
                "model_b": "b",
                "p_value": 0.3,
                "significant": False,
            }
        ],
    )
    won = {w.key: w for w in analysis.winners(data)}
    assert (won[key].best, won[key].runner_up, won[key].significant) == ("b", "a", False)
    assert won[key].verdict == "within noise of a, p = 0.300"
    assert won[tie].verdict.startswith("tied with")  # 0.4 and 0.6 are equally far from the ideal 0.5
    assert analysis.unique_best("prompt_stereotyping", {"a": 0.4, "b": 0.6}) is None
    assert analysis.unique_best("f1_score", {"a": 0.4, "b": 0.6}) == "b"


def test_winners_on_the_fixture(comparison_dir: Path) -> None:
    data = load_report_data(comparison_dir)
    won = {(w.key.evaluation, w.key.score): w for w in analysis.winners(data)}
    f1 = won[("qa_accuracy/capitals", "f1_score")]
    assert f1.best == XSS_MODEL and f1.significant is True
    # Accuracy-robustness runs speak through their deltas only.
    assert ("qa_accuracy_semantic_robustness/capitals", "f1_score") not in won
    assert ("qa_accuracy_semantic_robustness/capitals", "delta_f1_score") in won
    ranking, source = analysis.ranking(data)
    assert source == "selection" and ranking[0].model == "echo/hint"


def _rows(values: list[float], name: str = "f1_score") -> list[dict]:
    return [
        {
            "row": i,
            "model_input": f"q{i} " + "x" * 300,
            "model_output": f"o{i}",
            "scores": [{"name": name, "value": v}],
        }
        for i, v in enumerate(values)
    ]


def test_examples_top_and_bottom_five() -> None:
    values = [0.1, 0.9, 0.5, 0.3, 0.7, 0.2, 0.8, 0.4, 0.6, 0.0, 1.0, 0.55]
    (f1,) = analysis.score_examples("qa_accuracy", _rows(values))
    assert [e.value for e in f1.best] == [1.0, 0.9, 0.8, 0.7, 0.6]
    assert [e.value for e in f1.worst] == [0.0, 0.1, 0.2, 0.3, 0.4]
    text = dict(f1.best[0].fields)["input"]
    assert isinstance(text, str) and len(text) == analysis.TRUNCATE and text.endswith("…")


def test_binary_and_lower_is_better_examples() -> None:
    (em,) = analysis.score_examples("qa_accuracy", _rows([1, 0, 0, 1, 1], "exact_match_score"))
    assert em.best_title == "Correct examples (3 of 5)" and [e.row for e in em.worst] == [1, 2]
    (delta,) = analysis.score_examples("x", _rows([0.3, 0.0, 0.1], "delta_f1_score"))
    assert [e.value for e in delta.best] == [0.0, 0.1, 0.3]  # lower is better
    (same,) = analysis.score_examples("x", _rows([0.0, 0.0, 0.0]))
    assert same.worst == [] and same.best_title.startswith("All 3 records score 0")


def test_stereotyping_examples_show_the_probability_ratio() -> None:
    rows = [
        {
            "row": i,
            "sent_more_input": f"m{i}",
            "sent_less_input": f"l{i}",
            "scores": [{"name": "log_probability_difference", "value": d}],
        }
        for i, d in enumerate([-1.0, 2.0, 0.0])
    ]
    (stereo,) = analysis.score_examples("prompt_stereotyping", rows)
    assert stereo.display_score == "prompt_stereotyping"
    assert stereo.best[0].row == 1 and stereo.best[0].extra["p(more)/p(less)"] == "7.38906"
    assert stereo.worst[0].row == 0
