"""The scoring phase: one path (`score_batch`) for every executor, cut into the same batches."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from fmops.evaluation import scoring
from fmops.evaluation.algorithms import Algorithm, ScoredRecord


class Counting(Algorithm):
    """Scores a record by its number and remembers every batch it was given."""

    eval_name: ClassVar[str] = "counting"
    score_names: ClassVar[tuple[str, ...]] = ("n",)

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[int]] = []
        self.prepared = 0

    def prepare(self, records: Sequence[dict[str, Any]]) -> None:
        self.prepared += 1

    def score_records(self, records: Sequence[dict[str, Any]]) -> list[ScoredRecord]:
        self.batches.append([r["i"] for r in records])
        return [ScoredRecord(scores={"n": float(r["i"])}) for r in records]


def _records(failed: set[int], count: int = 9) -> list[dict[str, Any]]:
    return [{"i": i, **({"error": f"boom {i}"} if i in failed else {})} for i in range(count)]


def test_batches_hold_a_chunk_of_successful_records_and_failed_ones_get_their_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 3)
    algo, events = Counting(), []
    scored = scoring.score_dataset(
        algo, _records({1, 4, 8}), lambda done, total: events.append((done, total))
    )
    assert algo.prepared == 1
    assert algo.batches == [[0, 2, 3], [5, 6, 7]]  # 3 successful records a batch, in order
    assert [s.scores.get("n") for s in scored] == [0.0, None, 2.0, 3.0, None, 5.0, 6.0, 7.0, None]
    assert scored[4].errors == {"n": "model call failed: boom 4"}
    assert events == [(3, 6), (6, 6)]  # progress counts scored records; a trailing failure adds none


def test_the_ray_path_scores_the_same_cuts_with_the_same_function(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Ray executor's scoring actors run `score_batch` on the cuts `score_dataset` makes."""
    monkeypatch.setattr(scoring, "SCORE_CHUNK", 3)
    records = _records({1, 4})
    local = scoring.score_dataset(Counting(), records)
    sharded, algo = [], Counting()
    for start, end in ((0, 4), (4, 8), (8, 9)):  # 3 successful records a cut, failures ride along
        sharded += scoring.score_batch(algo, records[start:end])
    assert sharded == local
    assert algo.prepared == 0  # the driver prepares once, on the whole dataset


def test_a_dataset_whose_calls_all_failed_is_never_scored() -> None:
    algo, events = Counting(), []
    scored = scoring.score_dataset(algo, _records(set(range(4)), 4), lambda d, t: events.append((d, t)))
    assert algo.batches == [] and events == []
    assert all(s.errors == {"n": f"model call failed: boom {i}"} for i, s in enumerate(scored))
