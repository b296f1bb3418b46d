"""Sampling parity with pandas `DataFrame.sample(n, random_state=1234)` and with fmeval's observed picks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.data import DataConfig, load_dataset, readers
from fmops.data.sampling import MAX_ROWS_TO_SAMPLE_FROM, sample_positions

OBSERVED = json.loads(
    (Path(__file__).parent / "fixtures" / "fmeval_observed.json").read_text(encoding="utf-8")
)


def pandas_sample(count: int, num_records: int) -> list[int]:
    """What fmeval does: first 100 000 rows, then DataFrame.sample(min(n, count), random_state=1234)."""
    frame = pd.DataFrame({"i": range(min(count, MAX_ROWS_TO_SAMPLE_FROM))})
    return frame.sample(min(num_records, count), random_state=1234)["i"].tolist()


@settings(max_examples=150, deadline=None)
@given(count=st.integers(min_value=1, max_value=5000), num_records=st.integers(min_value=1, max_value=6000))
def test_matches_pandas(count: int, num_records: int) -> None:
    assert sample_positions(count, num_records) == pandas_sample(count, num_records)


def test_matches_pandas_over_100k_rows() -> None:
    assert sample_positions(150_000, 300) == pandas_sample(150_000, 300)
    assert max(sample_positions(150_000, 50_000)) < MAX_ROWS_TO_SAMPLE_FROM


def test_matches_fmeval_observations() -> None:
    # Datasets of `count` records {"q": "q<i>", "a": i}; fmeval returned these positions, in this order.
    for key, positions in OBSERVED["samples"].items():
        count, num_records = map(int, key.split("/"))
        assert sample_positions(count, num_records) == positions, key


def test_none_keeps_file_order_and_edge_cases() -> None:
    assert sample_positions(5, None) == [0, 1, 2, 3, 4]
    assert sample_positions(0, 10) == []
    assert sorted(sample_positions(7, 100)) == list(range(7))
    # More requested than the 100 000-row pool: capped at the pool (fmeval's pandas would raise).
    assert len(sample_positions(100_010, 200_000)) == MAX_ROWS_TO_SAMPLE_FROM
    with pytest.raises(ValueError):
        sample_positions(5, 0)


def _qa_jsonl(path: Path, count: int) -> Path:
    path.write_text(
        "".join(json.dumps({"q": f"q{i}", "a": i}) + "\n" for i in range(count)), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("key", ["20/20", "1508/100"])
def test_load_dataset_picks_the_same_records_as_fmeval(tmp_path: Path, key: str) -> None:
    count, num_records = map(int, key.split("/"))
    path = _qa_jsonl(tmp_path / "qa.jsonl", count)
    config = DataConfig(
        dataset_name="qa", dataset_uri=str(path), model_input_location="q", target_output_location="a"
    )
    dataset = load_dataset(config, num_records=num_records)
    expected = OBSERVED["samples"][key]
    assert dataset.sampled_rows == expected
    assert [r["model_input"] for r in dataset.records] == [f"q{i}" for i in expected]
    assert [r["target_output"] for r in dataset.records] == [str(i) for i in expected]


def test_loading_10k_jsonl_reads_each_line_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"question": f"What is the capital of country {i}?", "answer": f"city {i}", "cat": "geo"}
            )
            + "\n"
            for i in range(10_000)
        ),
        encoding="utf-8",
    )
    config = DataConfig(
        dataset_name="big",
        dataset_uri=str(path),
        model_input_location="question",
        target_output_location="answer",
        category_location="cat",
    )
    parsed = []

    class _CountingJson:
        """The readers' `json`, counting documents parsed: work is counted, not timed (no flaky clock)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(json, name)

        def loads(self, text: Any, **kwargs: Any) -> Any:
            parsed.append(1)
            return json.loads(text, **kwargs)

    monkeypatch.setattr(readers, "json", _CountingJson())
    dataset = load_dataset(config, num_records=None)
    assert dataset.total_rows == 10_000 and len(dataset.records) == 10_000
    assert len(parsed) == 10_000  # one pass: every line parsed once, none again for sampling or checks
