"""Every format gives the same records; MIME inference; URIs; hashes."""

from __future__ import annotations

import csv
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fmops.core.errors import BadInputError
from fmops.data import DataConfig, Dataset, load_dataset
from fmops.data.config import SUPPORTED_MIME_TYPES

# Text and numeric fields only, so that CSV (all text) can represent them too.
SOURCE = [
    {
        "question": f"question {i}",
        "answer": f"answer {i}<OR>alt {i}",
        "Review Text": f"review, with comma {i}",
        "more": -1.5 - i,
        "less": -2.25 - i,
    }
    for i in range(12)
]
EXPECTED = [
    {
        "model_input": r["question"],
        "target_output": r["answer"],
        "category": r["Review Text"],
        "sent_more_log_prob": r["more"],
        "sent_less_log_prob": r["less"],
        "row": i,
    }
    for i, r in enumerate(SOURCE)
]
ROW_LOCATIONS = {
    "model_input_location": "question",
    "target_output_location": "answer",
    "category_location": '"Review Text"',
    "sent_more_log_prob_location": "more",
    "sent_less_log_prob_location": "less",
}


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_csv(path: Path, records: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    return path


def write_parquet(path: Path, records: list[dict[str, Any]]) -> Path:
    pq.write_table(pa.Table.from_pylist(records), path)
    return path


def write_hf(path: Path, records: list[dict[str, Any]]) -> Path:
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    datasets.Dataset.from_list(records).save_to_disk(str(path))
    return path


def _list_of_objects(tmp_path: Path) -> DataConfig:
    path = tmp_path / "data.json"
    path.write_text(json.dumps(SOURCE), encoding="utf-8")
    locations = {k: "[*]." + v for k, v in ROW_LOCATIONS.items()}
    return DataConfig(dataset_name="d", dataset_uri=str(path), **locations)


def _object_of_arrays(tmp_path: Path) -> DataConfig:
    path = tmp_path / "columns.json"
    columns = {key: [r[key] for r in SOURCE] for key in SOURCE[0]}
    path.write_text(json.dumps({"data": columns}), encoding="utf-8")
    locations = {k: "data." + v for k, v in ROW_LOCATIONS.items()}
    return DataConfig(dataset_name="d", dataset_uri=str(path), **locations)


def _row_format(
    writer: Callable[[Path, list[dict[str, Any]]], Path], name: str
) -> Callable[[Path], DataConfig]:
    def make(tmp_path: Path) -> DataConfig:
        path = writer(tmp_path / name, SOURCE)
        return DataConfig(dataset_name="d", dataset_uri=str(path), **ROW_LOCATIONS)

    return make


FORMATS: dict[str, Callable[[Path], DataConfig]] = {
    "jsonl": _row_format(write_jsonl, "data.jsonl"),
    "json-list": _list_of_objects,
    "json-columns": _object_of_arrays,
    "csv": _row_format(write_csv, "data.csv"),
    "parquet": _row_format(write_parquet, "data.parquet"),
    "hf": _row_format(write_hf, "hf_folder"),
}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_round_trip(tmp_path: Path, fmt: str) -> None:
    config = FORMATS[fmt](tmp_path)
    dataset = load_dataset(config, num_records=None, required_columns=["model_input", "sent_more_log_prob"])
    assert isinstance(dataset, Dataset)
    assert dataset.records == EXPECTED
    assert dataset.columns == (
        "model_input",
        "target_output",
        "category",
        "sent_more_log_prob",
        "sent_less_log_prob",
    )
    assert dataset.total_rows == len(SOURCE)
    assert dataset.sampled_rows == list(range(len(SOURCE)))
    assert dataset.skipped == []
    assert dataset.name == "d"
    assert dataset.uri == config.dataset_uri
    assert isinstance(dataset.records[0]["sent_more_log_prob"], float)

    sampled = load_dataset(config, num_records=4)
    # What fmeval picks from 12 records (observed: 7, 8, 11, 2, 9 for 5), the same for every format.
    assert sampled.sampled_rows == [7, 8, 11, 2]
    assert sampled.records == [EXPECTED[i] for i in sampled.sampled_rows]


def test_context_lists_in_every_typed_format(tmp_path: Path) -> None:
    records = [{"q": "a", "ctx": ["c1", "c2"]}, {"q": "b", "ctx": []}, {"q": "c", "ctx": ["x", 3]}]
    typed_records = [{"q": "a", "ctx": ["c1", "c2"]}, {"q": "b", "ctx": []}, {"q": "c", "ctx": ["x", "3"]}]
    configs = [
        DataConfig(
            dataset_name="d",
            dataset_uri=str(write_jsonl(tmp_path / "c.jsonl", records)),
            model_input_location="q",
            context_location="ctx",
        ),
        DataConfig(
            dataset_name="d",
            dataset_uri=str(write_parquet(tmp_path / "c.parquet", typed_records)),
            model_input_location="q",
            context_location="ctx",
        ),
        DataConfig(
            dataset_name="d",
            dataset_uri=str(write_hf(tmp_path / "c_hf", typed_records)),
            model_input_location="q",
            context_location="ctx",
        ),
    ]
    json_path = tmp_path / "c.json"
    json_path.write_text(json.dumps(records), encoding="utf-8")
    configs.append(
        DataConfig(
            dataset_name="d",
            dataset_uri=str(json_path),
            model_input_location="[*].q",
            context_location="[*].ctx",
        )
    )
    for config in configs:
        dataset = load_dataset(config, num_records=None)
        assert [r["context"] for r in dataset.records] == [["c1", "c2"], [], ["x", "3"]], config.dataset_uri


def test_parquet_nested_struct(tmp_path: Path) -> None:
    records = [
        {"item": {"text": "hello", "meta": {"label": 1}}},
        {"item": {"text": "bye", "meta": {"label": 0}}},
    ]
    path = write_parquet(tmp_path / "n.pq", records)
    config = DataConfig(
        dataset_name="d",
        dataset_uri=str(path),
        model_input_location="item.text",
        category_location="item.meta.label",
    )
    dataset = load_dataset(config, num_records=None)
    assert dataset.records == [
        {"model_input": "hello", "category": "1", "row": 0},
        {"model_input": "bye", "category": "0", "row": 1},
    ]


def test_csv_quoted_multiline_fields_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        '\ufeffReview Text,Recommended IND\n"Great,\ndress",1\n\n"ok ""quoted""",0\nbad,1,extra\n',
        encoding="utf-8",
    )
    config = DataConfig(
        dataset_name="d",
        dataset_uri=str(path),
        model_input_location='"Review Text"',
        target_output_location='"Recommended IND"',
    )
    dataset = load_dataset(config, num_records=None, on_bad_record="skip")
    assert dataset.records == [
        {"model_input": "Great,\ndress", "target_output": "1", "row": 0},
        {"model_input": 'ok "quoted"', "target_output": "0", "row": 1},
    ]
    # The bad row starts on physical line 6 (the first record spans lines 2-3, line 4 is blank).
    assert dataset.skipped == [f"{path}: line 6: expected 2 fields (as in the header), found 3"]


