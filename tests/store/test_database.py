"""The fmops database: URLs, PostgreSQL schemas, and every component's migrations up from empty."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from fmops.core.errors import BadInputError
from fmops.store import _database, database_url, open_database

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _component_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_database.MIGRATIONS))
    config.set_main_option("version_locations", " ".join(_database._version_locations()))
    config.set_main_option("path_separator", "space")
    return set(ScriptDirectory.from_config(config).get_heads())


def test_default_is_sqlite_under_fmops_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FMOPS_STORE_URL", raising=False)
    monkeypatch.setenv("FMOPS_HOME", str(tmp_path))
    assert database_url() == f"sqlite:///{tmp_path / 'fmops.sqlite'}"
    # a response-store SQLite path in FMOPS_STORE_URL is not this database
    monkeypatch.setenv("FMOPS_STORE_URL", "sqlite:////elsewhere/responses.sqlite")
    assert database_url() == f"sqlite:///{tmp_path / 'fmops.sqlite'}"
    monkeypatch.setenv("FMOPS_STORE_URL", "postgresql://u@h/db?schema=s")
    assert database_url() == "postgresql://u@h/db?schema=s"
    assert database_url("sqlite:////x.db") == "sqlite:////x.db"


def test_a_bad_url_or_schema_name_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="expected sqlite"):
        open_database("mysql://nobody@nowhere/db")
    with pytest.raises(BadInputError, match="schema"):
        open_database("postgresql://postgres@127.0.0.1/test?schema=a;drop")


def test_sqlite_is_migrated_to_every_component_head(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = open_database(url)
    heads = _component_heads()
    assert heads, "no component has migrations"
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    assert stored == heads
    assert open_database(url) is engine  # one engine per URL and process


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path / 'shared.sqlite'}"] * 4
    _database._engines.clear()
    # different processes are modelled by dropping the engine cache between opens in threads
    with ThreadPoolExecutor(4) as pool:
        engines = list(pool.map(lambda u: _database._create_engine(u), urls))
        list(pool.map(lambda pair: _database._upgrade(*pair), zip(engines, urls, strict=True)))
    with engines[0].connect() as conn:
        rows = [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]
    assert sorted(rows) == sorted(_component_heads())


@pytest.fixture
def pg_schema() -> Iterator[str]:
    admin = create_engine(PG_ADMIN)
    try:
        with admin.connect():
            pass
    except Exception as exc:  # the machine starts PostgreSQL; say so loudly when it is not there
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    schema = f"fmops_store_{uuid.uuid4().hex[:10]}"
    yield schema
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def test_postgresql_tables_live_in_their_own_schema(pg_schema: str) -> None:
    url = f"postgresql://postgres@127.0.0.1:5432/test?schema={pg_schema}"
    engine = open_database(url)
    tables = set(inspect(engine).get_table_names(schema=pg_schema))
    assert "alembic_version" in tables
    assert len(tables) > 1
    with engine.connect() as conn:
        stored = {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
    assert stored == _component_heads()
    engine.dispose()
    _database._engines.pop(url, None)
