"""Ranking by priorities under constraints, Pareto fronts, reasons and the errors that come first."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from fmops.core.errors import BadInputError
from fmops.selection import parse_constraint, parse_priorities, parse_request, select_models
from tests.selection.helpers import make_comparison


def _select(text: str, comparison: dict[str, Any] | None = None) -> Any:
    priorities, constraints = parse_request(text)
    return select_models(comparison or make_comparison(), priorities, constraints)


def _places(selection: Any) -> list[str]:
    return [r.model for r in selection.ranking]


def test_cost_first_under_latency_and_knowledge_constraints() -> None:
    selection = _select("P0 cost, P1 precision_score, latency p95 < 2 s, factual_knowledge >= 0.6")
    assert selection.selected == "zoo/small"
    assert _places(selection) == ["zoo/small", "api/mid", "zoo/tiny", "api/big"]
    by_model = {r.model: r for r in selection.ranking}
    assert by_model["zoo/small"].meets_constraints and by_model["api/mid"].meets_constraints
    assert by_model["zoo/tiny"].violations == ["mean factual_knowledge of 2 evaluations 0.50, needs >= 0.60"]
    assert by_model["api/big"].violations == ["latency p95 2.50 s, needs < 2.00 s"]
    assert [r.place for r in selection.ranking] == [1, 2, 3, 4]
    assert [(p.metric, p.as_written, p.rank) for p in selection.priorities] == [
        ("cost_per_1k_records", "cost", 0),
        ("precision_score", "precision_score", 1),
    ]
    assert [p.weight for p in selection.priorities] == pytest.approx([2 / 3, 1 / 3], abs=1e-6)
    assert [(c.metric, c.op, c.value) for c in selection.constraints] == [
        ("latency_p95_s", "<", 2.0),
        ("factual_knowledge", ">=", 0.6),
    ]


def test_reasons_say_what_each_model_wins_and_loses_on_with_values() -> None:
    selection = _select("P0 cost, P1 precision_score")
    reasons = {r.model: r.reasons for r in selection.ranking}
    assert "lowest cost (0.006 per 1K records)" in reasons["zoo/tiny"]
    assert "precision_score 0.68 (worst of 4; best api/big 0.90)" in reasons["zoo/tiny"]
    assert "highest precision_score (0.90)" in reasons["api/big"]
    assert "cost 0.024 per 1K records (2nd of 4; best zoo/tiny 0.006)" in reasons["zoo/small"]


def test_within_noise_differences_are_mentioned() -> None:
    selection = _select("P0 precision_score, P1 cost")
    small = next(r for r in selection.ranking if r.model == "zoo/small")
    assert "precision_score tie with api/mid (within noise)" in small.reasons
    big = next(r for r in selection.ranking if r.model == "api/big")
    assert not any("within noise" in reason for reason in big.reasons)


def test_lower_is_better_metrics_rank_the_right_way() -> None:
    assert _places(_select("latency"))[0] == "zoo/tiny"
    assert _places(_select("latency_p50"))[-1] == "api/big"
    assert _places(_select("throughput"))[0] == "zoo/tiny"
    assert _places(_select("toxicity"))[:2] == ["api/big", "zoo/small"]
    assert _places(_select("factual_knowledge"))[0] == "api/big"


def test_a_bare_score_in_several_evaluations_is_their_mean_and_can_be_qualified() -> None:
    selection = _select("factual_knowledge")
    big = selection.ranking[0]
    assert big.values["factual_knowledge"] == pytest.approx(0.89)
    trex = _select("factual_knowledge/world_trex:factual_knowledge")
    assert trex.ranking[0].values == {"factual_knowledge/world_trex:factual_knowledge": 0.90}
    by_dataset = _select("world_more:factual_knowledge")
    assert by_dataset.priorities[0].metric == "factual_knowledge/world_more:factual_knowledge"
    assert by_dataset.ranking[0].values[by_dataset.priorities[0].metric] == 0.88


def test_synonyms_resolve_only_when_unambiguous() -> None:
    assert _select("accuracy").priorities[0].metric == "classification_accuracy_score"
    assert _select("f1").priorities[0].metric == "f1_score"
    with pytest.raises(BadInputError, match="precision_score or precision_over_words"):
        _select("precision")
    only_qa = make_comparison()
    only_qa["scores"] = [s for s in only_qa["scores"] if s["score"] != "precision_score"]
    assert _select("precision", only_qa).priorities[0].metric == "precision_over_words"


def test_a_missing_metric_fails_first_naming_it_and_listing_the_available_ones() -> None:
    with pytest.raises(BadInputError) as caught:
        _select("cost, bleu")
    message = str(caught.value)
    assert "'bleu'" in message and "available metrics:" in message
    for name in ("cost", "latency", "factual_knowledge", "precision_score", "f1_score"):
        assert name in message
    with pytest.raises(BadInputError, match="'halucination_rate'"):
        _select("cost, halucination_rate < 0.1")
    with pytest.raises(BadInputError, match="did you mean precision_score"):
        _select("precison_score")


def test_a_metric_without_values_is_missing_too() -> None:
    comparison = make_comparison()
    for row in comparison["performance"]:
        row["cost_per_1k_records"] = None
    with pytest.raises(BadInputError, match="no value for any model.*no prices"):
        _select("cost", comparison)


def test_units_must_fit_the_metric() -> None:
    with pytest.raises(BadInputError, match="a time"):
        _select("cost, cost < 2s")
    with pytest.raises(BadInputError, match="money"):
        _select("cost, latency < $2")
    assert _select("cost, latency < 2500ms").selected == "zoo/tiny"


def test_direction_words_must_agree_with_known_metrics_and_teach_unknown_ones() -> None:
    assert _select("P0 lower cost").selected == "zoo/tiny"
    with pytest.raises(BadInputError, match="lower-is-better"):
        _select("P0 higher cost")
    comparison = make_comparison()
    for row in comparison["scores"]:
        if row["score"] == "exact_match_score":
            row["score"], row["direction"] = "house_error_rate", "higher"
    assert _select("house_error_rate", comparison).selected == "api/big"
    assert _select("lower house_error_rate", comparison).selected == "zoo/tiny"


def test_same_metric_twice_under_two_names_is_refused() -> None:
    with pytest.raises(BadInputError, match="same metric"):
        _select("latency, latency_p95")


def test_when_no_model_meets_the_constraints_the_explanation_says_who_was_excluded_and_the_closest() -> None:
    selection = _select("factual_knowledge, latency p95 < 100ms, factual_knowledge >= 0.6")
    assert selection.selected is None
    assert not any(r.meets_constraints for r in selection.ranking)
    text = selection.explanation
    assert text.startswith("No model meets all the constraints.")
    assert "'latency_p95 < 0.1 s' excludes" in text and "api/big (2.50 s)" in text
    assert "'factual_knowledge >= 0.6' excludes zoo/tiny (0.50)" in text
    assert "Closest: zoo/tiny" in text


def test_the_explanation_names_the_winner_runner_up_and_exclusions() -> None:
    text = _select("P0 cost, P1 precision_score, latency p95 < 2 s, factual_knowledge >= 0.6").explanation
    assert text.startswith("zoo/small ranks first of the 2 models that meet the constraints")
    assert "Runner-up: api/mid" in text and "within noise" in text
    assert "Excluded by the constraints: zoo/tiny" in text
    assert "Pareto front (quality, latency p95, cost): zoo/tiny, zoo/small, api/big." in text


def test_pareto_front_of_quality_latency_and_cost() -> None:
    selection = _select("factual_knowledge")
    assert selection.pareto_axes == ["quality", "latency_p95_s", "cost_per_1k_records"]
    assert selection.pareto_front == ["zoo/tiny", "zoo/small", "api/big"]  # api/mid is dominated by zoo/small
    # with no quality priority, quality is every score: api/mid is still dominated
    assert _select("cost").pareto_front == ["zoo/tiny", "zoo/small", "api/big"]


def test_an_unmeasured_value_counts_as_worst_and_breaks_a_constraint() -> None:
    comparison = copy.deepcopy(make_comparison())
    comparison["performance"][0]["latency_p95_s"] = None  # zoo/tiny
    selection = _select("latency, latency < 2s", comparison)
    tiny = next(r for r in selection.ranking if r.model == "zoo/tiny")
    assert "no latency p95 value (counted as worst)" in tiny.reasons
    assert tiny.violations == ["latency p95 not measured, needs < 2.00 s"]
    assert selection.selected == "zoo/small"


def test_explicit_weights_change_the_winner() -> None:
    assert _select("cost=0.99, factual_knowledge=0.01").selected == "zoo/tiny"
    assert _select("cost=0.1, factual_knowledge=0.9").selected == "api/big"


def test_selection_json_matches_the_documented_shape() -> None:
    data = select_models(
        make_comparison(),
        parse_priorities(["cost", "factual_knowledge"]),
        [parse_constraint("latency_p95_s < 2")],
    ).model_dump(mode="json")
    assert set(data) >= {
        "priorities",
        "constraints",
        "ranking",
        "pareto_front",
        "pareto_axes",
        "selected",
        "explanation",
    }
    assert set(data["priorities"][0]) >= {"rank", "metric", "weight"}
    assert data["constraints"][0] == {
        "metric": "latency_p95_s",
        "op": "<",
        "value": 2.0,
        "as_written": "latency_p95_s < 2.0",
    }
    assert set(data["ranking"][0]) >= {
        "model",
        "place",
        "utility",
        "meets_constraints",
        "violations",
        "reasons",
    }


def test_a_comparison_without_models_is_bad_input() -> None:
    with pytest.raises(BadInputError, match="no models"):
        select_models({"models": [], "scores": [], "performance": []}, parse_priorities("cost"), [])