def test_csv_duplicate_header(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,b,a\n1,2,3\n", encoding="utf-8")
    config = DataConfig(dataset_name="d", dataset_uri=str(path), model_input_location="a")
    with pytest.raises(BadInputError, match=r"dup.csv: line 1: duplicate column name 'a' in the header"):
        load_dataset(config)


def test_hf_folder_without_datasets_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_hf(tmp_path / "hf", SOURCE)
    monkeypatch.setitem(sys.modules, "datasets", None)  # any `import datasets` would now fail
    config = DataConfig(dataset_name="d", dataset_uri=str(path), **ROW_LOCATIONS)
    dataset = load_dataset(config, num_records=None)
    assert dataset.records == EXPECTED
    arrow = sorted(path.glob("*.arrow"))
    assert dataset.sha256 == hashlib.sha256(b"".join(p.read_bytes() for p in arrow)).hexdigest()


def test_hf_dataset_dict_folder_points_at_a_split(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    folder = tmp_path / "dd"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(SOURCE)}).save_to_disk(str(folder))
    config = DataConfig(dataset_name="d", dataset_uri=str(folder), model_input_location="question")
    with pytest.raises(BadInputError, match=r"DatasetDict folder \(splits: train\).*dd/train"):
        load_dataset(config)
    split = DataConfig(dataset_name="d", dataset_uri=str(folder / "train"), model_input_location="question")
    assert load_dataset(split, num_records=None).total_rows == len(SOURCE)


