"""Human review: queues built from a run (pointwise ratings on a rubric), from two runs on the same dataset
(pairwise preferences, order drawn at random and recorded) or from sampled gateway traffic (a snapshot run,
`_traffic.py`), one list of items per reviewer, answers,
agreement between reviewers and against a judge's score, and the results as a score of the run.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from collections import defaultdict
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import Engine, func, select

from fmops.core.errors import BadInputError
from fmops.store import session_scope
from fmops.web._agreement import cohen_kappa, krippendorff_alpha
from fmops.web._index import RunIndex
from fmops.web._review_models import Reviewer, ReviewItem, ReviewQueue
from fmops.web._traffic import DATASET as TRAFFIC_DATASET
from fmops.web._traffic import TrafficSample, snapshot_traffic

KEY_PREFIX = "fmr_"


class QueueSpec(BaseModel):
    """What an admin asks for when building a queue (the form's fields, validated)."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["pointwise", "pairwise"] = "pointwise"
    run_id: int
    run_id_b: int | None = None
    dataset: str = Field(min_length=1)
    reviewers: list[str] = Field(min_length=1)
    size: int = Field(default=20, ge=1, le=10_000)
    seed: int = 0
    scale_min: int = 1
    scale_max: int = 5
    rubric: str = ""
    judge_score: str | None = None

    @field_validator("reviewers")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = list(dict.fromkeys(v.strip() for v in value if v.strip()))
        if not names:
            raise ValueError("name at least one reviewer")
        return names


class PairAgreement(BaseModel):
    a: str
    b: str
    kappa: float | None
    n: int


class QueueSummary(BaseModel):
    """Answers and agreement of one queue: what the review page shows and a pipeline gate can read."""

    queue_id: int
    name: str
    kind: str
    answered: int
    total: int
    mean_rating: float | None = None
    a_win_rate: float | None = None
    alpha: float | None = None
    pairs: list[PairAgreement] = []
    judge_score: str | None = None
    judge_alpha: float | None = None
    judge_kappa: float | None = None
    position_left_rate: float | None = None


class HumanScore(BaseModel):
    """A review queue's result joined to its run as a score (0..1)."""

    name: str
    value: float | None
    n: int
    queue_id: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def add_reviewer(engine: Engine, name: str) -> str:
    """Create a reviewer and return their new key (kept only as a hash: show it once)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise BadInputError("reviewer name: expected 1 to 100 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(24)
    with session_scope(engine) as session:
        if session.scalar(select(Reviewer).where(Reviewer.name == name)) is not None:
            raise BadInputError(f"reviewer {name!r} exists already")
        session.add(Reviewer(name=name, key_hash=_hash(key), created_at=_now()))
    return key


def reviewer_for_key(engine: Engine, key: str) -> str | None:
    if not key.startswith(KEY_PREFIX):
        return None
    with session_scope(engine) as session:
        found = session.scalar(select(Reviewer).where(Reviewer.key_hash == _hash(key)))
        return found.name if found else None


def reviewers(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Reviewer.name).order_by(Reviewer.name)))


def create_queue(engine: Engine, index: RunIndex, spec: QueueSpec, created_by: str) -> int:
    """Sample `spec.size` records of the run's dataset (seeded) and give every reviewer all of them, each in
    their own order; pairwise items draw which run's answer is shown on the left."""
    run = index.run(spec.run_id)
    if spec.dataset not in run.datasets:
        raise BadInputError(f"dataset {spec.dataset!r} is not in run {run.name} ({', '.join(run.datasets)})")
    rows = index.rows(spec.run_id, spec.dataset)
    path_b = None
    if spec.kind == "pairwise":
        if spec.run_id_b is None or spec.run_id_b == spec.run_id:
            raise BadInputError("a pairwise queue needs a second, different run (run B)")
        run_b = index.run(spec.run_id_b)
        rows = sorted(set(rows) & set(index.rows(spec.run_id_b, spec.dataset)))
        if not rows:
            raise BadInputError(f"runs {run.name} and {run_b.name} share no record of {spec.dataset!r}")
        path_b = run_b.path
    if not rows:
        raise BadInputError(f"run {run.name} has no records of {spec.dataset!r} to review")
    if spec.scale_max <= spec.scale_min:
        raise BadInputError("rating scale: the maximum must be above the minimum")
    known = set(reviewers(engine))
    missing = [r for r in spec.reviewers if r not in known]
    if missing:
        raise BadInputError(f"unknown reviewer(s): {', '.join(missing)}; add them first")
    rng = random.Random(spec.seed)
    sample = sorted(rng.sample(rows, min(spec.size, len(rows))))
    with session_scope(engine) as session:
        queue = ReviewQueue(
            name=spec.name,
            kind=spec.kind,
            run_path=run.path,
            run_path_b=path_b,
            dataset=spec.dataset,
            scale_min=spec.scale_min,
            scale_max=spec.scale_max,
            rubric=spec.rubric,
            judge_score=spec.judge_score or None,
            created_by=created_by,
            created_at=_now(),
        )
        session.add(queue)
        session.flush()
        for reviewer in spec.reviewers:
            order = sample[:]
            rng.shuffle(order)
            for position, row in enumerate(order):
                session.add(
                    ReviewItem(
                        queue_id=queue.id,
                        reviewer=reviewer,
                        row=row,
                        position=position,
                        b_first=spec.kind == "pairwise" and rng.random() < 0.5,
                    )
                )
        return queue.id


def create_traffic_queue(
    engine: Engine,
    index: RunIndex,
    spec: QueueSpec,
    sample: TrafficSample,
    root: Path,
    created_by: str,
) -> int:
    """A pointwise queue over a seeded sample of a gateway model's stored answers: the sample is written
    as a run folder under `root` (indexed now) and the queue is built from it like any run queue. `spec`'s
    run and dataset are ignored; its size, seed, reviewers, scale and rubric hold."""
    if spec.kind != "pointwise":
        raise BadInputError("a queue from gateway traffic is pointwise (answers to different prompts)")
    missing = [r for r in spec.reviewers if r not in set(reviewers(engine))]
    if missing:  # before anything is written
        raise BadInputError(f"unknown reviewer(s): {', '.join(missing)}; add them first")
    root = root.resolve()
    folder = snapshot_traffic(engine, root, sample, spec.name)
    if root not in index.roots:
        index.roots.append(root)
    index.refresh()
    run = index.run_by_path(str(folder))
    if run is None:
        raise BadInputError(f"{folder}: the traffic snapshot could not be indexed")
    update = {"run_id": run.id, "run_id_b": None, "dataset": TRAFFIC_DATASET, "size": sample.size}
    return create_queue(engine, index, spec.model_copy(update=update), created_by)


def queues(engine: Engine, reviewer: str | None = None) -> list[tuple[ReviewQueue, int, int]]:
    """(queue, answered, total) for every queue, or only the queues with items for `reviewer`."""
    with session_scope(engine) as session:
        stmt = select(
            ReviewItem.queue_id, func.count(ReviewItem.answered_at), func.count(ReviewItem.id)
        ).group_by(ReviewItem.queue_id)
        if reviewer is not None:
            stmt = stmt.where(ReviewItem.reviewer == reviewer)
        counts = {q: (a, t) for q, a, t in session.execute(stmt)}
        found = session.scalars(select(ReviewQueue).order_by(ReviewQueue.id.desc())).all()
        return [(q, *counts.get(q.id, (0, 0))) for q in found if reviewer is None or q.id in counts]


def queue(engine: Engine, queue_id: int) -> ReviewQueue:
    with session_scope(engine) as session:
        found = session.get(ReviewQueue, queue_id)
    if found is None:
        raise KeyError(queue_id)
    return found


def items(engine: Engine, queue_id: int, reviewer: str) -> list[ReviewItem]:
    with session_scope(engine) as session:
        return list(
            session.scalars(
                select(ReviewItem)
                .where(ReviewItem.queue_id == queue_id, ReviewItem.reviewer == reviewer)
                .order_by(ReviewItem.position)
            )
        )


def answer(
    engine: Engine,
    item_id: int,
    reviewer: str,
    *,
    rating: int | None = None,
    choice: str | None = None,
    comment: str = "",
) -> ReviewItem:
    """Record a reviewer's answer to their own item: a rating (pointwise) or "left"/"right"/"tie" (pairwise,
    turned into A/B with the item's recorded order)."""
    with session_scope(engine) as session:
        item = session.get(ReviewItem, item_id)
        if item is None or item.reviewer != reviewer:
            raise KeyError(item_id)  # another reviewer's item does not exist for this one
        parent = session.get(ReviewQueue, item.queue_id)
        assert parent is not None
        if parent.kind == "pointwise":
            if rating is None or not parent.scale_min <= rating <= parent.scale_max:
                raise BadInputError(
                    f"rating: expected a whole number from {parent.scale_min} to {parent.scale_max}"
                )
            item.rating = rating
        else:
            if choice not in ("left", "right", "tie"):
                raise BadInputError("choice: expected left, right or tie")
            item.chosen_position = choice
            if choice == "tie":
                item.preference = "tie"
            else:
                left = "B" if item.b_first else "A"
                item.preference = left if choice == "left" else ("A" if left == "B" else "B")
        item.comment = comment.strip() or None
        item.answered_at = _now()
        session.flush()
        return item


def summarize(engine: Engine, index: RunIndex, queue_id: int) -> QueueSummary:
    """Answers, agreement between reviewers (Cohen's kappa per pair, Krippendorff's alpha over all) and with
    the judge's score when the queue names one."""
    parent = queue(engine, queue_id)
    with session_scope(engine) as session:
        all_items = list(session.scalars(select(ReviewItem).where(ReviewItem.queue_id == queue_id)))
    answered = [i for i in all_items if i.answered_at]
    summary = QueueSummary(
        queue_id=queue_id,
        name=parent.name,
        kind=parent.kind,
        answered=len(answered),
        total=len(all_items),
        judge_score=parent.judge_score,
    )
    by_reviewer: dict[str, dict[int, object]] = defaultdict(dict)
    for item in answered:
        value = item.rating if parent.kind == "pointwise" else item.preference
        by_reviewer[item.reviewer][item.row] = value
    units: dict[int, list[object]] = defaultdict(list)
    for values in by_reviewer.values():
        for row, value in values.items():
            units[row].append(value)
    level: Literal["nominal", "interval"] = "interval" if parent.kind == "pointwise" else "nominal"
    summary.alpha = krippendorff_alpha(units, level)  # type: ignore[arg-type]
    for a, b in combinations(sorted(by_reviewer), 2):
        shared = sorted(set(by_reviewer[a]) & set(by_reviewer[b]))
        kappa = cohen_kappa([by_reviewer[a][r] for r in shared], [by_reviewer[b][r] for r in shared])  # type: ignore[misc]
        summary.pairs.append(PairAgreement(a=a, b=b, kappa=kappa, n=len(shared)))
    if parent.kind == "pointwise":
        ratings = [float(i.rating) for i in answered if i.rating is not None]
        summary.mean_rating = sum(ratings) / len(ratings) if ratings else None
    else:
        decided = [i.preference for i in answered if i.preference in ("A", "B")]
        summary.a_win_rate = decided.count("A") / len(decided) if decided else None
        chosen = [i.chosen_position for i in answered if i.chosen_position in ("left", "right")]
        summary.position_left_rate = chosen.count("left") / len(chosen) if chosen else None
    if parent.judge_score:
        _judge_agreement(index, parent, by_reviewer, summary)
    return summary


def _judge_agreement(
    index: RunIndex, parent: ReviewQueue, by_reviewer: dict[str, dict[int, object]], summary: QueueSummary
) -> None:
    judge_a = _judge_values(index, parent.run_path, parent.dataset, str(parent.judge_score))
    if parent.kind == "pointwise":
        span = parent.scale_max - parent.scale_min
        units: dict[tuple[str, int], list[float]] = {}
        for reviewer, values in by_reviewer.items():
            for row, rating in values.items():
                judge = judge_a.get(row)
                if judge is not None and rating is not None:
                    # Ratings scaled to 0..1 so they sit on the judge score's scale.
                    units[(reviewer, row)] = [(float(rating) - parent.scale_min) / span, judge]  # type: ignore[arg-type]
        summary.judge_alpha = krippendorff_alpha(units, "interval")
        return
    judge_b = _judge_values(index, parent.run_path_b or "", parent.dataset, str(parent.judge_score))
    people, judged = [], []
    for values in by_reviewer.values():
        for row, preference in values.items():
            a, b = judge_a.get(row), judge_b.get(row)
            if a is None or b is None:
                continue
            people.append(preference)
            judged.append("A" if a > b else "B" if b > a else "tie")
    summary.judge_kappa = cohen_kappa(people, judged) if people else None


def _judge_values(index: RunIndex, path: str, dataset: str, score: str) -> dict[int, float]:
    run = index.run_by_path(path)
    return index.score_values(run.id, dataset, score) if run else {}


def human_scores(engine: Engine, index: RunIndex, run_path: str) -> list[HumanScore]:
    """The review results of a run as scores: the mean rating scaled to 0..1 of each pointwise queue, and the
    share of decided pairs it won of each pairwise queue it is part of."""
    with session_scope(engine) as session:
        found = list(
            session.scalars(
                select(ReviewQueue).where(
                    (ReviewQueue.run_path == run_path) | (ReviewQueue.run_path_b == run_path)
                )
            )
        )
    scores = []
    for parent in found:
        summary = summarize(engine, index, parent.id)
        if parent.kind == "pointwise":
            span = parent.scale_max - parent.scale_min
            value = None if summary.mean_rating is None else (summary.mean_rating - parent.scale_min) / span
            scores.append(
                HumanScore(
                    name=f"human_rating:{parent.name}", value=value, n=summary.answered, queue_id=parent.id
                )
            )
        else:
            win = summary.a_win_rate
            if win is not None and parent.run_path_b == run_path:
                win = 1.0 - win
            scores.append(
                HumanScore(
                    name=f"human_preference:{parent.name}", value=win, n=summary.answered, queue_id=parent.id
                )
            )
    return scores
