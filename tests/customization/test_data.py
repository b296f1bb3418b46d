"""Training data: every format read and detected (or named), every mistake a one-line error naming file,
line and field, before any model is loaded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.core.errors import BadInputError
from fmops.customization import read_training_data
from fmops.customization._data import check_lengths
from tests.customization.conftest import write_jsonl


def test_prompt_completion_is_detected(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "Q?", "completion": " A", "extra": 1}])
    data = read_training_data(path)
    assert data.format == "prompt-completion" and data.kind == "prompt-completion"
    assert data.records == [{"prompt": "Q?", "completion": " A"}]
    assert len(data.sha256) == 64 and data.locations == [f"{path}:1"]


def test_chat_messages_are_detected(tmp_path: Path) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
    ]
    data = read_training_data(write_jsonl(tmp_path / "chat.jsonl", [{"messages": messages}]))
    assert data.format == "chat" and data.records[0]["messages"] == messages


def test_instruction_records_render_through_the_template_beside_them(tmp_path: Path) -> None:
    (tmp_path / "template.json").write_text(
        json.dumps(
            {"prompt": "Instruction: {instruction}\nContext: {context}\nAnswer:", "completion": " {response}"}
        )
    )
    rows = [{"instruction": "Name it", "context": "", "response": "Bob"}]
    data = read_training_data(write_jsonl(tmp_path / "train.jsonl", rows))
    assert data.format == "instruction" and data.kind == "prompt-completion"
    assert data.records == [{"prompt": "Instruction: Name it\nContext: \nAnswer:", "completion": " Bob"}]


def test_text_records_and_txt_files_are_raw_text(tmp_path: Path) -> None:
    assert read_training_data(write_jsonl(tmp_path / "t.jsonl", [{"text": "Once."}])).format == "text"
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("First document.\n\nSecond\ndocument.\n")
    (tmp_path / "docs" / "b.txt").write_text("Third.")
    folder = read_training_data(tmp_path / "docs")
    assert [r["text"] for r in folder.records] == ["First document.", "Second\ndocument.", "Third."]
    assert folder.locations[1].endswith("a.txt: document 2")
    assert read_training_data(tmp_path / "docs" / "b.txt", "text").records == [{"text": "Third."}]


def test_a_named_format_is_enforced(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": "only text"}])
    with pytest.raises(BadInputError, match=r"d.jsonl:1: field 'prompt' missing"):
        read_training_data(path, "prompt-completion")
    with pytest.raises(BadInputError, match="data format 'csv'"):
        read_training_data(path, "csv")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"prompt": "Q"}, r"bad.jsonl:2: field 'completion' missing"),
        ({"prompt": "Q", "completion": "  "}, r"bad.jsonl:2: field 'completion' is empty"),
        ({"prompt": 3, "completion": "A"}, r"bad.jsonl:2: field 'prompt' must be a string, got int"),
        ({"messages": [{"role": "user", "content": "Hi"}]}, r"bad.jsonl:2: field 'messages'.*assistant"),
        (
            {"messages": [{"role": "bot", "content": "Hi"}]},
            r"bad.jsonl:2: field 'messages\[0\].role' is 'bot'",
        ),
        (
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]},
            r"bad.jsonl:2: field 'messages\[1\].content' is an empty assistant answer",
        ),
        ({"question": "Q"}, r"bad.jsonl:1: cannot tell the data format"),
    ],
)
def test_bad_records_name_file_line_and_field(tmp_path: Path, line: dict, message: str) -> None:
    first = (
        line
        if "question" in line
        else (
            {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}
            if "messages" in line
            else {"prompt": "ok", "completion": "ok"}
        )
    )
    path = write_jsonl(tmp_path / "bad.jsonl", [first, line] if first is not line else [line])
    with pytest.raises(BadInputError, match=message):
        read_training_data(path)


def test_non_utf8_and_broken_json_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "raw.jsonl"
    path.write_bytes(b'{"prompt": "a", "completion": "b"}\n{"prompt": "caf\xe9", "completion": "b"}\n')
    with pytest.raises(BadInputError, match=r"raw.jsonl:2: not UTF-8 text \(byte 0xe9 at column 16\)"):
        read_training_data(path)
    path.write_text('{"prompt": "a", "completion": "b"}\n\n{"prompt": \n')
    with pytest.raises(BadInputError, match=r"raw.jsonl:3: not valid JSON"):
        read_training_data(path)


def test_template_problems_are_named(tmp_path: Path) -> None:
    (tmp_path / "template.json").write_text(json.dumps({"prompt": "Q: {question}"}))
    with pytest.raises(BadInputError, match=r"template.json: field 'completion'"):
        read_training_data(write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": "a"}]))
    (tmp_path / "template.json").write_text(
        json.dumps({"prompt": "Q: {question}", "completion": " {answer}"})
    )
    with pytest.raises(BadInputError, match=r"d.jsonl:1: field 'answer' is empty"):
        read_training_data(write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": ""}]))


def test_overlong_records_are_rejected_or_kept_for_truncation(tmp_path: Path) -> None:
    rows = [{"prompt": "short", "completion": " a"}, {"prompt": "long " * 50, "completion": " b"}]
    data = read_training_data(write_jsonl(tmp_path / "d.jsonl", rows))

    def count(record: dict) -> int:
        return len((record["prompt"] + record["completion"]).split())

    with pytest.raises(BadInputError, match=r"d.jsonl:2: record is 51 tokens, over max_seq_length 20"):
        check_lengths(data, count, 20, "reject")
    assert check_lengths(data, count, 20, "truncate").truncated == 1
    assert check_lengths(data, count, 60, "reject").truncated == 0


def test_the_cli_stops_on_bad_data_with_exit_2_before_loading_any_model(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [{"prompt": "Q", "completion": ""}])
    result = CliRunner().invoke(app, ["finetune", "hf/./no-such-model", "--data", str(path), "--output", "x"])
    assert result.exit_code == 2, result.output
    assert "bad.jsonl:1: field 'completion' is empty" in result.output
    assert "no-such-model" not in result.output
