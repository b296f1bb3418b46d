"""Issue 15, item 9: a JSON array in a .jsonl file is named as such (not reported as a missing field);
an array line that JMESPath locations index into still reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.data import DataConfig, load_dataset


def test_a_json_array_file_named_jsonl_says_the_line_is_an_array(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text('[{"q": "a", "t": "b"}, {"q": "c", "t": "d"}]\n')
    config = DataConfig(
        dataset_name="d", dataset_uri=str(path), model_input_location="q", target_output_location="t"
    )
    with pytest.raises(BadInputError) as info:
        load_dataset(config, required_columns=("model_input", "target_output"))
    message = str(info.value)
    assert message.startswith(f"{path}: line 1: this line is an array, expected an object")
    assert "missing" not in message and "\n" not in message


def test_array_lines_that_locations_index_into_still_read(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('["a", "b"]\n["c", "d"]\n')
    config = DataConfig(
        dataset_name="d", dataset_uri=str(path), model_input_location="[0]", target_output_location="[1]"
    )
    data = load_dataset(config, required_columns=("model_input", "target_output"))
    assert [(r["model_input"], r["target_output"]) for r in data.records] == [("a", "b"), ("c", "d")]
