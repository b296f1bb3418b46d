"""The response store: a content-addressed cache of model results that makes every run resumable.

A key is the SHA-256 of the model's fingerprint and the canonical request (including the sample index
when decoding is random). Each result is committed as it arrives, so a run killed at any point loses
at most the calls in flight. Failed results are never stored. `ResponseStore` is the interface a
PostgreSQL backend (FMOPS_STORE_URL=postgresql://...) would implement; SQLite is the embedded default.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, RunError
from fmops.core.settings import fmops_home
from fmops.models._types import GenerateRequest, ModelResult, ScoreRequest, canonical_request

_OPEN_LOCK = threading.Lock()
_OPEN_RETRY_S = 30.0

STORE_URL_ENV = "FMOPS_STORE_URL"


def request_key(fingerprint: str, op: str, request: GenerateRequest | ScoreRequest) -> str:
    """The content address of one request to one model."""
    payload = json.dumps(
        {"fingerprint": fingerprint, "request": canonical_request(op, request)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredEntry:
    key: str
    model: str
    fingerprint: str
    request: dict[str, Any]
    result: ModelResult
    created_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "model": self.model,
            "fingerprint": self.fingerprint,
            "created_at": self.created_at,
            "request": self.request,
            "result": self.result.model_dump(mode="json", exclude={"cached"}),
        }


@dataclass(frozen=True, slots=True)
class StoreStats:
    url: str
    entries: int
    size_bytes: int | None
    by_model: dict[str, int] = field(default_factory=dict)


class ResponseStore(ABC):
    """Where results live between runs. Implementations must be safe to share between threads."""

    url: str

    @abstractmethod
    def get_many(self, keys: Sequence[str]) -> dict[str, ModelResult]:
        """Stored results for those keys that have one (marked `cached=True`)."""

    @abstractmethod
    def put(
        self, key: str, *, model: str, fingerprint: str, request: dict[str, Any], result: ModelResult
    ) -> None:
        """Store one successful result durably before returning."""

    @abstractmethod
    def stats(self) -> StoreStats: ...

    @abstractmethod
    def clear(self, model: str | None = None) -> int:
        """Delete every entry (or one model's); returns how many went."""

    @abstractmethod
    def entries(self, model: str | None = None) -> Iterator[StoredEntry]: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the connection."""


class _SQLStore(ResponseStore):
    """What the SQL stores share: one row per result (the request as sorted JSON, the result without its
    `cached` flag), looked up in chunks of keys, under one lock per connection."""

    _CHUNK = 500
    _lock: threading.Lock

    @abstractmethod
    def _select(self, keys: list[str]) -> Iterable[tuple[str, str]]:
        """(key, result JSON) of the stored rows among `keys` (called with the lock held)."""

    @abstractmethod
    def _upsert(self, row: tuple[str, str, str, str, str, float]) -> None:
        """Insert or replace (key, model, fingerprint, request, result, created_at) (lock held)."""

    def get_many(self, keys: Sequence[str]) -> dict[str, ModelResult]:
        found: dict[str, ModelResult] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), self._CHUNK):
                for key, text in self._select(unique[start : start + self._CHUNK]):
                    found[key] = ModelResult.model_validate_json(text).model_copy(update={"cached": True})
        return found

    def put(
        self, key: str, *, model: str, fingerprint: str, request: dict[str, Any], result: ModelResult
    ) -> None:
        if result.error is not None:
            return
        row = (
            key,
            model,
            fingerprint,
            json.dumps(request, ensure_ascii=False, sort_keys=True),
            result.model_dump_json(exclude={"cached"}),
            time.time(),
        )
        with self._lock:
            self._upsert(row)


class SQLiteStore(_SQLStore):
    """SQLite in WAL mode: readers never block the writer, commits survive a killed process."""

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS responses (
            key TEXT PRIMARY KEY,
            model TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            request TEXT NOT NULL,
            result TEXT NOT NULL,
            created_at REAL NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX IF NOT EXISTS responses_model ON responses (model);
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        # Switching a new file to WAL takes an exclusive lock that SQLite's busy timeout does not wait for:
        # models of one comparison opening a fresh store together would see "database is locked". One
        # opener per process at a time, and a bounded retry for other processes.
        deadline = time.monotonic() + _OPEN_RETRY_S
        while True:
            try:
                with _OPEN_LOCK:
                    self._db = self._connect()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise RunError(f"response store {self.path}: cannot open it ({exc})") from None
                time.sleep(0.05)
            except sqlite3.Error as exc:
                raise RunError(f"response store {self.path}: cannot open it ({exc})") from None

    def _connect(self) -> sqlite3.Connection:
        # Autocommit (isolation_level=None): every write is its own committed transaction.
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives the process being killed (only power loss can undo it).
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(self._SCHEMA)
        except sqlite3.Error:
            db.close()
            raise
        return db

    def _select(self, keys: list[str]) -> Iterable[tuple[str, str]]:
        marks = ",".join("?" * len(keys))
        return self._db.execute(f"SELECT key, result FROM responses WHERE key IN ({marks})", keys).fetchall()

    def _upsert(self, row: tuple[str, str, str, str, str, float]) -> None:
        self._db.execute("INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?)", row)

    def stats(self) -> StoreStats:
        with self._lock:
            by_model = dict(
                self._db.execute("SELECT model, COUNT(*) FROM responses GROUP BY model ORDER BY model")
            )
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return StoreStats(url=self.url, entries=sum(by_model.values()), size_bytes=size, by_model=by_model)

    def clear(self, model: str | None = None) -> int:
        with self._lock:
            if model is None:
                cursor = self._db.execute("DELETE FROM responses")
            else:
                cursor = self._db.execute("DELETE FROM responses WHERE model = ?", (model,))
            count = cursor.rowcount
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return count

    def entries(self, model: str | None = None) -> Iterator[StoredEntry]:
        query = "SELECT key, model, fingerprint, request, result, created_at FROM responses"
        params: tuple[str, ...] = ()
        if model is not None:
            query += " WHERE model = ?"
            params = (model,)
        with self._lock:
            rows = self._db.execute(query + " ORDER BY created_at, key", params).fetchall()
        for key, name, fingerprint, request, result, created in rows:
            yield StoredEntry(
                key, name, fingerprint, json.loads(request), ModelResult.model_validate_json(result), created
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()


def default_store_path() -> Path:
    return fmops_home() / "responses.sqlite"


def open_store(url: str | Path | None = None) -> ResponseStore:
    """Open the store at `url` (a path or sqlite:///path), else $FMOPS_STORE_URL, else FMOPS_HOME's SQLite."""
    target = str(url) if url is not None else os.environ.get(STORE_URL_ENV, "")
    if not target:
        return SQLiteStore(default_store_path())
    if target.startswith(("postgresql://", "postgres://")):
        from fmops.models._store_postgres import PostgresStore

        return PostgresStore(target)
    if target.startswith("sqlite:///"):
        return SQLiteStore(target.removeprefix("sqlite:///") or default_store_path())
    if "://" in target:
        raise BadInputError(f"response store {target!r}: expected a file path or sqlite:///PATH")
    return SQLiteStore(target)
