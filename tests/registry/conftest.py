"""Registry fixtures: the database under test, SQLite (FMOPS_HOME) or a PostgreSQL schema of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

SERVER = os.environ.get("FMOPS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_reachable() -> bool:
    try:
        import psycopg

        psycopg.connect(SERVER, connect_timeout=3).close()
    except Exception:
        return False
    return True


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, _isolated_home: object) -> Iterator[str]:
    """Each registry test runs on SQLite (under this test's FMOPS_HOME) and on its own PostgreSQL schema."""
    from pathlib import Path

    if request.param == "sqlite":
        yield f"sqlite:///{Path(os.environ['FMOPS_HOME']) / 'fmops.sqlite'}"
        return
    if not _postgres_reachable():
        pytest.skip(f"no PostgreSQL at {SERVER}")
    import psycopg

    schema = f"fmops_reg_{uuid.uuid4().hex[:12]}"
    yield f"{SERVER}?schema={schema}"
    with psycopg.connect(SERVER, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
