"""load_dataset: read a DataConfig's dataset, check and cast each record, then sample like fmeval.

Choices (documented here because they differ from, or go beyond, fmeval):

* Order: read every record, check it, drop (or fail on) bad ones, then sample over the valid
  records in source order. Skip mode thus samples as if the bad records were not in the file,
  and the result is deterministic.
* A location that finds nothing (or null) in a record is an error for that record only when its
  column is in `required_columns`; otherwise the value is None. A configured column that finds
  nothing in any valid record is dropped from `columns` and the records (fmeval drops it too).
  Columns without a location are never present; requiring one is an error.
* Values: string columns accept strings, numbers and booleans, cast with str() as fmeval does
  (1 -> "1", True -> "True"); objects and lists are errors. Log-prob columns must be numbers
  (cast to float; not booleans or NaN; in CSV, where every cell is text, a numeric string).
  `context` must be a list of strings/numbers/booleans, each cast with str().
* Messages name the file, then "line N" (1-based; JSON Lines, CSV) or "row N" (0-based, the same
  number as a record's "row"; JSON, Parquet, HF folders), then the column and its JMESPath.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import Any, Literal

from fmops.core.errors import BadInputError
from fmops.data.config import (
    COLUMNS,
    LIST_COLUMNS,
    MIME_CSV,
    MIME_HF_DATASET,
    MIME_JSON,
    MIME_JSONLINES,
    MIME_PARQUET,
    NUMBER_COLUMNS,
    SUPPORTED_MIME_TYPES,
    DataConfig,
)
from fmops.data.locations import Missing, describe
from fmops.data.readers import (
    FormatProblem,
    RawRow,
    read_csv,
    read_hf_folder,
    read_json,
    read_jsonlines,
    read_parquet,
)
from fmops.data.sampling import sample_positions
from fmops.data.sources import DataSource, open_source

logger = logging.getLogger(__name__)

_EXTENSIONS = {
    ".jsonl": MIME_JSONLINES,
    ".jsonlines": MIME_JSONLINES,
    ".json": MIME_JSON,
    ".csv": MIME_CSV,
    ".parquet": MIME_PARQUET,
    ".pq": MIME_PARQUET,
}
_HF_MARKERS = ("state.json", "dataset_info.json", "dataset_dict.json")


@dataclass(frozen=True)
class Dataset:
    """The loaded (and sampled) records of one DataConfig."""

    name: str
    uri: str
    sha256: str  # of the file's bytes; of the arrow files, in order, for a folder
    total_rows: int  # records in the source, bad ones included (blank lines are not records)
    records: list[dict[str, Any]]  # sampled records in sample order: columns plus "row"
    sampled_rows: list[int]  # each record's 0-based position in the source
    skipped: list[str]  # one line per skipped bad record (on_bad_record="skip")
    columns: tuple[str, ...]


def resolve_mime_type(config: DataConfig, source: DataSource) -> str:
    """The configured MIME type, or the one the URI's extension (or folder content) implies."""
    uri = config.dataset_uri
    accepted = ", ".join(SUPPORTED_MIME_TYPES)
    mime = config.dataset_mime_type
    if mime is None:
        if source.is_folder:
            if any(source.has_member(marker) for marker in _HF_MARKERS):
                return MIME_HF_DATASET
            raise BadInputError(
                f"{uri}: a folder without state.json or dataset_info.json; only Hugging Face datasets "
                f"folders (save_to_disk) are read as folders; or set dataset_mime_type to one of: {accepted}"
            )
        suffix = PurePosixPath(source.name).suffix.lower()
        mime = _EXTENSIONS.get(suffix)
        if mime is None:
            raise BadInputError(
                f"{uri}: cannot tell the format from the extension {suffix or '(none)'!r}; "
                f"set dataset_mime_type to one of: {accepted}"
            )
        return mime
    if mime == MIME_HF_DATASET and not source.is_folder:
        raise BadInputError(
            f"{uri}: {MIME_HF_DATASET} expects a folder written by save_to_disk, found a file"
        )
    if mime != MIME_HF_DATASET and source.is_folder:
        raise BadInputError(f"{uri}: {mime} expects a file, found a folder")
    return mime


def _read(
    source: DataSource, mime: str, config: DataConfig, required: frozenset[str]
) -> tuple[str, Iterable[RawRow]]:
    locations = config.locations
    if mime == MIME_HF_DATASET:
        return read_hf_folder(source, locations)
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if mime == MIME_JSONLINES:
        return digest, read_jsonlines(data, locations)
    if mime == MIME_JSON:
        return digest, read_json(data, locations, required)
    if mime == MIME_CSV:
        return digest, read_csv(data, locations)
    return digest, read_parquet(data, locations)


