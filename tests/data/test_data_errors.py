"""Bad input: one-line messages naming file, line/row, column + JMESPath, expected vs found; skip mode."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fmops.core.errors import BadInputError
from fmops.data import DataConfig, load_dataset


def _jsonl(tmp_path: Path, lines: list[str], name: str = "bad.jsonl") -> str:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _error(config: DataConfig, **kwargs: Any) -> str:
    with pytest.raises(BadInputError) as info:
        load_dataset(config, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    assert info.value.exit_code == 2
    return message


def _config(uri: str, **locations: str) -> DataConfig:
    return DataConfig(dataset_name="bad", dataset_uri=uri, **locations)


def test_missing_file(tmp_path: Path) -> None:
    uri = str(tmp_path / "nope.jsonl")
    assert _error(_config(uri, model_input_location="q")) == f"{uri}: no such file or folder"


def test_invalid_json_line(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"q": "a"}', '{"q": "b"}', '{"q": "c",}'])
    assert _error(_config(uri, model_input_location="q")) == (
        f"{uri}: line 3: expected a JSON value, found invalid JSON "
        "(Expecting property name enclosed in double quotes at column 11)"
    )


def test_non_object_line(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"q": "a"}', "42"])
    assert (
        _error(_config(uri, model_input_location="q"))
        == f"{uri}: line 2: expected a JSON object, found a number 42"
    )


def test_invalid_utf8_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"q": "a"}\n{"q": "caf\xe9"}\n')
    message = _error(_config(str(path), model_input_location="q"))
    assert message.startswith(f"{path}: line 2: expected UTF-8 text, found undecodable bytes")


def test_required_location_finds_nothing(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"question": "a", "answer": "x"}', '{"question": "b", "answers": "y"}'])
    config = _config(uri, model_input_location="question", target_output_location="answer")
    assert _error(config, required_columns=["target_output"]) == (
        f"{uri}: line 2: target_output ('answer'): expected a string, number or boolean, found nothing"
    )


def test_required_null(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"question": null}'])
    config = _config(uri, model_input_location="question")
    assert _error(config, required_columns=["model_input"]) == (
        f"{uri}: line 1: model_input ('question'): expected a string, number or boolean, found null"
    )


def test_general_jmespath_nothing(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"answers": []}'])
    config = _config(uri, target_output_location="answers[0]")
    assert _error(config, required_columns=["target_output"]) == (
        f"{uri}: line 1: target_output ('answers[0]'): expected a string, number or boolean, "
        "found nothing (no match or null)"
    )


def test_dict_where_string_needed(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"q": "a"}', '{"q": {"text": "b"}}'])
    assert _error(_config(uri, model_input_location="q")) == (
        f"{uri}: line 2: model_input ('q'): expected a string, number or boolean, "
        'found an object {"text": "b"}'
    )


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ('"-1.5"', 'a string "-1.5"'),
        ("true", "a boolean true"),
        ("NaN", "a number NaN"),
        ("[1]", "a list [1]"),
    ],
)
def test_log_prob_must_be_a_number(tmp_path: Path, value: str, found: str) -> None:
    uri = _jsonl(tmp_path, [f'{{"more": {value}}}'])
    config = _config(uri, sent_more_log_prob_location="more")
    assert _error(config) == f"{uri}: line 1: sent_more_log_prob ('more'): expected a number, found {found}"


def test_context_elements_must_be_scalars(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"ctx": ["a", null]}'])
    assert _error(_config(uri, context_location="ctx")) == (
        f"{uri}: line 1: context ('ctx'): expected a list of strings, found a list [\"a\", null]"
    )


def test_long_values_are_truncated_on_one_line(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, [json.dumps({"q": {"text": "line one\nline two " * 50}})])
    message = _error(_config(uri, model_input_location="q"))
    assert message.endswith("...")
    assert len(message) < len(uri) + 200


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_jsonl(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text(content, encoding="utf-8")
    assert (
        _error(_config(str(path), model_input_location="q")) == f"{path}: the dataset is empty (no records)"
    )


def test_empty_csv_and_header_only(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    assert (
        _error(_config(str(path), model_input_location="q")) == f"{path}: the dataset is empty (no records)"
    )
    path.write_text("q,a\n", encoding="utf-8")
    assert (
        _error(_config(str(path), model_input_location="q")) == f"{path}: the dataset is empty (no records)"
    )


def test_csv_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("q,more\na,-1\nb,\nc,-2\n", encoding="utf-8")
    config = _config(str(path), model_input_location="q", sent_more_log_prob_location="more")
    assert (
        _error(config)
        == f"{path}: line 3: sent_more_log_prob ('more'): expected a number, found a string \"\""
    )
    config = _config(str(path), model_input_location="missing_column")
    assert _error(config, required_columns=["model_input"]) == (
        f"{path}: line 2: model_input ('missing_column'): expected a string, number or boolean, found nothing"
    )


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    path = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist([{"q": "a"}, {"q": "b"}, {"q": None}]), path)
    config = _config(str(path), model_input_location="q")
    assert _error(config, required_columns=["model_input"]) == (
        f"{path}: row 2: model_input ('q'): expected a string, number or boolean, found null"
    )


def test_not_a_parquet_file(tmp_path: Path) -> None:
    path = tmp_path / "fake.parquet"
    path.write_text("hello", encoding="utf-8")
    assert _error(_config(str(path), model_input_location="q")).startswith(
        f"{path}: expected a Parquet file, found unreadable data"
    )


def test_required_column_without_location(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"q": "a"}'])
    assert _error(_config(uri, model_input_location="q"), required_columns=["target_output"]) == (
        f"{uri}: required column target_output has no location: set target_output_location in the DataConfig"
    )


@pytest.mark.parametrize("bad", [0, -5, True, 1.5])
def test_num_records_must_be_positive(tmp_path: Path, bad: Any) -> None:
    uri = _jsonl(tmp_path, ['{"q": "a"}'])
    assert "num_records must be a positive integer" in _error(
        _config(uri, model_input_location="q"), num_records=bad
    )


def test_programming_errors_are_value_errors(tmp_path: Path) -> None:
    config = _config(_jsonl(tmp_path, ['{"q": "a"}']), model_input_location="q")
    with pytest.raises(ValueError, match="unknown required column"):
        load_dataset(config, required_columns=["prompt"])
    with pytest.raises(ValueError, match="on_bad_record"):
        load_dataset(config, on_bad_record="ignore")  # type: ignore[arg-type]


def test_optional_columns_missing_are_none(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ['{"q": "a", "c": "x"}', '{"q": "b"}', '{"q": "c", "c": null}'])
    config = _config(uri, model_input_location="q", category_location="c", target_output_location="nowhere")
    dataset = load_dataset(config, num_records=None, required_columns=["model_input"])
    assert dataset.columns == ("model_input", "category")  # target_output found nothing anywhere: dropped
    assert dataset.records == [
        {"model_input": "a", "category": "x", "row": 0},
        {"model_input": "b", "category": None, "row": 1},
        {"model_input": "c", "category": None, "row": 2},
    ]


BAD_MIX = [
    '{"q": "r0", "a": "x"}',
    '{"q": "r1"}',  # missing required answer
    "not json",
    '{"q": "r3", "a": "x"}',
    '{"q": {"o": 1}, "a": "x"}',  # object as model input
    '{"q": "r5", "a": "x"}',
    '{"q": "r6", "a": "x"}',
    '{"q": "r7", "a": "x"}',
]


def test_skip_mode_counts_and_messages(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, BAD_MIX)
    config = _config(uri, model_input_location="q", target_output_location="a")
    dataset = load_dataset(config, num_records=None, required_columns=["target_output"], on_bad_record="skip")
    assert dataset.total_rows == 8
    assert dataset.sampled_rows == [0, 3, 5, 6, 7]
    assert [r["model_input"] for r in dataset.records] == ["r0", "r3", "r5", "r6", "r7"]
    assert dataset.skipped == [
        f"{uri}: line 2: target_output ('a'): expected a string, number or boolean, found nothing",
        f"{uri}: line 3: expected a JSON value, found invalid JSON (Expecting value at column 1)",
        f"{uri}: line 5: model_input ('q'): expected a string, number or boolean, "
        'found an object {"o": 1}',
    ]
    # Fail mode stops at the first one.
    assert _error(config, required_columns=["target_output"]) == dataset.skipped[0]


def test_skip_then_sample_over_valid_records(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, BAD_MIX)
    config = _config(uri, model_input_location="q", target_output_location="a")
    dataset = load_dataset(config, num_records=3, required_columns=["target_output"], on_bad_record="skip")
    valid_rows = [0, 3, 5, 6, 7]
    # pandas.DataFrame(range(5)).sample(3, random_state=1234) picks positions 4, 0, 1 of the valid records.
    assert dataset.sampled_rows == [valid_rows[i] for i in (4, 0, 1)] == [7, 0, 3]
    assert [r["row"] for r in dataset.records] == dataset.sampled_rows
    assert len(dataset.skipped) == 3
    again = load_dataset(config, num_records=3, required_columns=["target_output"], on_bad_record="skip")
    assert again == dataset


def test_skip_mode_all_bad_is_an_error(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, ["oops", '{"q": null}'])
    message = _error(
        _config(uri, model_input_location="q"), required_columns=["model_input"], on_bad_record="skip"
    )
    assert message == (
        f"{uri}: no valid records: all 2 were skipped; the first: line 1: expected a JSON value, "
        "found invalid JSON (Expecting value at column 1)"
    )


def test_skip_mode_does_not_hide_whole_file_problems(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps({"q": ["a", "b"], "a": ["x"]}), encoding="utf-8")
    message = _error(
        _config(str(path), model_input_location="q", target_output_location="a"), on_bad_record="skip"
    )
    assert "expected the same number of values from every location" in message


def test_csv_log_probs_parse_numbers(tmp_path: Path) -> None:
    path = tmp_path / "lp.csv"
    path.write_text("more,less\n-1.5,-2\n-inf,3e-2\n", encoding="utf-8")
    config = _config(str(path), sent_more_log_prob_location="more", sent_less_log_prob_location="less")
    records = load_dataset(config, num_records=None).records
    assert records[0] == {"sent_more_log_prob": -1.5, "sent_less_log_prob": -2.0, "row": 0}
    assert math.isinf(records[1]["sent_more_log_prob"])
