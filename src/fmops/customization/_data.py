"""Training data: the formats users already have, detected or named, every record checked before training.

- prompt/completion JSON Lines (Bedrock's customization format): `{"prompt": ..., "completion": ...}`
- chat JSON Lines (OpenAI's fine-tuning format): `{"messages": [{"role": ..., "content": ...}, ...]}`
- instruction records with a JumpStart-style `template.json` beside the data (or named): its `prompt` and
  `completion` strings name record fields in braces, e.g. `"Below is an instruction... {instruction}"`
- raw text for continued pre-training: `{"text": ...}` records, or `.txt` files (a file or a folder of them;
  documents are separated by blank lines)

A mistake is reported as one line naming file, line and field, before any model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from fmops.core.errors import BadInputError

DataFormat = Literal["prompt-completion", "chat", "instruction", "text"]
FORMATS: tuple[DataFormat, ...] = ("prompt-completion", "chat", "instruction", "text")
TEMPLATE_FILE = "template.json"
_ROLES = ("system", "user", "assistant")
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: Counts the tokens of a record once it is rendered as the trainer will see it.
TokenCounter = Callable[[dict[str, Any]], int]


class InstructionTemplate(BaseModel):
    """JumpStart's template.json: how instruction records become a prompt and a completion."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    prompt: str
    completion: str

    def fields(self) -> list[str]:
        return list(dict.fromkeys(_FIELD.findall(self.prompt) + _FIELD.findall(self.completion)))

    def render(self, record: dict[str, Any]) -> dict[str, str]:
        def fill(template: str) -> str:
            return _FIELD.sub(lambda m: str(record[m.group(1)]), template)

        return {"prompt": fill(self.prompt), "completion": fill(self.completion)}


class TrainingData(BaseModel):
    """Records ready for TRL: prompt/completion (instructions rendered), messages, or text."""

    model_config = ConfigDict(frozen=True)

    path: str
    format: DataFormat
    sha256: str
    records: list[dict[str, Any]]
    #: Where each record comes from ("file:line", or "file: document N" for .txt), for error messages.
    locations: list[str]
    truncated: int = 0

    @property
    def kind(self) -> Literal["prompt-completion", "chat", "text"]:
        """What the trainer sees: instruction records are prompt/completion once rendered."""
        return "prompt-completion" if self.format == "instruction" else self.format


def read_training_data(
    path: str | Path,
    data_format: DataFormat | None = None,
    *,
    template: str | Path | None = None,
) -> TrainingData:
    """Read and check every record of `path`; the format is detected unless named."""
    source = Path(path).expanduser()
    if not source.exists():
        raise BadInputError(f"{source}: no such data file or folder")
    if data_format is not None and data_format not in FORMATS:
        raise BadInputError(f"data format {data_format!r}: expected one of {', '.join(FORMATS)}")
    text_files = _text_files(source)
    if text_files:
        if data_format not in (None, "text"):
            raise BadInputError(
                f"{source}: .txt files hold raw text; their format is 'text', not {data_format}"
            )
        docs = [
            (f"{file}: document {i}", doc) for file in text_files for i, doc in enumerate(_documents(file), 1)
        ]
        if not docs:
            raise BadInputError(f"{source}: no text in it")
        return TrainingData(
            path=str(source),
            format="text",
            sha256=_sha256(text_files),
            records=[{"text": doc} for _, doc in docs],
            locations=[where for where, _ in docs],
        )
    if source.is_dir():
        raise BadInputError(f"{source}: a folder of training data must hold .txt files")
    rows = list(_json_lines(source))
    if not rows:
        raise BadInputError(f"{source}: no records (expected one JSON object per line)")
    instruction = _instruction_template(source, template, data_format)
    fmt: DataFormat = data_format or ("instruction" if instruction else _detect(source, *rows[0]))
    records = [_check(source, line, row, fmt, instruction) for line, row in rows]
    return TrainingData(
        path=str(source),
        format=fmt,
        sha256=_sha256([source]),
        records=records,
        locations=[f"{source}:{line}" for line, _ in rows],
    )


def check_lengths(
    data: TrainingData,
    count_tokens: TokenCounter,
    max_seq_length: int,
    overlong: Literal["reject", "truncate"],
) -> TrainingData:
    """Reject (or count, to be truncated by the trainer) records over `max_seq_length` tokens."""
    truncated = 0
    for where, record in zip(data.locations, data.records, strict=True):
        n = count_tokens(record)
        if n <= max_seq_length:
            continue
        if overlong == "truncate" or data.kind == "text":  # raw text is cut into windows anyway
            truncated += 1
            continue
        raise BadInputError(
            f"{where}: record is {n} tokens, over max_seq_length {max_seq_length} "
            "(raise max_seq_length, or set overlong: truncate to cut such records)"
        )
    return data.model_copy(update={"truncated": truncated})