def test_sha256_of_file_bytes(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "h.jsonl", SOURCE)
    dataset = load_dataset(
        DataConfig(dataset_name="d", dataset_uri=str(path), model_input_location="question")
    )
    assert dataset.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "writer"),
    [
        ("data.jsonl", write_jsonl),
        ("data.JSONLINES", write_jsonl),
        ("data.csv", write_csv),
        ("data.parquet", write_parquet),
        ("data.pq", write_parquet),
        ("hf_dir", write_hf),
    ],
)
def test_mime_inference(
    tmp_path: Path, name: str, writer: Callable[[Path, list[dict[str, Any]]], Path]
) -> None:
    path = writer(tmp_path / name, SOURCE)
    config = DataConfig(dataset_name="d", dataset_uri=str(path), model_input_location="question")
    assert [r["model_input"] for r in load_dataset(config, num_records=None).records] == [
        r["question"] for r in SOURCE
    ]


def test_json_extension_infers_json(tmp_path: Path) -> None:
    config = _list_of_objects(tmp_path)
    assert config.dataset_mime_type is None
    assert load_dataset(config, num_records=None).records == EXPECTED


def test_explicit_mime_type_wins_over_extension(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.txt", SOURCE)
    config = DataConfig(
        dataset_name="d",
        dataset_uri=str(path),
        dataset_mime_type="application/jsonlines",
        model_input_location="question",
    )
    assert load_dataset(config, num_records=None).total_rows == len(SOURCE)


def test_unknown_extension_lists_accepted_types(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "data.txt", SOURCE)
    with pytest.raises(BadInputError) as info:
        load_dataset(DataConfig(dataset_name="d", dataset_uri=str(path), model_input_location="question"))
    message = str(info.value)
    assert message.startswith(f"{path}: cannot tell the format from the extension '.txt'")
    assert all(mime in message for mime in SUPPORTED_MIME_TYPES)


def test_folder_mismatches(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(BadInputError, match=r"a folder without state\.json or dataset_info\.json"):
        load_dataset(DataConfig(dataset_name="d", dataset_uri=str(plain), model_input_location="q"))
    with pytest.raises(BadInputError, match="application/jsonlines expects a file, found a folder"):
        load_dataset(
            DataConfig(
                dataset_name="d",
                dataset_uri=str(plain),
                dataset_mime_type="application/jsonlines",
                model_input_location="q",
            )
        )
    path = write_jsonl(tmp_path / "f.jsonl", SOURCE)
    with pytest.raises(BadInputError, match="expects a folder written by save_to_disk, found a file"):
        load_dataset(
            DataConfig(
                dataset_name="d",
                dataset_uri=str(path),
                dataset_mime_type="application/x-hf-dataset",
                model_input_location="q",
            )
        )
    (plain / "dataset_info.json").write_text("{}", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"found no state\.json"):
        load_dataset(DataConfig(dataset_name="d", dataset_uri=str(plain), model_input_location="q"))


def test_file_uri(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "with space.jsonl", SOURCE)
    uri = path.as_uri()  # file:///.../with%20space.jsonl
    dataset = load_dataset(DataConfig(dataset_name="d", dataset_uri=uri, model_input_location="question"))
    assert dataset.uri == uri
    assert dataset.total_rows == len(SOURCE)


@pytest.mark.parametrize("uri", ["gs://b/k", "ftp://host/d.jsonl"])
def test_remote_schemes_not_supported_yet(uri: str) -> None:
    with pytest.raises(BadInputError, match="not supported yet") as info:
        load_dataset(DataConfig(dataset_name="d", dataset_uri=uri, model_input_location="q"))
    assert str(info.value).startswith(uri)
