"""DataConfig: fmeval's dataset description (same field names and meaning), plus more formats."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from fmops.core.errors import BadInputError
from fmops.data.locations import Location, compile_location, describe, one_line

MIME_JSONLINES = "application/jsonlines"
MIME_JSON = "application/json"
MIME_CSV = "text/csv"
MIME_PARQUET = "application/vnd.apache.parquet"
MIME_HF_DATASET = "application/x-hf-dataset"
SUPPORTED_MIME_TYPES: tuple[str, ...] = (MIME_JSONLINES, MIME_JSON, MIME_CSV, MIME_PARQUET, MIME_HF_DATASET)

# Columns in DataConfig field order; `<column>_location` holds each one's JMESPath.
COLUMNS: tuple[str, ...] = (
    "model_input",
    "model_output",
    "target_output",
    "category",
    "sent_more_input",
    "sent_less_input",
    "sent_more_log_prob",
    "sent_less_log_prob",
    "context",
)
# fmeval casts these with str(); log-probs stay numbers; context is a list of str.
STRING_COLUMNS = frozenset(
    {"model_input", "model_output", "target_output", "category", "sent_more_input", "sent_less_input"}
)
NUMBER_COLUMNS = frozenset({"sent_more_log_prob", "sent_less_log_prob"})
LIST_COLUMNS = frozenset({"context"})

LOCATION_SUFFIX = "_location"


def _one_line_validation_error(error: ValidationError) -> str:
    parts = []
    for err in error.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "DataConfig"
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown field {loc!r}")
        else:
            parts.append(f"{loc}: {err['msg']}")
    return one_line("; ".join(parts), 400)


class DataConfig(BaseModel):
    """Where a dataset lives, its format, and a JMESPath per column (fmeval semantics).

    Invalid values raise BadInputError (not pydantic's ValidationError) so the CLI can show them as is.
    `dataset_mime_type=None` means: infer it from `dataset_uri` when loading.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    dataset_name: str
    dataset_uri: str
    dataset_mime_type: str | None = None
    model_input_location: str | None = None
    model_output_location: str | None = None
    target_output_location: str | None = None
    category_location: str | None = None
    sent_more_input_location: str | None = None
    sent_less_input_location: str | None = None
    sent_more_log_prob_location: str | None = None
    sent_less_log_prob_location: str | None = None
    context_location: str | None = None

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as e:
            raise BadInputError(f"invalid DataConfig: {_one_line_validation_error(e)}") from None

    @field_validator("dataset_mime_type")
    @classmethod
    def _known_mime_type(cls, value: str | None) -> str | None:
        if value is not None and value not in SUPPORTED_MIME_TYPES:
            raise BadInputError(
                f"dataset_mime_type: unsupported MIME type {value!r}; "
                f"accepted: {', '.join(SUPPORTED_MIME_TYPES)}"
            )
        return value

    @field_validator("dataset_uri")
    @classmethod
    def _non_empty_uri(cls, value: str) -> str:
        if not value.strip():
            raise BadInputError("dataset_uri: must not be empty")
        return value

    @field_validator("*")
    @classmethod
    def _compiles(cls, value: Any, info: ValidationInfo) -> Any:
        # Compiling here makes a syntax error surface at construction, naming the field.
        if info.field_name.endswith(LOCATION_SUFFIX) and value is not None:
            compile_location(value, info.field_name)
        return value

    @property
    def locations(self) -> dict[str, Location]:
        """Compiled locations of the configured columns, keyed by column name, in COLUMNS order."""
        # Computed (compilation is cached) rather than stored, so model_copy(update=...) stays right.
        locations = {}
        for column in COLUMNS:
            expression = getattr(self, column + LOCATION_SUFFIX)
            if expression is not None:
                locations[column] = compile_location(expression, column + LOCATION_SUFFIX)
        return locations

    @classmethod
    def from_json_file(cls, path: str | Path) -> DataConfig:
        """Load an fmeval DataConfig JSON file (an object with DataConfig's field names)."""
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise BadInputError(f"{path}: no such DataConfig file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise BadInputError(f"{path}: cannot read the DataConfig file ({one_line(str(e))})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise BadInputError(f"{path}: line {e.lineno} column {e.colno}: invalid JSON ({e.msg})") from None
        if not isinstance(data, dict):
            raise BadInputError(
                f"{path}: expected a JSON object with DataConfig fields, found {describe(data)}"
            )
        unknown = [key for key in data if key not in cls.model_fields]
        if unknown:
            names = ", ".join(repr(k) for k in unknown)
            raise BadInputError(
                f"{path}: unknown DataConfig key(s) {names}; known: {', '.join(cls.model_fields)}"
            )
        try:
            return cls(**data)
        except BadInputError as e:
            raise BadInputError(f"{path}: {e}") from None
