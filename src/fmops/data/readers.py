"""Format readers: bytes (or a folder source) in, one `RawRow` per source record out.

Each reader applies the compiled locations, so a row carries the raw value found per column
(or a `Missing`); checking and casting the values is the loader's job and the same for every format.
Whole-file problems raise `FormatProblem` (the loader prefixes the URI).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from jmespath.exceptions import JMESPathError

from fmops.data.locations import NULL, Location, Missing, describe, one_line
from fmops.data.sources import DataSource


class FormatProblem(Exception):
    """The file as a whole cannot be read; the message is one line without the URI."""


@dataclass(frozen=True, slots=True)
class RawRow:
    """One source record: its 0-based position, where to point a user, and what was found."""

    row: int
    where: str  # "line 7" (1-based, line formats) or "row 5" (0-based, same as `row`)
    values: dict[str, Any] | None  # column -> raw value or Missing; None when unreadable
    problem: str | None = None  # why the record could not be read at all


Locations = Mapping[str, Location]


def _extract(obj: Any, locations: Locations) -> dict[str, Any]:
    return {column: location.find(obj) for column, location in locations.items()}


def read_jsonlines(data: bytes, locations: Locations) -> Iterator[RawRow]:
    """fmeval's JSON Lines: one JSON document per line, JMESPath applied per line.

    Blank lines are skipped (fmeval only tolerates them at the ends); rows count non-blank lines.
    """
    row = 0
    for lineno, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        where = f"line {lineno}"
        try:
            obj = json.loads(line)  # bytes: json detects UTF-8 and a leading BOM itself
        except json.JSONDecodeError as e:
            yield RawRow(
                row, where, None, f"expected a JSON value, found invalid JSON ({e.msg} at column {e.colno})"
            )
        except ValueError as e:  # UnicodeDecodeError
            yield RawRow(
                row, where, None, f"expected UTF-8 text, found undecodable bytes ({one_line(str(e))})"
            )
        else:
            values = _extract(obj, locations) if isinstance(obj, (dict, list)) else None
            if isinstance(obj, dict):
                yield RawRow(row, where, values)
            elif values is not None and any(not isinstance(v, Missing) for v in values.values()):
                yield RawRow(row, where, values)  # an array that JMESPath locations index into ([0].q)
            elif isinstance(obj, list):
                # Not "missing field": the whole line is the wrong shape (e.g. a JSON array file named .jsonl).
                yield RawRow(
                    row,
                    where,
                    None,
                    f"this line is an array, expected an object; a JSON array file should be named .json "
                    f"({describe(obj)})",
                )
            else:
                yield RawRow(row, where, None, f"expected a JSON object, found {describe(obj)}")
        row += 1


def _column_values(doc: Any, column: str, location: Location, required: bool) -> list[Any] | None:
    """One column of a JSON document: a value (or Missing) per record, None when not found at all."""
    label = f"{column} ({location.expression!r})"
    if location.projection is not None:
        left, right = location.projection
        try:
            base = left.search(doc)
        except JMESPathError:
            base = None  # the full expression reports it below
        if isinstance(base, list):
            # Per element, so a record lacking the field keeps its place (plain JMESPath drops it).
            return [right.find(element) for element in base]
    found = location.find(doc)
    if isinstance(found, Missing):
        if required:
            raise FormatProblem(
                f"{label}: expected a non-empty list (one value per record), found {found.why}"
            )
        return None
    if not isinstance(found, list):
        raise FormatProblem(
            f"{label}: expected a non-empty list (one value per record), found {describe(found)}"
        )
    if not found:
        raise FormatProblem(f"{label}: expected a non-empty list (one value per record), found an empty list")
    return [NULL if value is None else value for value in found]


def read_json(data: bytes, locations: Locations, required: frozenset[str]) -> list[RawRow]:
    """fmeval's JSON: one document; each location yields a list with one value per record."""
    try:
        doc = json.loads(data)
    except json.JSONDecodeError as e:
        raise FormatProblem(f"line {e.lineno} column {e.colno}: invalid JSON ({e.msg})") from None
    except ValueError as e:
        raise FormatProblem(f"expected UTF-8 text, found undecodable bytes ({one_line(str(e))})") from None
    columns: dict[str, list[Any]] = {}
    for column, location in locations.items():
        values = _column_values(doc, column, location, column in required)
        if values is not None:
            columns[column] = values
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        counts = ", ".join(
            f"{column} ({locations[column].expression!r}) {len(values)}" for column, values in columns.items()
        )
        raise FormatProblem(f"expected the same number of values from every location, found {counts}")
    count = lengths.pop() if lengths else 0
    return [
        RawRow(i, f"row {i}", {column: values[i] for column, values in columns.items()}) for i in range(count)
    ]