class _BadValue(Exception):
    def __init__(self, expected: str, found: Any) -> None:
        super().__init__(expected)
        self.expected = expected
        self.found = found


_STRING_EXPECTED = "a string, number or boolean"
_SCALARS = (str, int, float)


def _as_string(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise _BadValue(_STRING_EXPECTED, value)
    return value if type(value) is str else str(value)


def _as_number(value: Any, text_numbers: bool) -> float:
    number: float | None = None
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        number = float(value)
    elif text_numbers and isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = None
    if number is None or math.isnan(number):
        raise _BadValue("a number", value)
    return number


def _as_string_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, _SCALARS) for item in value):
        raise _BadValue("a list of strings", value)
    return [item if type(item) is str else str(item) for item in value]


def _expected(column: str) -> str:
    if column in NUMBER_COLUMNS:
        return "a number"
    if column in LIST_COLUMNS:
        return "a list of strings"
    return _STRING_EXPECTED


def load_dataset(
    config: DataConfig,
    *,
    num_records: int | None = 100,
    required_columns: Sequence[str] = (),
    on_bad_record: Literal["fail", "skip"] = "fail",
) -> Dataset:
    """Load, check and cast the dataset of `config`, then sample `num_records` records as fmeval does.

    Raises BadInputError (one line: file, line/row, column and JMESPath, expected vs found) for a
    bad file or, with on_bad_record="fail", the first bad record; "skip" lists them in `skipped`.
    """
    if on_bad_record not in ("fail", "skip"):
        raise ValueError(f"on_bad_record must be 'fail' or 'skip', got {on_bad_record!r}")
    unknown = [column for column in required_columns if column not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown required column(s) {unknown}; columns are {list(COLUMNS)}")
    if num_records is not None and (
        isinstance(num_records, bool) or not isinstance(num_records, int) or num_records < 1
    ):
        raise BadInputError(f"num_records must be a positive integer (or None for all), got {num_records!r}")

    uri = config.dataset_uri
    locations = config.locations
    required = frozenset(required_columns)
    for column in COLUMNS:
        if column in required and column not in locations:
            raise BadInputError(
                f"{uri}: required column {column} has no location: set {column}_location in the DataConfig"
            )

    source = open_source(uri)
    mime = resolve_mime_type(config, source)
    text_numbers = mime == MIME_CSV
    skip = on_bad_record == "skip"
    skipped: list[str] = []
    valid: list[dict[str, Any]] = []
    total = 0
    try:
        sha256, rows = _read(source, mime, config, required)
        for raw in rows:
            total += 1
            problem = raw.problem
            record: dict[str, Any] = {}
            if raw.values is not None:
                for column, value in raw.values.items():
                    try:
                        if isinstance(value, Missing):
                            if column in required:
                                raise _BadValue(_expected(column), value)
                            record[column] = None
                        elif column in NUMBER_COLUMNS:
                            record[column] = _as_number(value, text_numbers)
                        elif column in LIST_COLUMNS:
                            record[column] = _as_string_list(value)
                        else:
                            record[column] = _as_string(value)
                    except _BadValue as bad:
                        expression = locations[column].expression
                        problem = (
                            f"{column} ({expression!r}): expected {bad.expected}, found {describe(bad.found)}"
                        )
                        break
            if problem is not None:
                message = f"{uri}: {raw.where}: {problem}"
                if not skip:
                    raise BadInputError(message)
                skipped.append(message)
                continue
            record["row"] = raw.row
            valid.append(record)
    except FormatProblem as e:
        raise BadInputError(f"{uri}: {e}") from None

    if total == 0:
        raise BadInputError(f"{uri}: the dataset is empty (no records)")
    if not valid:
        first = skipped[0][len(uri) + 2 :]
        raise BadInputError(f"{uri}: no valid records: all {total} were skipped; the first: {first}")

    columns = tuple(column for column in locations if any(r.get(column) is not None for r in valid))
    for column in locations:
        if column not in columns:
            logger.warning(
                "%s: %s (%r) found nothing in any record; the column is left out",
                uri,
                column,
                locations[column].expression,
            )
            for record in valid:
                record.pop(column, None)

    records = [valid[position] for position in sample_positions(len(valid), num_records)]
    return Dataset(
        name=config.dataset_name,
        uri=uri,
        sha256=sha256,
        total_rows=total,
        records=records,
        sampled_rows=[record["row"] for record in records],
        skipped=skipped,
        columns=columns,
    )
