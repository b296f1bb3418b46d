"""Review queues from sampled gateway traffic: a seeded sample of one model's stored answers becomes a
snapshot run folder, reviewed like a run, and its result joins that run as a score."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from fmops.core.errors import BadInputError
from fmops.store import open_database
from fmops.web import RunIndex
from fmops.web import _review as review
from fmops.web._traffic import TrafficSample, snapshot_traffic


def fill_traffic(engine: Engine) -> None:
    """30 stored answers of "qa" (a team with store_content), 10 unstored ones, and 5 of another model."""
    from fmops.gateway import LedgerRow, insert_rows

    now = datetime.now(UTC)
    rows = []
    for i in range(45):
        start = now - timedelta(minutes=i + 1)
        model, stored = ("qa", i < 30) if i < 40 else ("other", True)
        rows.append(
            LedgerRow(
                request_id=f"req{i:02d}",
                received_at=start,
                done_at=start + timedelta(seconds=0.2),
                team_id="team-a",
                model=model,
                endpoint="chat",
                status=200,
                prompt=f"question {i}" if stored else None,
                response=f"answer {i}" if stored else None,
            )
        )
    old = now - timedelta(days=30)  # outside the default window of a week
    rows.append(
        LedgerRow(
            request_id="old",
            received_at=old,
            done_at=old,
            model="qa",
            endpoint="chat",
            status=200,
            prompt="old question",
            response="old answer",
        )
    )
    insert_rows(engine, rows)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Engine, RunIndex, Path]:
    engine = open_database(f"sqlite:///{tmp_path / 'fmops.sqlite'}")
    fill_traffic(engine)
    return engine, RunIndex(tmp_path / "index.sqlite", []), tmp_path / "traffic"


def _request_ids(folder: Path) -> list[str]:
    lines = (folder / "records" / "gateway_traffic_sampled.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["request_id"] for line in lines]


def test_the_sample_is_seeded_and_only_stored_answers_of_the_model(
    setup: tuple[Engine, RunIndex, Path],
) -> None:
    engine, _, root = setup
    first = snapshot_traffic(engine, root, TrafficSample(model="qa", size=8, seed=1), "q")
    again = snapshot_traffic(engine, root, TrafficSample(model="qa", size=8, seed=1), "q")
    other = snapshot_traffic(engine, root, TrafficSample(model="qa", size=8, seed=2), "q")
    ids = _request_ids(first)
    assert ids == _request_ids(again) != _request_ids(other)
    assert len(set(ids)) == 8 and all(int(i[3:]) < 30 for i in ids)  # stored answers of "qa" only
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["algorithm"] == "gateway_traffic" and manifest["model"]["name"] == "qa"
    assert (
        manifest["datasets"][0]["total_rows"] == 30
        and manifest["datasets"][0]["sampling"]["request_ids"] == ids
    )
    everything = snapshot_traffic(
        engine, root, TrafficSample(model="qa", size=100, window_hours=24 * 60), "q"
    )
    assert len(_request_ids(everything)) == 31  # a longer window reaches the old one too
    with pytest.raises(BadInputError, match="no stored answers of gateway model 'nope'.*store_content"):
        snapshot_traffic(engine, root, TrafficSample(model="nope"), "q")


def test_a_traffic_queue_is_reviewed_and_joins_its_snapshot_as_a_score(
    setup: tuple[Engine, RunIndex, Path],
) -> None:
    engine, index, root = setup
    review.add_reviewer(engine, "ann")
    review.add_reviewer(engine, "ben")
    spec = review.QueueSpec(
        name="live answers", run_id=0, dataset="sampled", reviewers=["ann", "ben"], size=6
    )
    queue_id = review.create_traffic_queue(
        engine, index, spec, TrafficSample(model="qa", size=6, seed=3), root, "admin"
    )
    queue = review.queue(engine, queue_id)
    snapshot = index.run_by_path(queue.run_path)
    assert snapshot is not None and snapshot.model == "qa" and snapshot.algorithm == "gateway_traffic"
    assert Path(queue.run_path).parent == root.resolve()
    ann, ben = review.items(engine, queue_id, "ann"), review.items(engine, queue_id, "ben")
    assert len(ann) == len(ben) == 6 and {i.row for i in ann} == set(range(6))
    record, _ = index.record_by_row(snapshot.id, "sampled", ann[0].row)  # type: ignore[misc]
    assert record.output.startswith("answer ") and record.input.startswith("question ")
    for name, items in (("ann", ann), ("ben", ben)):
        for item in items:
            review.answer(engine, item.id, name, rating=4)
    [score] = review.human_scores(engine, index, queue.run_path)
    assert (score.name, score.n, score.value) == ("human_rating:live answers", 12, 0.75)


def test_traffic_queues_refuse_what_they_cannot_do(setup: tuple[Engine, RunIndex, Path]) -> None:
    engine, index, root = setup
    review.add_reviewer(engine, "ann")
    pairwise = review.QueueSpec(name="p", kind="pairwise", run_id=0, dataset="sampled", reviewers=["ann"])
    with pytest.raises(BadInputError, match="pointwise"):
        review.create_traffic_queue(engine, index, pairwise, TrafficSample(model="qa"), root, "admin")
    stranger = review.QueueSpec(name="s", run_id=0, dataset="sampled", reviewers=["zed"])
    with pytest.raises(BadInputError, match="unknown reviewer"):
        review.create_traffic_queue(engine, index, stranger, TrafficSample(model="qa"), root, "admin")
    assert not root.exists()  # nothing written for a refused queue