def read_csv(data: bytes, locations: Locations) -> Iterator[RawRow]:
    """CSV with a header row: each record is {column name: string value}; blank lines are skipped."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise FormatProblem(f"line {line}: expected UTF-8 text, found undecodable bytes") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    row = 0
    previous_end = 0
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise FormatProblem(f"line {previous_end + 1}: unreadable CSV ({one_line(str(e))})") from None
        start, previous_end = previous_end + 1, reader.line_num
        if not fields:
            continue
        if header is None:
            header = fields
            seen: set[str] = set()
            for name in header:
                if name in seen:
                    raise FormatProblem(f"line {start}: duplicate column name {name!r} in the header")
                seen.add(name)
            continue
        where = f"line {start}"
        if len(fields) != len(header):
            problem = f"expected {len(header)} fields (as in the header), found {len(fields)}"
            yield RawRow(row, where, None, problem)
        else:
            yield RawRow(row, where, _extract(dict(zip(header, fields, strict=True)), locations))
        row += 1


def _table_rows(table: pa.Table, locations: Locations) -> Iterator[RawRow]:
    paths = [location.path for location in locations.values()]
    if all(path is not None for path in paths):
        # Only the top-level columns the locations use need converting to Python objects.
        needed = {path[0] for path in paths if path}
        table = table.select([name for name in table.column_names if name in needed])
    for row, obj in enumerate(table.to_pylist()):
        yield RawRow(row, f"row {row}", _extract(obj, locations))


def read_parquet(data: bytes, locations: Locations) -> Iterator[RawRow]:
    """A Parquet file, read with pyarrow; nested structs become objects, lists lists."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError) as e:
        raise FormatProblem(f"expected a Parquet file, found unreadable data ({one_line(str(e))})") from None
    return _table_rows(table, locations)


def read_hf_folder(source: DataSource, locations: Locations) -> tuple[str, Iterator[RawRow]]:
    """A folder written by HF `datasets` `save_to_disk`: arrow streams listed in state.json.

    Returns the sha256 of the arrow files (in state.json order) and the rows.
    """
    if source.has_member("dataset_dict.json"):
        try:
            splits = json.loads(source.read_bytes("dataset_dict.json")).get("splits", [])
        except (ValueError, AttributeError):
            splits = []
        example = f"{source.uri.rstrip('/')}/{splits[0]}" if splits else "the split's folder"
        raise FormatProblem(
            f"expected one dataset, found a DatasetDict folder (splits: {', '.join(map(str, splits))}); "
            f"point dataset_uri at one split, e.g. {example}"
        )
    if not source.has_member("state.json"):
        raise FormatProblem("expected a Hugging Face datasets folder (save_to_disk), found no state.json")
    try:
        state = json.loads(source.read_bytes("state.json"))
        names = [entry["filename"] for entry in state["_data_files"]]
    except (ValueError, KeyError, TypeError) as e:
        raise FormatProblem(
            f"state.json: expected _data_files with filenames, found {one_line(repr(e))}"
        ) from None
    digest = hashlib.sha256()
    tables = []
    for name in names:
        blob = source.read_bytes(name)
        digest.update(blob)
        try:
            tables.append(pa.ipc.open_stream(blob).read_all())
        except (pa.ArrowException, OSError) as e:
            raise FormatProblem(
                f"{name}: expected an Arrow stream, found unreadable data ({one_line(str(e))})"
            ) from None
    if not tables:
        return digest.hexdigest(), iter(())
    try:
        table = pa.concat_tables(tables)
    except pa.ArrowException as e:
        raise FormatProblem(f"the arrow files have different schemas ({one_line(str(e))})") from None
    return digest.hexdigest(), _table_rows(table, locations)
