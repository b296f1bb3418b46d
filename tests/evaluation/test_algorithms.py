"""Algorithms over records: configs, per-record scores, aggregation rules (fmeval's means, our error counts)."""

from __future__ import annotations

import pytest

from fmops.core.errors import BadInputError
from fmops.evaluation import ALGORITHMS, get_algorithm
from fmops.evaluation.algorithms import ScoredRecord
from fmops.evaluation.algorithms._base import mean_scores
from fmops.evaluation.scoring import score_dataset


def test_registry_has_the_byo_algorithms_under_fmeval_names() -> None:
    assert {
        "qa_accuracy",
        "factual_knowledge",
        "classification_accuracy",
        "summarization_accuracy",
        "prompt_stereotyping",
    } <= set(ALGORITHMS)


def test_unknown_algorithm_lists_the_available_ones() -> None:
    with pytest.raises(BadInputError, match="available: .*qa_accuracy"):
        get_algorithm("qa_acuracy")


def test_unknown_config_key_is_bad_input_naming_allowed_keys() -> None:
    with pytest.raises(BadInputError, match="unknown config key.*rouge_typ; allowed: .*rouge_type"):
        get_algorithm("summarization_accuracy", {"rouge_typ": "rouge1"})


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("factual_knowledge", {"logical_operator": "XOR"}, "logical_operator"),
        ("factual_knowledge", {"target_output_delimiter": ""}, "target_output_delimiter"),
        ("qa_accuracy", {"target_output_delimiter": ""}, "target_output_delimiter"),
        ("summarization_accuracy", {"rouge_type": "rougeLsum"}, "rouge_type"),
        ("classification_accuracy", {"multiclass_average_strategy": "median"}, "multiclass_average_strategy"),
    ],
)
def test_invalid_config_values_are_bad_input(name: str, options: dict, message: str) -> None:
    with pytest.raises(BadInputError, match=message):
        get_algorithm(name, options)


def test_config_strings_from_the_command_line_are_decoded() -> None:
    algo = get_algorithm(
        "classification_accuracy", {"valid_labels": '["0", "1"]', "multiclass_average_strategy": "macro"}
    )
    assert algo.config.valid_labels == ["0", "1"]
    assert (
        get_algorithm(
            "summarization_accuracy", {"use_stemmer_for_rouge": "false"}
        ).config.use_stemmer_for_rouge
        is False
    )
    assert (
        get_algorithm("qa_accuracy", {"target_output_delimiter": "null"}).config.target_output_delimiter
        is None
    )
    # Non-string labels are cast to str, as fmeval does.
    assert get_algorithm("classification_accuracy", {"valid_labels": "[0, 1]"}).config.valid_labels == [
        "0",
        "1",
    ]


def test_qa_accuracy_scores_max_over_targets() -> None:
    algo = get_algorithm("qa_accuracy")
    [scored] = score_dataset(
        algo, [{"target_output": "Paris<OR>City of Paris", "model_output": "paris", "row": 0}]
    )
    assert scored.scores["quasi_exact_match_score"] == 1.0
    assert scored.scores["exact_match_score"] == 0.0


def test_factual_knowledge_and_operator_takes_the_minimum() -> None:
    record = {"target_output": "Paris<AND>Lyon", "model_output": "Paris and Marseille", "row": 0}
    with_or = get_algorithm("factual_knowledge", {"target_output_delimiter": "<AND>"})
    with_and = get_algorithm(
        "factual_knowledge", {"target_output_delimiter": "<AND>", "logical_operator": "AND"}
    )
    assert score_dataset(with_or, [record])[0].scores["factual_knowledge"] == 1.0
    assert score_dataset(with_and, [record])[0].scores["factual_knowledge"] == 0.0


def test_classification_labels_default_to_the_distinct_targets() -> None:
    records = [
        {"target_output": "1", "model_output": "1", "category": "a", "row": 0},
        {"target_output": "0", "model_output": "I think 0", "category": "a", "row": 1},
        {"target_output": "0", "model_output": "1.", "category": "b", "row": 2},
        {"target_output": "1", "model_output": "positive", "category": "b", "row": 3},
    ]
    algo = get_algorithm("classification_accuracy")
    scored = score_dataset(algo, records)
    assert [s.extras["classified_model_output"] for s in scored] == ["1", "0", "unknown", "unknown"]
    dataset, categories = algo.aggregate(records, scored)
    values = {s.name: s.value for s in dataset}
    assert values["classification_accuracy_score"] == 0.5
    # sklearn over the dataset: y_true 1,0,0,1 vs y_pred 1,0,unknown,unknown -> micro precision = recall = 0.5
    assert values["precision_score"] == pytest.approx(0.5)
    assert values["recall_score"] == pytest.approx(0.5)
    assert values["balanced_accuracy_score"] == pytest.approx(0.5)
    assert [c.name for c in categories] == ["a", "b"]
    assert {s.name: s.value for s in categories[0].scores}["classification_accuracy_score"] == 1.0
    assert {s.name: s.value for s in categories[1].scores}["classification_accuracy_score"] == 0.0


def test_prompt_stereotyping_saves_difference_and_averages_the_sign() -> None:
    records = [
        {"sent_more_log_prob": -1.0, "sent_less_log_prob": -2.0, "category": "x", "row": 0},
        {"sent_more_log_prob": -3.0, "sent_less_log_prob": -2.5, "category": "x", "row": 1},
        {"sent_more_log_prob": -1.0, "sent_less_log_prob": -1.0, "category": "y", "row": 2},
        {"sent_more_log_prob": -0.5, "sent_less_log_prob": -4.0, "category": "y", "row": 3},
    ]
    algo = get_algorithm("prompt_stereotyping")
    scored = score_dataset(algo, records)
    assert [s.scores["log_probability_difference"] for s in scored] == [1.0, -0.5, 0.0, 3.5]
    dataset, categories = algo.aggregate(records, scored)
    assert [(s.name, s.value) for s in dataset] == [("prompt_stereotyping", 0.5)]
    assert [(c.name, c.scores[0].value) for c in categories] == [("x", 0.5), ("y", 0.5)]


def test_missing_scores_are_counted_and_shown_never_silently_averaged() -> None:
    scored = [
        ScoredRecord(scores={"s": 1.0}),
        ScoredRecord(errors={"s": "ValueError: boom"}),
        ScoredRecord(scores={"s": 0.0}),
    ]
    [score] = mean_scores(scored, ["s"])
    assert score.value == 0.5
    assert score.num_errors == 1
    assert "1 of 3 records" in score.error and "boom" in score.error

    [none] = mean_scores([ScoredRecord(errors={"s": "TypeError: x"})], ["s"])
    assert none.value is None and none.num_errors == 1 and "TypeError" in none.error


def test_a_metric_failing_on_one_record_does_not_stop_the_run() -> None:
    algo = get_algorithm("prompt_stereotyping")
    records = [
        {"sent_more_log_prob": "not a number", "sent_less_log_prob": -1.0, "row": 0},
        {"sent_more_log_prob": -1.0, "sent_less_log_prob": -2.0, "row": 1},
    ]
    scored = score_dataset(algo, records)
    assert "ValueError" in scored[0].errors["log_probability_difference"]
    dataset, _ = algo.aggregate(records, scored)
    assert dataset[0].value == 1.0 and dataset[0].num_errors == 1
