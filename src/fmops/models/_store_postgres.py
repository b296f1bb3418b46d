"""The response store on PostgreSQL: one store that every worker of a cluster shares.

Same semantics as `SQLiteStore`: each successful result is committed as it arrives (autocommit), failed
results are never stored, a key stored twice keeps the last result. The table (and its schema, when the
URL names one with `?schema=NAME`) is created on first use, under an advisory lock so that many workers
starting together do not race. psycopg (v3) is imported here only, with an install hint when missing.

    FMOPS_STORE_URL=postgresql://user@host:5432/db?schema=fmops fmops eval ...
"""

from __future__ import annotations

import json
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fmops.core.errors import BadInputError, MissingDependencyError, RunError
from fmops.models._store import StoredEntry, StoreStats, _SQLStore
from fmops.models._types import ModelResult

DEFAULT_TABLE = "fmops_responses"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def split_store_url(url: str) -> tuple[str, str | None]:
    """(connection URL without fmops's own `schema` parameter, schema or None)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), None)
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema or None


def redact(url: str) -> str:
    """The URL with its password replaced, for messages and `stats().url`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresStore(_SQLStore):
    """Results in one PostgreSQL table; safe to share between threads (one connection, one lock).

    Picklable: a copy reconnects with the same URL, so a store object can be handed to cluster workers.
    """

    _CHUNK = 1000

    def __init__(self, url: str, *, schema: str | None = None, table: str = DEFAULT_TABLE) -> None:
        dsn, url_schema = split_store_url(url)
        self._url_arg = url
        self._dsn = dsn
        self.schema = schema or url_schema
        self.table = table
        for name in (self.schema, table):
            if name is not None and not _IDENTIFIER.match(name):
                raise BadInputError(f"response store {redact(url)}: {name!r} is not a plain SQL identifier")
        self.url = redact(url if schema is None else _with_schema(url, schema))
        self._qualified = f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'
        self._lock = threading.Lock()
        self._db: Any = None
        with self._lock:
            self._connect()

    # -- connection ---------------------------------------------------------------------------
    def _connect(self) -> None:
        try:
            import psycopg
        except ImportError:
            raise MissingDependencyError(
                "psycopg[binary]", "postgres", "the PostgreSQL response store"
            ) from None
        try:
            self._db = psycopg.connect(self._dsn, autocommit=True, connect_timeout=30)
            self._create_schema()
        except psycopg.Error as exc:
            raise RunError(f"response store {self.url}: cannot open it ({_first_line(exc)})") from None

    def _create_schema(self) -> None:
        lock_id = zlib.crc32(f"fmops:{self._qualified}".encode())
        with self._db.transaction():
            # Workers starting together would race on CREATE ... IF NOT EXISTS; one at a time.
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id,))
            if self.schema:
                self._db.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            self._db.execute(
                f"""CREATE TABLE IF NOT EXISTS {self._qualified} (
                    key TEXT PRIMARY KEY,
                    model TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    request JSONB NOT NULL,
                    result TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL
                )"""
            )
            index = f'"{self.table}_model"'
            self._db.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {self._qualified} (model)")

    def _execute(self, query: str, params: Sequence[Any] = ()) -> Any:
        """Run one statement; a dropped connection is reopened once (the statement is idempotent)."""
        import psycopg

        for attempt in (0, 1):
            try:
                if self._db is None or self._db.closed:
                    self._connect()
                return self._db.execute(query, params)
            except psycopg.OperationalError as exc:
                if attempt or not (self._db is None or self._db.closed or self._db.broken):
                    raise RunError(f"response store {self.url}: {_first_line(exc)}") from None
                self._db = None
        raise AssertionError("unreachable")

    # -- ResponseStore ------------------------------------------------------------------------
    def _select(self, keys: list[str]) -> Iterable[tuple[str, str]]:
        return self._execute(
            f"SELECT key, result FROM {self._qualified} WHERE key = ANY(%s)", (keys,)
        ).fetchall()

    def _upsert(self, row: tuple[str, str, str, str, str, float]) -> None:
        self._execute(
            f"INSERT INTO {self._qualified} VALUES (%s, %s, %s, %s::jsonb, %s, %s) "
            "ON CONFLICT (key) DO UPDATE SET model = EXCLUDED.model, fingerprint = EXCLUDED.fingerprint, "
            "request = EXCLUDED.request, result = EXCLUDED.result, created_at = EXCLUDED.created_at",
            row,
        )

    def stats(self) -> StoreStats:
        with self._lock:
            by_model = dict(
                self._execute(
                    f"SELECT model, COUNT(*) FROM {self._qualified} GROUP BY model ORDER BY model"
                ).fetchall()
            )
            size = self._execute("SELECT pg_total_relation_size(%s)", (self._qualified,)).fetchone()[0]
        by_model = {str(k): int(v) for k, v in by_model.items()}
        return StoreStats(url=self.url, entries=sum(by_model.values()), size_bytes=size, by_model=by_model)

    def clear(self, model: str | None = None) -> int:
        with self._lock:
            if model is None:
                cursor = self._execute(f"DELETE FROM {self._qualified}")
            else:
                cursor = self._execute(f"DELETE FROM {self._qualified} WHERE model = %s", (model,))
            return int(cursor.rowcount)

    def entries(self, model: str | None = None) -> Iterator[StoredEntry]:
        query = f"SELECT key, model, fingerprint, request, result, created_at FROM {self._qualified}"
        params: tuple[str, ...] = ()
        if model is not None:
            query += " WHERE model = %s"
            params = (model,)
        with self._lock:
            rows = self._execute(query + " ORDER BY created_at, key", params).fetchall()
        for key, name, fingerprint, request, result, created in rows:
            request = json.loads(request) if isinstance(request, str) else request
            yield StoredEntry(
                key, name, fingerprint, request, ModelResult.model_validate_json(result), float(created)
            )

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __reduce__(self) -> tuple[Any, ...]:
        return (_reopen, (self._url_arg, self.schema, self.table))

    def __repr__(self) -> str:
        return f"PostgresStore({self.url!r})"


def _reopen(url: str, schema: str | None, table: str) -> PostgresStore:
    return PostgresStore(url, schema=schema, table=table)


def _with_schema(url: str, schema: str) -> str:
    dsn, _ = split_store_url(url)
    parts = urlsplit(dsn)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("schema", schema)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