def _text_files(source: Path) -> list[Path]:
    if source.is_file():
        return [source] if source.suffix == ".txt" else []
    return sorted(source.rglob("*.txt"))


def _documents(file: Path) -> list[str]:
    try:
        content = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        line = file.read_bytes()[: exc.start].count(b"\n") + 1
        raise BadInputError(f"{file}:{line}: not UTF-8 text (byte {exc.object[exc.start]:#04x})") from None
    return [doc.strip() for doc in re.split(r"\n\s*\n", content) if doc.strip()]


def _json_lines(source: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise BadInputError(
                    f"{source}:{number}: not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
                ) from None
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                raise BadInputError(f"{source}:{number}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise BadInputError(f"{source}:{number}: expected a JSON object, got {type(row).__name__}")
            yield number, row


def _instruction_template(
    source: Path, template: str | Path | None, data_format: DataFormat | None
) -> InstructionTemplate | None:
    path = Path(template).expanduser() if template else source.parent / TEMPLATE_FILE
    if template is None and (data_format not in (None, "instruction") or not path.is_file()):
        if data_format == "instruction":
            raise BadInputError(
                f"{source}: instruction data needs a {TEMPLATE_FILE} beside it (or --template)"
            )
        return None
    if not path.is_file():
        raise BadInputError(f"{path}: no such template file")
    expected = '(expected {"prompt": ..., "completion": ...})'
    try:
        loaded = InstructionTemplate.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BadInputError(f"{path}: field '{first['loc'][0]}': {first['msg']} {expected}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # not JSON, not UTF-8
        raise BadInputError(f"{path}: not a JSON template ({str(exc).splitlines()[0]}) {expected}") from None
    if not loaded.fields():
        raise BadInputError(
            f"{path}: its prompt and completion name no record field in braces, e.g. {{question}}"
        )
    return loaded


def _detect(source: Path, line: int, row: dict[str, Any]) -> DataFormat:
    if "messages" in row:
        return "chat"
    if "prompt" in row or "completion" in row:
        return "prompt-completion"
    if "text" in row:
        return "text"
    raise BadInputError(
        f"{source}:{line}: cannot tell the data format from fields {sorted(row)}: expected prompt and "
        f"completion, messages, or text (or a {TEMPLATE_FILE} beside the file for instruction records)"
    )


def _check(
    source: Path, line: int, row: dict[str, Any], fmt: DataFormat, instruction: InstructionTemplate | None
) -> dict[str, Any]:
    where = f"{source}:{line}"
    if fmt == "prompt-completion":
        prompt, completion = _string(where, row, "prompt", empty_ok=True), _string(where, row, "completion")
        return {"prompt": prompt, "completion": completion}
    if fmt == "text":
        return {"text": _string(where, row, "text")}
    if fmt == "instruction":
        assert instruction is not None
        answer_fields = set(_FIELD.findall(instruction.completion))
        for field in instruction.fields():
            _string(where, row, field, empty_ok=field not in answer_fields)  # an empty context is fine
        rendered = instruction.render(row)
        if not rendered["completion"].strip():
            raise BadInputError(f"{where}: the completion rendered from the template is empty")
        return rendered
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadInputError(
            f"{where}: field 'messages' must be a non-empty list of {{role, content}} objects"
        )
    for i, message in enumerate(messages):
        field = f"messages[{i}]"
        if not isinstance(message, dict):
            raise BadInputError(f"{where}: field '{field}' must be an object with role and content")
        role = message.get("role")
        if role not in _ROLES:
            raise BadInputError(
                f"{where}: field '{field}.role' is {role!r}; expected one of {', '.join(_ROLES)}"
            )
        content = message.get("content")
        if not isinstance(content, str):
            raise BadInputError(f"{where}: field '{field}.content' missing or not a string")
        if role == "assistant" and not content.strip():
            raise BadInputError(f"{where}: field '{field}.content' is an empty assistant answer")
    if messages[-1]["role"] != "assistant":
        raise BadInputError(
            f"{where}: field 'messages' must end with an assistant message (the answer to learn)"
        )
    return {"messages": [{"role": m["role"], "content": m["content"]} for m in messages]}


def _string(where: str, row: dict[str, Any], field: str, *, empty_ok: bool = False) -> str:
    if field not in row:
        raise BadInputError(f"{where}: field '{field}' missing")
    value = row[field]
    if not isinstance(value, str):
        raise BadInputError(f"{where}: field '{field}' must be a string, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise BadInputError(f"{where}: field '{field}' is empty")
    return value


def _sha256(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in files:
        with file.open("rb") as handle:
            for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
