"""Dynamic batching: concurrent HTTP requests become one model call (one forward pass on a local model).

Requests wait in a queue. When a batch slot is free, the batcher waits until `batch_wait_s` after the
oldest queued request arrived or after the last batch finished, whichever is later (less when a batch
fills first). The second clock matters under load: the callers of a finished batch send their next
requests a moment later, and waiting for them keeps batches whole instead of settling into two
half-size batches that take turns. Then it takes the oldest request's group,
requests that the model can run together (same operation, decoding parameters and prompt kind), up to
`max_batch_size` rows, and calls `Model.generate`/`Model.score` with them. Other groups keep their
place. While a batch runs, new requests pile up, so a busy server sends full batches without waiting.

`concurrency` batches may run at once: 1 for a local device (batches queue for it anyway), more for a
remote provider that takes one request per call and many calls in parallel.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from fmops.models import GenerateRequest, Model, ModelResult, ScoreRequest

Op = Literal["generate", "score"]


class QueueFullError(Exception):
    """The queue holds `max_queue` waiting requests: the caller should answer 503 and the client retry."""


class BatcherClosedError(Exception):
    """The server is shutting down; queued requests are failed rather than left hanging."""


@dataclass(eq=False)
class _Entry:
    """One caller's requests of one group; they stay together in a batch."""

    key: Hashable
    op: Op
    requests: list[Any]
    future: asyncio.Future[list[ModelResult]]
    arrived: float


@dataclass
class BatchStats:
    """What the batcher did: batches sent, rows in them, the largest; `/health` shows them."""

    batches: int = 0
    rows: int = 0
    entries: int = 0
    largest: int = 0
    rejected: int = 0
    sizes: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batches": self.batches,
            "rows": self.rows,
            "requests": self.entries,
            "largest_batch": self.largest,
            "mean_batch": round(self.rows / self.batches, 3) if self.batches else 0.0,
            "rejected": self.rejected,
            "sizes": {str(k): v for k, v in sorted(self.sizes.items())},
        }


def batch_key(op: Op, request: GenerateRequest | ScoreRequest) -> Hashable:
    """Requests with equal keys run in one call: the provider would split a mixed batch anyway."""
    if isinstance(request, GenerateRequest):
        return (op, request.config, request.is_chat, request.system is not None)
    return (op,)


