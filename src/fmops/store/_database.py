"""Engines, sessions and the migration runner behind `fmops.store`."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from fmops.core.errors import BadInputError
from fmops.core.settings import fmops_home

STORE_URL_ENV = "FMOPS_STORE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class Base(DeclarativeBase):
    """Declarative base of every fmops table (each component declares its own models on it)."""


def database_url(url: str | None = None) -> str:
    """The database to use: `url`, else $FMOPS_STORE_URL when it names PostgreSQL, else FMOPS_HOME's SQLite.

    ($FMOPS_STORE_URL may also name the response store's own SQLite file; that file is not this database.)
    """
    if url:
        return url
    env = os.environ.get(STORE_URL_ENV, "")
    if env.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return env
    return f"sqlite:///{fmops_home() / 'fmops.sqlite'}"


def open_database(url: str | None = None, *, migrate: bool = True) -> Engine:
    """A shared engine for `url` (see `database_url`), its schema upgraded to every component's head."""
    resolved = database_url(url)
    with _engines_lock:
        engine = _engines.get(resolved)
        if engine is None:
            engine = _create_engine(resolved)
            if migrate:
                _upgrade(engine, resolved)
            _engines[resolved] = engine
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits when the block ends and rolls back when it raises."""
    with sessionmaker(engine, expire_on_commit=False).begin() as session:
        yield session


def _create_engine(url: str) -> Engine:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        sqlalchemy_url, schema = _postgres_url(url)
        connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
        engine = create_engine(sqlalchemy_url, connect_args=connect_args, pool_pre_ping=True)
        if schema:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        return engine
    raise BadInputError(
        f"database URL {url!r}: expected sqlite:///PATH or postgresql://USER@HOST/DB[?schema=NAME]"
    )


def _postgres_url(url: str) -> tuple[str, str | None]:
    """(SQLAlchemy URL with the psycopg driver, the `schema` query parameter or None)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", None)
    if schema is not None and not schema.replace("_", "").isalnum():
        raise BadInputError(f"database URL {url!r}: schema {schema!r} must be letters, digits and '_'")
    rebuilt = parts._replace(scheme="postgresql+psycopg", query=urlencode(query))
    return urlunsplit(rebuilt), schema


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    # WAL lets readers go on while one process writes; foreign keys are off in SQLite unless asked for.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _version_locations() -> list[str]:
    versions = MIGRATIONS / "versions"
    if not versions.is_dir():
        return []
    return sorted(str(p) for p in versions.iterdir() if p.is_dir() and not p.name.startswith("__"))


def _upgrade(engine: Engine, url: str) -> None:
    """Upgrade every migration branch to its head, one process at a time."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    locations = _version_locations()
    if not locations:
        return
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_locations", " ".join(locations))
    config.set_main_option("path_separator", "space")
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with _migration_lock(engine, url), engine.begin() as connection:
        if set(MigrationContext.configure(connection).get_current_heads()) == heads:
            return
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


@contextmanager
def _migration_lock(engine: Engine, url: str) -> Iterator[None]:
    """Serialise migrations across processes: an advisory lock on PostgreSQL, a lock file beside SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(4242001)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(4242001)"))
                conn.commit()
        return
    path = url.removeprefix("sqlite:///")
    if not path or path == ":memory:":
        yield
        return
    with open(f"{path}.migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
