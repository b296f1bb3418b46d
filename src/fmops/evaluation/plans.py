"""Plans: what an evaluation runs on, decided (and checked) before any record is read or model called.

Dataset resolution (a file, a DataConfig, a built-in name, or an algorithm's built-in datasets), the
DataConfig each dataset is read with, the columns it must provide, and the sample size. The engine
checks its inputs here, once; messages name the engine's fields (a face maps them to its own words).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from fmops.core.errors import FieldError
from fmops.data import DataConfig
from fmops.evaluation.algorithms import Algorithm

#: fmeval samples with pandas' random_state=1234; recorded in the manifest.
SAMPLE_SEED = 1234
BAD_RECORD_POLICIES = ("fail", "skip")


@dataclass(frozen=True)
class DatasetPlan:
    """One dataset of a run: how to read it, the columns it must have, its default prompt template."""

    config: DataConfig
    template: str | None
    required_columns: tuple[str, ...]


def required_columns(algo: Algorithm, *, with_model: bool) -> tuple[str, ...]:
    """The columns a dataset must provide: inputs when a model answers, else the outputs themselves."""
    return tuple(algo.model_required_columns if with_model else algo.required_columns)


def dataset_plans(
    algo: Algorithm,
    dataset: str | Path | None = None,
    data_config: DataConfig | str | Path | None = None,
    locations: Mapping[str, str] | None = None,
    *,
    with_model: bool,
) -> list[DatasetPlan]:
    """The datasets an evaluation runs on: the one given (a path, URI or built-in name, with
    `data_config` and `locations`), or with a model and none given, the algorithm's built-in datasets."""
    from fmops.data.builtin import builtin_datasets_for, get_builtin, is_builtin, resolve_builtin

    required = required_columns(algo, with_model=with_model)
    if dataset is None and data_config is None:
        if not with_model:
            raise _no_dataset()
        return [
            DatasetPlan(resolve_builtin(b.name), b.default_prompt_template, required)
            for b in builtin_datasets_for(algo.eval_name)
        ]
    if dataset is not None and is_builtin(str(dataset)) and not Path(str(dataset)).exists():
        template = get_builtin(str(dataset)).default_prompt_template
        return [DatasetPlan(resolve_builtin(str(dataset)), template, required)]
    resolved = resolve_data_config(
        algo, dataset=dataset, data_config=data_config, locations=locations, with_model=with_model
    )
    return [DatasetPlan(resolved, None, required)]


def resolve_data_config(
    algo: Algorithm,
    *,
    dataset: str | Path | None,
    data_config: DataConfig | str | Path | None,
    locations: Mapping[str, str] | None,
    with_model: bool = False,
) -> DataConfig:
    """Merge a DataConfig (object or JSON file), a dataset path and explicit locations into one DataConfig.

    A required column without a location is looked up under its own name, and so is an optional one.
    """
    if isinstance(data_config, str | Path):
        base = DataConfig.from_json_file(Path(data_config)).model_dump(exclude_none=True)
    elif isinstance(data_config, DataConfig):
        base = data_config.model_dump(exclude_none=True)
    else:
        base = {}
    if dataset is not None:
        base["dataset_uri"] = str(dataset)
        base.pop("dataset_mime_type", None)
        base.setdefault("dataset_name", _dataset_name(str(dataset)))
    if "dataset_uri" not in base:
        raise _no_dataset()
    base.setdefault("dataset_name", _dataset_name(base["dataset_uri"]))
    for column, path in (locations or {}).items():
        base[f"{column}_location"] = path
    for column in required_columns(algo, with_model=with_model):
        base.setdefault(f"{column}_location", column)
    for column in algo.optional_columns:
        if f"{column}_location" not in base and column != "category":
            base[f"{column}_location"] = column
    if with_model:  # the model produces the outputs; a model_output column in the data is not used
        base.pop("model_output_location", None)
    return DataConfig(**base)


def _no_dataset() -> FieldError:
    return FieldError(
        "no dataset: pass {dataset} PATH or a {data_config} file with dataset_uri", "dataset", "data_config"
    )


def _dataset_name(uri: str) -> str:
    name = Path(uri.rstrip("/")).name
    for suffix in (".jsonl", ".jsonlines", ".json", ".csv", ".parquet", ".pq"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name or "dataset"


def sample_size(algo: Algorithm, num_records: int | str | None) -> int | None:
    """Records to sample: the algorithm's default for None, every record (None) for "all", else a
    positive integer (a string of digits, as typed, counts)."""
    if num_records is None:
        return algo.default_num_records
    if num_records == "all":
        return None
    value: object = num_records
    if isinstance(num_records, str):
        try:
            value = int(num_records)
        except ValueError:
            value = num_records
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise FieldError(f"{{num_records}} expects a positive integer or 'all', got {value!r}", "num_records")
    return value


def bad_record_policy(on_bad_record: str) -> Literal["fail", "skip"]:
    """What a bad record does: stop the run ("fail") or get skipped and counted ("skip")."""
    if on_bad_record not in BAD_RECORD_POLICIES:
        raise FieldError(
            f"{{on_bad_record}} must be 'fail' or 'skip', got {on_bad_record!r}", "on_bad_record"
        )
    return "fail" if on_bad_record == "fail" else "skip"


__all__ = [
    "SAMPLE_SEED",
    "DatasetPlan",
    "bad_record_policy",
    "dataset_plans",
    "required_columns",
    "resolve_data_config",
    "sample_size",
]