class DynamicBatcher:
    """Collects requests from concurrent callers into batched model calls. Use within one event loop."""

    def __init__(
        self,
        model: Model,
        *,
        max_batch_size: int,
        batch_wait_s: float = 0.005,
        max_queue: int = 256,
        concurrency: int = 1,
    ) -> None:
        if max_batch_size < 1 or max_queue < 1 or concurrency < 1 or batch_wait_s < 0:
            raise ValueError("max_batch_size, max_queue and concurrency must be >= 1, batch_wait_s >= 0")
        self.model = model
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.max_queue = max_queue
        self.concurrency = concurrency
        self.stats = BatchStats()
        self._pending: deque[_Entry] = deque()
        self._wakeup: asyncio.Event | None = None
        self._slots: asyncio.Semaphore | None = None
        self._loop_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._freed_at = 0.0
        self._closed = False

    # -- public -------------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Callers waiting for a batch (not counting those whose batch runs)."""
        return sum(1 for e in self._pending if not e.future.done())

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        return await self.submit("generate", requests)

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        return await self.submit("score", requests)

    async def submit(self, op: Op, requests: Sequence[Any]) -> list[ModelResult]:
        """Queue `requests` and wait for their results, in order; raises QueueFullError when full."""
        if self._closed:
            raise BatcherClosedError("the server is shutting down")
        if not requests:
            return []
        self._start()
        loop = asyncio.get_running_loop()
        groups: dict[Hashable, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(batch_key(op, r), []).append(i)
        if self.queued + len(groups) > self.max_queue:
            self.stats.rejected += 1
            raise QueueFullError(f"{self.queued} requests are queued (at most {self.max_queue})")
        now = time.perf_counter()
        entries = [
            _Entry(key, op, [requests[i] for i in idx], loop.create_future(), now)
            for key, idx in groups.items()
        ]
        self._pending.extend(entries)
        assert self._wakeup is not None
        self._wakeup.set()
        try:
            answers = await asyncio.gather(*(e.future for e in entries))
        except BaseException:
            for e in entries:  # a caller that went away frees its rows before they are batched
                e.future.cancel()
            raise
        results: list[ModelResult | None] = [None] * len(requests)
        for idx, answer in zip(groups.values(), answers, strict=True):
            for i, result in zip(idx, answer, strict=True):
                results[i] = result
        return [r for r in results if r is not None]

    async def close(self) -> None:
        """Stop batching: queued callers get BatcherClosedError, running batches are cancelled."""
        self._closed = True
        tasks = [t for t in (self._loop_task, *self._running) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        while self._pending:
            entry = self._pending.popleft()
            if not entry.future.done():
                entry.future.set_exception(BatcherClosedError("the server is shutting down"))

    # -- the loop -----------------------------------------------------------------------------
    def _start(self) -> None:
        """Start the loop on first use, in the caller's event loop (works under any ASGI harness)."""
        task = self._loop_task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            self._wakeup = asyncio.Event()
            self._slots = asyncio.Semaphore(self.concurrency)
            self._loop_task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        assert self._wakeup is not None and self._slots is not None
        while True:
            while not self._drop_cancelled():
                self._wakeup.clear()
                await self._wakeup.wait()
            await self._slots.acquire()
            try:
                await self._wait_for_batch()
                group = self._take_group()
            except BaseException:
                self._slots.release()
                raise
            if not group:
                self._slots.release()
                continue
            task = asyncio.ensure_future(self._dispatch(group))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._freed_at = time.perf_counter()
        assert self._slots is not None
        self._slots.release()

    def _drop_cancelled(self) -> bool:
        """Forget entries whose callers left; True when something is still waiting."""
        while self._pending and self._pending[0].future.done():
            self._pending.popleft()
        return bool(self._pending)

    def _rows_like_head(self) -> int:
        head = self._pending[0]
        return sum(len(e.requests) for e in self._pending if e.key == head.key and not e.future.done())

    async def _wait_for_batch(self) -> None:
        """Wait until the oldest request's group fills a batch or its window (see module docstring) ends."""
        assert self._wakeup is not None
        while self._drop_cancelled():
            if self._rows_like_head() >= self.max_batch_size:
                return
            start = max(self._pending[0].arrived, self._freed_at)
            remaining = start + self.batch_wait_s - time.perf_counter()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._wakeup.wait()
            except TimeoutError:
                return

    def _take_group(self) -> list[_Entry]:
        """The oldest entry and the next ones of its group that fit; the rest keep their order."""
        if not self._drop_cancelled():
            return []
        key = self._pending[0].key
        taken: list[_Entry] = []
        kept: deque[_Entry] = deque()
        rows = 0
        for entry in self._pending:
            if entry.future.done():
                continue
            fits = not taken or rows + len(entry.requests) <= self.max_batch_size
            if entry.key == key and fits:
                taken.append(entry)
                rows += len(entry.requests)
            else:
                kept.append(entry)
        self._pending = kept
        return taken

    async def _dispatch(self, group: list[_Entry]) -> None:
        rows = [r for e in group for r in e.requests]
        self.stats.batches += 1
        self.stats.rows += len(rows)
        self.stats.entries += len(group)
        self.stats.largest = max(self.stats.largest, len(rows))
        self.stats.sizes[len(rows)] = self.stats.sizes.get(len(rows), 0) + 1
        try:
            if group[0].op == "generate":
                results = list(await self.model.generate(rows, use_store=False))
            else:
                results = list(await self.model.score(rows, use_store=False))
        except asyncio.CancelledError:
            for e in group:
                if not e.future.done():
                    e.future.set_exception(BatcherClosedError("the server is shutting down"))
            raise
        except Exception as exc:  # reported to each caller; the loop goes on
            for e in group:
                if not e.future.done():
                    e.future.set_exception(exc)
            return
        start = 0
        for e in group:
            part = results[start : start + len(e.requests)]
            start += len(e.requests)
            if not e.future.done():
                e.future.set_result(part)
