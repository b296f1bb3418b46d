"""Review queues in the fmops store: per-reviewer items, answers, agreement, the run's human score."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from fmops.core.errors import BadInputError
from fmops.store import open_database
from fmops.web import RunIndex
from fmops.web import _review as review
from tests.web._folders import write_run


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Engine, RunIndex]:
    runs = tmp_path / "runs"
    write_run(runs / "a", model="echo/a", records=12)
    write_run(runs / "b", model="echo/b", records=12)
    index = RunIndex(tmp_path / "index.sqlite", [runs])
    index.refresh()
    engine = open_database(f"sqlite:///{tmp_path / 'fmops.sqlite'}")
    return engine, index


def _run_id(index: RunIndex, model: str) -> int:
    return index.runs(model=model)[0][0].id


def test_pointwise_queue_agreement_and_human_score(setup: tuple[Engine, RunIndex]) -> None:
    engine, index = setup
    keys = {name: review.add_reviewer(engine, name) for name in ("ann", "ben")}
    assert review.reviewer_for_key(engine, keys["ann"]) == "ann"
    assert review.reviewer_for_key(engine, keys["ann"] + "x") is None
    with pytest.raises(BadInputError, match="exists already"):
        review.add_reviewer(engine, "ann")
    spec = review.QueueSpec(
        name="helpful",
        run_id=_run_id(index, "echo/a"),
        dataset="capitals",
        reviewers=["ann", "ben"],
        size=6,
        judge_score="f1_score",
    )
    queue_id = review.create_queue(engine, index, spec, "admin")
    ann, ben = review.items(engine, queue_id, "ann"), review.items(engine, queue_id, "ben")
    assert len(ann) == len(ben) == 6 and {i.row for i in ann} == {i.row for i in ben}
    with pytest.raises(KeyError):  # ben cannot answer ann's item
        review.answer(engine, ann[0].id, "ben", rating=3)
    with pytest.raises(BadInputError, match="from 1 to 5"):
        review.answer(engine, ann[0].id, "ann", rating=9)
    # Both rate by the judge's own f1 (row / 12): perfect agreement with each other and with the judge.
    for name, items in (("ann", ann), ("ben", ben)):
        for item in items:
            review.answer(engine, item.id, name, rating=1 + round(4 * item.row / 12), comment="ok")
    summary = review.summarize(engine, index, queue_id)
    assert summary.answered == summary.total == 12
    assert summary.alpha == pytest.approx(1.0) and summary.pairs[0].kappa == pytest.approx(1.0)
    assert summary.judge_alpha is not None and summary.judge_alpha > 0.9
    [score] = review.human_scores(engine, index, index.run(_run_id(index, "echo/a")).path)
    assert score.name == "human_rating:helpful" and score.n == 12
    assert score.value == pytest.approx((summary.mean_rating - 1) / 4)
    assert [q.name for q, _, _ in review.queues(engine, "ann")] == ["helpful"]
    assert review.queues(engine, "carl") == []


def test_pairwise_queue_records_the_shown_order(setup: tuple[Engine, RunIndex]) -> None:
    engine, index = setup
    review.add_reviewer(engine, "ann")
    spec = review.QueueSpec(
        name="a-vs-b",
        kind="pairwise",
        run_id=_run_id(index, "echo/a"),
        run_id_b=_run_id(index, "echo/b"),
        dataset="capitals",
        reviewers=["ann"],
        size=12,
        seed=3,
    )
    queue_id = review.create_queue(engine, index, spec, "admin")
    items = review.items(engine, queue_id, "ann")
    assert {i.b_first for i in items} == {True, False}  # the order is drawn per item
    for item in items:  # always pick the left answer: the preference follows the shown order
        answered = review.answer(engine, item.id, "ann", choice="left")
        assert answered.preference == ("B" if item.b_first else "A")
    summary = review.summarize(engine, index, queue_id)
    assert summary.position_left_rate == 1.0
    assert summary.a_win_rate == pytest.approx(sum(not i.b_first for i in items) / 12)
    scores = {
        s.name: s.value for s in review.human_scores(engine, index, index.run(_run_id(index, "echo/b")).path)
    }
    assert scores["human_preference:a-vs-b"] == pytest.approx(1 - summary.a_win_rate)


def test_bad_queues_are_refused(setup: tuple[Engine, RunIndex]) -> None:
    engine, index = setup
    run_a = _run_id(index, "echo/a")
    with pytest.raises(BadInputError, match="unknown reviewer"):
        review.create_queue(
            engine,
            index,
            review.QueueSpec(name="q", run_id=run_a, dataset="capitals", reviewers=["zed"]),
            "admin",
        )
    with pytest.raises(BadInputError, match="not in run"):
        review.create_queue(
            engine,
            index,
            review.QueueSpec(name="q", run_id=run_a, dataset="nope", reviewers=["zed"]),
            "admin",
        )
    with pytest.raises(BadInputError, match="second, different run"):
        review.create_queue(
            engine,
            index,
            review.QueueSpec(name="q", kind="pairwise", run_id=run_a, dataset="capitals", reviewers=["zed"]),
            "admin",
        )


def test_the_human_review_gate(tmp_path: Path) -> None:
    from fmops.pipelines import StepContext
    from fmops.web._gate import HumanReviewGate, HumanReviewParams

    run = write_run(tmp_path / "runs" / "candidate", records=10)
    url = f"sqlite:///{tmp_path / 'fmops.sqlite'}"
    engine = open_database(url)
    index = RunIndex(tmp_path / "index.sqlite", [run.parent])
    index.refresh()
    review.add_reviewer(engine, "ann")
    spec = review.QueueSpec(
        name="helpful", run_id=index.runs()[0][0].id, dataset="capitals", reviewers=["ann"], size=4
    )
    items = review.items(engine, review.create_queue(engine, index, spec, "admin"), "ann")
    gate = HumanReviewGate()
    params = HumanReviewParams(run=str(run), queue="helpful", min_value=0.7, min_answers=4, store=url)
    ctx = StepContext("people", "k", "p", "r", tmp_path, tmp_path, lambda _message: None)
    keys = [gate.key_extras(params)]

    assert gate.run(params, ctx).gate == "inconclusive"  # nobody answered yet
    for item in items:
        review.answer(engine, item.id, "ann", rating=5)
    passed = gate.run(params, ctx)
    assert passed.gate == "pass" and passed.outputs["value"] == 1.0  # (5 - 1) / 4
    keys.append(gate.key_extras(params))
    for item in items:
        review.answer(engine, item.id, "ann", rating=2)
    assert gate.run(params, ctx).gate == "fail"
    keys.append(gate.key_extras(params))
    assert len({str(k) for k in keys}) == 3  # new answers change the step's cache key
    missing = HumanReviewParams(run=str(run), queue="nope", min_value=0.5, store=url)
    assert gate.run(missing, ctx).gate == "inconclusive"
