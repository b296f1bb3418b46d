"""The scoring phase: one path for every executor, pure and batched, never a model call.

`score_batch` is the unit every executor runs (the local one in-process, the Ray one in its scoring
actors); `score_dataset` cuts a dataset into the batches both executors make: `SCORE_CHUNK` records whose
model call succeeded at a time, the failed ones in between riding along to get their error. Helper models
(BERTScore encoder, toxicity detector) score a batch to the last float bit only for the same batch, so
equal cuts give identical scores whichever executor ran them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fmops.evaluation.algorithms import Algorithm, ScoredRecord

Record = dict[str, Any]
#: Records (with a successful model call) per scoring batch.
SCORE_CHUNK = 1000


def score_batch(algo: Algorithm, records: Sequence[Record]) -> list[ScoredRecord]:
    """Score one batch with one `score_records` call (no `prepare`: the caller did it on the whole
    dataset); records whose model call failed get that error for every score."""
    ok = [i for i, r in enumerate(records) if not r.get("error")]
    scored: list[ScoredRecord | None] = [None] * len(records)
    if len(ok) < len(records):
        names = tuple(algo.score_names)
        for i, record in enumerate(records):
            if record.get("error"):
                scored[i] = ScoredRecord(errors=dict.fromkeys(names, f"model call failed: {record['error']}"))
    if ok:
        for i, result in zip(ok, algo.score_records([records[i] for i in ok]), strict=True):
            scored[i] = result
    return [s for s in scored if s is not None]


def score_dataset(
    algo: Algorithm,
    records: Sequence[Record],
    progress: Callable[[int, int], None] | None = None,
) -> list[ScoredRecord]:
    """Prepare on the whole dataset, then score it batch by batch (progress counts scored records)."""
    algo.prepare(records)
    chunk = SCORE_CHUNK  # read now: tests make it small
    total_ok = sum(1 for r in records if not r.get("error"))
    scored: list[ScoredRecord] = []
    start = done = in_chunk = 0
    for end, record in enumerate(records, 1):
        if not record.get("error"):
            in_chunk += 1
        if in_chunk == chunk:
            scored += score_batch(algo, records[start:end])
            done, start, in_chunk = done + in_chunk, end, 0
            if progress is not None:
                progress(done, total_ok)
    if start < len(records):
        scored += score_batch(algo, records[start:])
        if in_chunk and progress is not None:
            progress(done + in_chunk, total_ok)
    return scored


__all__ = ["SCORE_CHUNK", "score_batch", "score_dataset"]
