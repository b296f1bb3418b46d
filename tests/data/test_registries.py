"""Built-in datasets and dataset sources are entries of the one registry mechanism, open to plug-ins."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fmops.data import DataConfig, load_dataset
from fmops.data.builtin import BUILTIN_DATASETS, DATASETS, BuiltinDataset, get_builtin, is_builtin
from fmops.data.sources import DATA_SOURCES, DataSource, LocalSource, open_source
from fmops.evaluation import evaluate
from tests.conftest import EXAMPLES, REPO


def test_every_built_in_dataset_is_registered_under_its_name() -> None:
    assert DATASETS.entry_point_group == "fmops.datasets"
    assert sorted(BUILTIN_DATASETS) == DATASETS.names()
    assert all(DATASETS.get(name) is dataset for name, dataset in BUILTIN_DATASETS.items())
    assert is_builtin("trex") and not is_builtin("TREX") and not is_builtin("qa.jsonl")


def test_a_plug_in_dataset_is_found_and_evaluated_like_a_built_in_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mine = BuiltinDataset(
        name="house_qa",
        uri=str(EXAMPLES / "qa_outputs.jsonl"),  # fetched (copied) into the cache like any built-in
        model_input_location="question",
        target_output_location="answer",
        default_prompt_template="Answer: $model_input",
    )
    monkeypatch.setitem(DATASETS._entries, "house_qa", mine)  # as the `fmops.datasets` entry point would
    assert get_builtin("House-QA") is mine and is_builtin("house_qa")
    run = evaluate(
        "qa_accuracy", model="echo/e", dataset="house_qa", num_records=3, config={"bertscore": False}
    )
    assert run.output.dataset_name == "house_qa" and run.output.prompt_template == "Answer: $model_input"
    assert run.records[0]["prompt"].startswith("Answer: ")
    assert Path(run.manifest.datasets[0].uri) == mine.cache_path()


class _MemorySource(LocalSource):
    """A plug-in scheme: mem://NAME reads the example file NAME."""


def test_a_plug_in_scheme_opens_through_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    def open_memory(uri: str) -> DataSource:
        return _MemorySource(uri, EXAMPLES / uri.removeprefix("mem://"))

    assert DATA_SOURCES.entry_point_group == "fmops.data_sources"
    monkeypatch.setitem(DATA_SOURCES._entries, "mem", open_memory)
    assert isinstance(open_source("mem://qa_outputs.jsonl"), _MemorySource)
    config = DataConfig(
        dataset_name="q", dataset_uri="mem://qa_outputs.jsonl", model_input_location="question"
    )
    assert load_dataset(config, num_records=None).total_rows == 12


def test_remote_schemes_import_their_module_only_when_used() -> None:
    code = (
        "import sys; from fmops.data.sources import DATA_SOURCES, open_source\n"
        "assert 'fmops.data.remote' not in sys.modules\n"
        "from fmops.data.remote import open_remote\n"
        "assert all(DATA_SOURCES.get(s) is open_remote for s in ('s3', 's3a', 's3n', 'http', 'https'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
