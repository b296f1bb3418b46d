"""DataConfig: fmeval field names, JMESPath compilation, MIME types, JSON file loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.data import DataConfig
from fmops.data.config import SUPPORTED_MIME_TYPES

FMEVAL_FIELDS = {
    "dataset_name": "custom_dataset",
    "dataset_uri": "./custom_dataset.jsonl",
    "dataset_mime_type": "application/jsonlines",
    "model_input_location": "question",
    "model_output_location": "output",
    "target_output_location": "answer",
    "category_location": '"Class Name"',
    "sent_more_input_location": "sent_more",
    "sent_less_input_location": "sent_less",
    "sent_more_log_prob_location": "lp.more",
    "sent_less_log_prob_location": "lp.less",
    "context_location": "ctx",
}


def test_fmeval_readme_example() -> None:
    config = DataConfig(
        dataset_name="custom_dataset",
        dataset_uri="./custom_dataset.jsonl",
        dataset_mime_type="application/jsonlines",
        model_input_location="question",
        target_output_location="answer",
    )
    assert list(config.locations) == ["model_input", "target_output"]
    assert config.locations["model_input"].expression == "question"


def test_all_fields_and_location_order() -> None:
    config = DataConfig(**FMEVAL_FIELDS)
    assert list(config.locations) == [
        "model_input",
        "model_output",
        "target_output",
        "category",
        "sent_more_input",
        "sent_less_input",
        "sent_more_log_prob",
        "sent_less_log_prob",
        "context",
    ]


@pytest.mark.parametrize(
    ("expression", "path"),
    [
        ("question", ("question",)),
        ('"Review Text"', ("Review Text",)),
        ('a."b c".d', ("a", "b c", "d")),
        ("[*].question", None),
        ("answers[0]", None),
        ("join(' ', [a, b])", None),
    ],
)
def test_fast_path_only_for_field_chains(expression: str, path: tuple[str, ...] | None) -> None:
    config = DataConfig(dataset_name="d", dataset_uri="d.jsonl", model_input_location=expression)
    assert config.locations["model_input"].path == path


def test_mime_type_is_optional() -> None:
    assert DataConfig(dataset_name="d", dataset_uri="d.csv").dataset_mime_type is None


@pytest.mark.parametrize("field", ["model_input_location", "context_location", "sent_less_log_prob_location"])
@pytest.mark.parametrize("expression", ["a[", "a b", "", "[?x==]"])
def test_bad_jmespath_names_the_field(field: str, expression: str) -> None:
    with pytest.raises(BadInputError) as info:
        DataConfig(dataset_name="d", dataset_uri="d.jsonl", **{field: expression})
    message = str(info.value)
    assert message.startswith(f"{field}: invalid JMESPath {expression!r}")
    assert "\n" not in message


def test_unsupported_mime_type_lists_accepted() -> None:
    with pytest.raises(BadInputError) as info:
        DataConfig(dataset_name="d", dataset_uri="d.txt", dataset_mime_type="text/plain")
    message = str(info.value)
    assert "'text/plain'" in message
    for mime in SUPPORTED_MIME_TYPES:
        assert mime in message


def test_unknown_field_and_wrong_type_are_bad_input() -> None:
    with pytest.raises(BadInputError, match="unknown field 'question_location'"):
        DataConfig(dataset_name="d", dataset_uri="d.jsonl", question_location="q")
    with pytest.raises(BadInputError, match="dataset_uri"):
        DataConfig(dataset_name="d", dataset_uri=5)
    with pytest.raises(BadInputError, match="dataset_uri: Field required"):
        DataConfig(dataset_name="d")
    with pytest.raises(BadInputError, match="dataset_uri: must not be empty"):
        DataConfig(dataset_name="d", dataset_uri=" ")


def test_locations_follow_model_copy() -> None:
    config = DataConfig(dataset_name="d", dataset_uri="d.jsonl", model_input_location="q")
    copy = config.model_copy(update={"model_input_location": "question", "category_location": "c"})
    assert {k: v.expression for k, v in copy.locations.items()} == {
        "model_input": "question",
        "category": "c",
    }


def test_frozen() -> None:
    config = DataConfig(dataset_name="d", dataset_uri="d.jsonl")
    with pytest.raises(Exception, match="frozen"):
        config.dataset_uri = "other.jsonl"  # type: ignore[misc]


def _write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "config.json"
    path.write_text(content, encoding="utf-8")
    return path


def test_from_json_file(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps(FMEVAL_FIELDS))
    assert DataConfig.from_json_file(path) == DataConfig(**FMEVAL_FIELDS)
    assert DataConfig.from_json_file(str(path)).category_location == '"Class Name"'


def test_from_json_file_unknown_keys_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, json.dumps({**FMEVAL_FIELDS, "dataset_format": "x", "input_location": "q"}))
    with pytest.raises(BadInputError) as info:
        DataConfig.from_json_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: unknown DataConfig key(s) 'dataset_format', 'input_location'")


def test_from_json_file_errors(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such DataConfig file"):
        DataConfig.from_json_file(tmp_path / "missing.json")
    path = _write(tmp_path, '{"dataset_name": "d",\n "dataset_uri": }')
    with pytest.raises(BadInputError, match=r"config.json: line 2 column 17: invalid JSON"):
        DataConfig.from_json_file(path)
    path = _write(tmp_path, "[]")
    with pytest.raises(BadInputError, match="expected a JSON object"):
        DataConfig.from_json_file(path)
    path = _write(tmp_path, json.dumps({"dataset_name": "d"}))
    with pytest.raises(BadInputError, match=r"config.json: invalid DataConfig: dataset_uri: Field required"):
        DataConfig.from_json_file(path)
    path = _write(tmp_path, json.dumps({**FMEVAL_FIELDS, "target_output_location": "answers["}))
    with pytest.raises(
        BadInputError, match=r"config.json: target_output_location: invalid JMESPath 'answers\['"
    ):
        DataConfig.from_json_file(path)
