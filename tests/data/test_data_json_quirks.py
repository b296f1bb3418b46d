"""fmeval's JSON / JSON Lines semantics and str() casting (expectations observed with fmeval 1.2.3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fmops.core.errors import BadInputError
from fmops.data import DataConfig, load_dataset

OBSERVED = json.loads(
    (Path(__file__).parent / "fixtures" / "fmeval_observed.json").read_text(encoding="utf-8")
)


def _jsonl(tmp_path: Path, lines: list[Any], name: str = "d.jsonl") -> str:
    path = tmp_path / name
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return str(path)


def _json(tmp_path: Path, doc: Any, name: str = "d.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return str(path)


def test_jsonl_casting_matches_fmeval(tmp_path: Path) -> None:
    values = OBSERVED["cast_values"]
    uri = _jsonl(tmp_path, [{"q": v, "i": i, "ctx": [v, "x"]} for i, v in enumerate(values)])
    config = DataConfig(
        dataset_name="c",
        dataset_uri=uri,
        model_input_location="q",
        target_output_location="i",
        context_location="ctx",
    )
    records = load_dataset(config, num_records=None).records
    assert [r["model_input"] for r in records] == OBSERVED["cast_strings"]
    assert [r["target_output"] for r in records] == [str(i) for i in range(len(values))]
    assert [r["context"] for r in records] == [[s, "x"] for s in OBSERVED["cast_strings"]]


def test_json_object_of_arrays_casting_matches_fmeval(tmp_path: Path) -> None:
    values = OBSERVED["cast_values"]
    uri = _json(tmp_path, {"data": {"q": values, "ctx": [[v] for v in values]}})
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="data.q", context_location="data.ctx"
    )
    records = load_dataset(config, num_records=None).records
    assert [r["model_input"] for r in records] == OBSERVED["cast_strings"]
    assert [r["context"] for r in records] == [[s] for s in OBSERVED["cast_strings"]]


def test_json_list_of_objects_sample_matches_fmeval(tmp_path: Path) -> None:
    values = OBSERVED["cast_values"]
    uri = _json(tmp_path, [{"q": v, "a": str(i)} for i, v in enumerate(values)])
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="[*].q", target_output_location="[*].a"
    )
    dataset = load_dataset(config, num_records=5)
    expected = OBSERVED["json_list_of_objects_num_records_5"]
    assert [r["model_input"] for r in dataset.records] == expected["model_input"]
    assert [r["target_output"] for r in dataset.records] == expected["target_output"]


def test_log_probs_stay_numbers(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, [{"m": "a", "l": "b", "pm": -1, "pl": -2.5}])
    config = DataConfig(
        dataset_name="c",
        dataset_uri=uri,
        sent_more_input_location="m",
        sent_less_input_location="l",
        sent_more_log_prob_location="pm",
        sent_less_log_prob_location="pl",
    )
    record = load_dataset(config).records[0]
    assert record == {
        "sent_more_input": "a",
        "sent_less_input": "b",
        "sent_more_log_prob": -1.0,
        "sent_less_log_prob": -2.5,
        "row": 0,
    }
    assert type(record["sent_more_log_prob"]) is float


def test_general_jmespath_expressions(tmp_path: Path) -> None:
    uri = _jsonl(
        tmp_path, [{"a": "x", "b": "y", "answers": ["p", "q"]}, {"a": "z", "b": "w", "answers": ["r"]}]
    )
    config = DataConfig(
        dataset_name="c",
        dataset_uri=uri,
        model_input_location="join(' ', [a, b])",
        target_output_location="join('<OR>', answers)",
        category_location="answers[0]",
    )
    assert load_dataset(config, num_records=None).records == [
        {"model_input": "x y", "target_output": "p<OR>q", "category": "p", "row": 0},
        {"model_input": "z w", "target_output": "r", "category": "r", "row": 1},
    ]


def test_jsonl_blank_lines_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "messy.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"q": "a"}\r\n\r\n   \n{"q": "b"}\r\n{"q": 1}\n\n')
    dataset = load_dataset(
        DataConfig(dataset_name="c", dataset_uri=str(path), model_input_location="q"), num_records=None
    )
    assert dataset.records == [
        {"model_input": "a", "row": 0},
        {"model_input": "b", "row": 1},
        {"model_input": "1", "row": 2},
    ]
    assert dataset.total_rows == 3
    # A bad record after the blank lines is reported by its physical line.
    path.write_bytes(b'{"q": "a"}\n\n\n{"q": null}\n')
    with pytest.raises(
        BadInputError, match=r"messy.jsonl: line 4: model_input \('q'\): expected .*, found null"
    ):
        load_dataset(
            DataConfig(dataset_name="c", dataset_uri=str(path), model_input_location="q"),
            required_columns=["model_input"],
        )


def test_jsonl_lists_only_for_context(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, [{"q": ["a", "b"], "ctx": "not a list"}])
    with pytest.raises(
        BadInputError,
        match=r"line 1: model_input \('q'\): expected a string, number or boolean, found a list",
    ):
        load_dataset(DataConfig(dataset_name="c", dataset_uri=uri, model_input_location="q"))
    with pytest.raises(
        BadInputError, match=r"line 1: context \('ctx'\): expected a list of strings, found a string"
    ):
        load_dataset(DataConfig(dataset_name="c", dataset_uri=uri, context_location="ctx"))


def test_json_scalar_column_must_be_a_list(tmp_path: Path) -> None:
    uri = _json(tmp_path, {"question": "only one", "answer": ["a"]})
    config = DataConfig(dataset_name="c", dataset_uri=uri, model_input_location="question")
    with pytest.raises(BadInputError) as info:
        load_dataset(config)
    assert str(info.value) == (
        f"{uri}: model_input ('question'): expected a non-empty list (one value per record), "
        'found a string "only one"'
    )


def test_json_empty_list(tmp_path: Path) -> None:
    uri = _json(tmp_path, {"question": []})
    with pytest.raises(
        BadInputError, match=r"model_input \('question'\): expected a non-empty list .*found an empty list"
    ):
        load_dataset(DataConfig(dataset_name="c", dataset_uri=uri, model_input_location="question"))


def test_json_columns_must_have_equal_length(tmp_path: Path) -> None:
    uri = _json(tmp_path, {"q": ["a", "b", "c"], "a": ["x", "y"]})
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="q", target_output_location="a"
    )
    with pytest.raises(BadInputError) as info:
        load_dataset(config)
    assert str(info.value) == (
        f"{uri}: expected the same number of values from every location, "
        "found model_input ('q') 3, target_output ('a') 2"
    )


def test_json_null_and_nested_values_are_per_row(tmp_path: Path) -> None:
    uri = _json(tmp_path, {"q": ["a", None, ["n"], "d"], "a": ["1", "2", "3", "4"]})
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="q", target_output_location="a"
    )
    with pytest.raises(BadInputError, match=r"d.json: row 1: model_input \('q'\): expected .*, found null"):
        load_dataset(config, required_columns=["model_input"])
    with pytest.raises(
        BadInputError, match=r"d.json: row 2: model_input \('q'\): expected .*, found a list \[\"n\"\]"
    ):
        load_dataset(config)
    dataset = load_dataset(config, num_records=None, on_bad_record="skip")
    assert dataset.sampled_rows == [0, 1, 3]
    assert dataset.records[1] == {"model_input": None, "target_output": "2", "row": 1}
    assert dataset.skipped == [
        f"{uri}: row 2: model_input ('q'): expected a string, number or boolean, found a list [\"n\"]"
    ]


def test_json_projection_keeps_records_aligned(tmp_path: Path) -> None:
    # Plain JMESPath `[*].q` would drop the record without "q" and shift every later one.
    uri = _json(tmp_path, [{"q": "a", "t": "1"}, {"t": "2"}, {"q": "c", "t": "3"}])
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="[*].q", target_output_location="[*].t"
    )
    assert load_dataset(config, num_records=None).records == [
        {"model_input": "a", "target_output": "1", "row": 0},
        {"model_input": None, "target_output": "2", "row": 1},
        {"model_input": "c", "target_output": "3", "row": 2},
    ]
    with pytest.raises(
        BadInputError, match=r"d.json: row 1: model_input \('\[\*\].q'\): expected .*, found nothing$"
    ):
        load_dataset(config, required_columns=["model_input"])


def test_json_context_must_be_two_dimensional(tmp_path: Path) -> None:
    uri = _json(tmp_path, [{"q": "a", "ctx": ["x"]}, {"q": "b", "ctx": "y"}])
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="[*].q", context_location="[*].ctx"
    )
    with pytest.raises(
        BadInputError, match=r"row 1: context \('\[\*\].ctx'\): expected a list of strings, found a string"
    ):
        load_dataset(config)


def test_json_location_finding_nothing(tmp_path: Path) -> None:
    uri = _json(tmp_path, {"q": ["a", "b"]})
    config = DataConfig(
        dataset_name="c", dataset_uri=uri, model_input_location="q", target_output_location="answers"
    )
    # Not required: dropped like fmeval drops it.
    dataset = load_dataset(config, num_records=None)
    assert dataset.columns == ("model_input",)
    assert dataset.records == [{"model_input": "a", "row": 0}, {"model_input": "b", "row": 1}]
    with pytest.raises(BadInputError) as info:
        load_dataset(config, required_columns=["target_output"], on_bad_record="skip")
    assert str(info.value) == (
        f"{uri}: target_output ('answers'): expected a non-empty list (one value per record), found nothing"
    )


def test_invalid_json_document(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n {"q": "a"},\n {"q": }\n]', encoding="utf-8")
    with pytest.raises(BadInputError) as info:
        load_dataset(DataConfig(dataset_name="c", dataset_uri=str(path), model_input_location="[*].q"))
    assert str(info.value) == f"{path}: line 3 column 8: invalid JSON (Expecting value)"


def test_jmespath_runtime_error_is_reported(tmp_path: Path) -> None:
    uri = _jsonl(tmp_path, [{"a": "xyz"}, {"a": 5}])
    config = DataConfig(dataset_name="c", dataset_uri=uri, model_input_location="to_string(length(a))")
    with pytest.raises(
        BadInputError,
        match=r"line 2: model_input \('to_string\(length\(a\)\)'\): .*"
        r"found nothing \(JMESPath error: In function length",
    ):
        load_dataset(config, required_columns=["model_input"])
