"""The run index: folders found and re-indexed when they change, records filtered, sorted and searched."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from fmops.web import RecordQuery, RunIndex
from tests.web._folders import write_run


@pytest.fixture
def index(tmp_path: Path) -> RunIndex:
    runs = tmp_path / "runs"
    write_run(runs / "a", model="echo/a", created_at="2026-11-01T10:00:00+00:00")
    write_run(
        runs / "nested" / "b",
        model="echo/b",
        algorithm="toxicity",
        dataset="bold",
        word="beta",
        created_at="2026-11-20T10:00:00+00:00",
    )
    (runs / "not-a-run").mkdir()
    (runs / "not-a-run" / "results.json").write_text("[]")  # no manifest: not a run folder
    found = RunIndex(tmp_path / "index.sqlite", [runs])
    assert found.refresh() == 2
    return found


def test_runs_are_listed_and_filtered(index: RunIndex) -> None:
    runs, total = index.runs()
    assert total == 2 and [r.model for r in runs] == ["echo/b", "echo/a"]  # newest first
    assert runs[1].num_records == 30 and runs[1].score_names == ["f1_score", "exact_match_score"]
    assert [r.model for r in index.runs(algorithm="toxicity")[0]] == ["echo/b"]
    assert [r.model for r in index.runs(dataset="capitals")[0]] == ["echo/a"]
    assert [r.model for r in index.runs(model="/a")[0]] == ["echo/a"]
    assert [r.model for r in index.runs(date_from="2026-11-10")[0]] == ["echo/b"]
    assert [r.model for r in index.runs(date_to="2026-11-01")[0]] == ["echo/a"]
    assert index.runs(model="nobody")[1] == 0
    assert index.algorithms() == ["qa_accuracy", "toxicity"]


def test_records_filter_sort_search_and_page(index: RunIndex) -> None:
    run = index.runs(model="echo/a")[0][0]
    everything = index.records(run.id, RecordQuery(page_size=10))
    assert everything.total == 30 and everything.pages == 3 and len(everything.records) == 10
    top = index.records(run.id, RecordQuery(sort="f1_score", descending=True, page_size=3)).records
    assert [r.row for r in top] == [29, 28, 27]
    ranged = index.records(run.id, RecordQuery(score="f1_score", min_value=0.5, max_value=0.6))
    assert {r.row for r in ranged.records} == {15, 16, 17, 18}
    assert {r.row for r in index.records(run.id, RecordQuery(errors_only=True)).records} == {0, 7, 14, 21, 28}
    assert index.records(run.id, RecordQuery(category="odd")).total == 15
    assert [r.row for r in index.records(run.id, RecordQuery(search="zebra")).records] == [3]
    assert index.records(run.id, RecordQuery(search="question 12")).total >= 1
    assert index.records(run.id, RecordQuery(search="beta")).total == 0  # the other run's words
    for hostile in ['"', "AND (", "NEAR(x", "*", "col:x"]:  # FTS syntax in user text is only text
        index.records(run.id, RecordQuery(search=hostile))
    second = index.records(run.id, RecordQuery(page=2, page_size=10)).records
    assert [r.row for r in second] == list(range(10, 20))
    record, full = index.record(run.id, top[0].id)
    assert full["model_input"] == "question 29 about alpha" and record.scores["f1_score"] == pytest.approx(
        29 / 30
    )


def test_changed_and_vanished_folders(index: RunIndex, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    assert index.refresh() == 0  # nothing changed: nothing re-read
    write_run(runs / "a", records=5, word="gamma")
    results = runs / "a" / "results.json"
    stat = results.stat()
    os.utime(results, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert index.refresh() == 1
    run = index.runs(model="echo/a")[0][0]
    assert run.num_records == 5
    assert index.records(run.id, RecordQuery(search="alpha")).total == 0  # old text left the search index
    assert index.records(run.id, RecordQuery(search="gamma")).total == 5
    shutil.rmtree(runs / "nested")
    assert index.refresh() == 1
    assert index.runs()[1] == 1


def test_a_broken_results_file_is_shown_as_a_problem(tmp_path: Path) -> None:
    folder = write_run(tmp_path / "runs" / "bad")
    (folder / "results.json").write_text(json.dumps([{"dataset_name": "x"}]))
    index = RunIndex(tmp_path / "index.sqlite", [tmp_path / "runs"])
    index.refresh()
    run = index.runs()[0][0]
    assert run.problem is not None and "results.json: item 0: eval_name" in run.problem
