"""ORM models of the review tables (migration branch `review`)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fmops.store import Base


class Reviewer(Base):
    __tablename__ = "review_reviewers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Only the SHA-256 of a reviewer's key is kept: the key itself is shown once, when it is made.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[str] = mapped_column(String(40))


class ReviewQueue(Base):
    __tablename__ = "review_queues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # "pointwise" | "pairwise"
    run_path: Mapped[str] = mapped_column(Text)
    run_path_b: Mapped[str | None] = mapped_column(Text, nullable=True)
    dataset: Mapped[str] = mapped_column(String(200))
    scale_min: Mapped[int] = mapped_column(Integer, default=1)
    scale_max: Mapped[int] = mapped_column(Integer, default=5)
    rubric: Mapped[str] = mapped_column(Text, default="")
    judge_score: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[str] = mapped_column(String(40))


class ReviewItem(Base):
    """One record of a queue for one reviewer, and that reviewer's answer once given."""

    __tablename__ = "review_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    queue_id: Mapped[int] = mapped_column(Integer, ForeignKey("review_queues.id"))
    reviewer: Mapped[str] = mapped_column(String(100))
    row: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    # Pairwise: whether run B's answer is shown on the left (drawn at random per item, recorded).
    b_first: Mapped[bool] = mapped_column(Boolean, default=False)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    preference: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "A" | "B" | "tie"
    chosen_position: Mapped[str | None] = mapped_column(String(8), nullable=True)  # "left"|"right"|"tie"
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    answered_at: Mapped[str | None] = mapped_column(String(40), nullable=True)
