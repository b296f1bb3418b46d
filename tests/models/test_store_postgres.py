"""The PostgreSQL response store against the local server: same semantics as SQLite, schema per test."""

from __future__ import annotations

import os
import pickle
import threading
import uuid
from collections.abc import Iterator

import pytest

from fmops.core.errors import BadInputError, RunError
from fmops.models import GenerateConfig, GenerateRequest, ModelResult, get_model, open_store, request_key
from fmops.models._store_postgres import PostgresStore, redact, split_store_url

psycopg = pytest.importorskip("psycopg")

SERVER = os.environ.get("FMOPS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _reachable() -> bool:
    try:
        psycopg.connect(SERVER, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


pytestmark = pytest.mark.skipif(not _reachable(), reason=f"no PostgreSQL at {SERVER}")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose `schema` is this test's own; the schema is dropped afterwards."""
    schema = f"fmops_test_{uuid.uuid4().hex[:12]}"
    yield f"{SERVER}?schema={schema}"
    with psycopg.connect(SERVER, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def _result(text: str, **extra: object) -> ModelResult:
    return ModelResult(text=text, finish_reason="stop", input_tokens=3, output_tokens=1, **extra)


def _put(store: PostgresStore, key: str, text: str, model: str = "m/a") -> None:
    store.put(
        key, model=model, fingerprint="fp", request={"op": "generate", "prompt": key}, result=_result(text)
    )


def test_schema_and_table_are_created_on_first_use(pg_url: str) -> None:
    _, schema = split_store_url(pg_url)
    store = PostgresStore(pg_url)
    with psycopg.connect(SERVER) as db:
        found = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s AND table_name = %s",
            (schema, "fmops_responses"),
        ).fetchone()
    assert found == (1,)
    assert store.stats().entries == 0
    store.close()


def test_put_then_get_many_marks_results_cached(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    _put(store, "k1", "one")
    _put(store, "k2", "two")
    found = store.get_many(["k1", "k2", "k3", "k1"])
    assert set(found) == {"k1", "k2"}
    assert found["k1"].text == "one" and found["k1"].cached
    assert found["k2"].input_tokens == 3
    store.close()


def test_each_put_is_committed_as_it_arrives(pg_url: str) -> None:
    writer = PostgresStore(pg_url)
    reader = PostgresStore(pg_url)
    _put(writer, "k", "first")
    assert reader.get_many(["k"])["k"].text == "first"  # another connection sees it at once
    _put(writer, "k", "second")  # a key stored twice keeps the last result
    assert reader.get_many(["k"])["k"].text == "second"
    assert reader.stats().entries == 1
    writer.close()
    reader.close()


def test_failed_results_are_never_stored(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    store.put("bad", model="m", fingerprint="f", request={}, result=ModelResult(error="HTTP 500"))
    assert store.get_many(["bad"]) == {}
    assert store.stats().entries == 0
    store.close()


def test_stats_clear_and_entries(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    for i in range(3):
        _put(store, f"a{i}", f"text {i}", model="m/a")
    _put(store, "b0", "other", model="m/b")
    stats = store.stats()
    assert stats.entries == 4 and stats.by_model == {"m/a": 3, "m/b": 1}
    assert stats.size_bytes and stats.size_bytes > 0
    entries = list(store.entries("m/a"))
    assert [e.key for e in entries] == ["a0", "a1", "a2"]  # in the order they were stored
    assert entries[0].request == {"op": "generate", "prompt": "a0"}
    assert entries[0].result.text == "text 0" and entries[0].fingerprint == "fp"
    assert entries[0].to_json()["model"] == "m/a"
    assert store.clear("m/a") == 3
    assert [e.key for e in store.entries()] == ["b0"]
    assert store.clear() == 1
    assert store.stats().entries == 0
    store.close()


def test_threads_share_one_store(pg_url: str) -> None:
    store = PostgresStore(pg_url)

    def write(n: int) -> None:
        for i in range(25):
            _put(store, f"t{n}-{i}", "x")

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.stats().entries == 100
    store.close()


def test_many_stores_creating_the_schema_at_once_do_not_race(pg_url: str) -> None:
    errors: list[BaseException] = []
    stores: list[PostgresStore] = []

    def open_one() -> None:
        try:
            stores.append(PostgresStore(pg_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for store in stores:
        store.close()


def test_a_pickled_store_reconnects_to_the_same_table(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    _put(store, "k", "shared")
    copy = pickle.loads(pickle.dumps(store))
    assert copy.get_many(["k"])["k"].text == "shared"
    assert copy.url == store.url
    store.close()
    copy.close()


def test_a_dropped_connection_is_reopened(pg_url: str) -> None:
    store = PostgresStore(pg_url)
    _put(store, "k", "before")
    pid = store._db.info.backend_pid
    with psycopg.connect(SERVER, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert store.get_many(["k"])["k"].text == "before"
    store.close()


def test_passwords_are_not_shown_and_bad_urls_are_errors() -> None:
    assert redact("postgresql://u:secret@h:5432/db?schema=s") == "postgresql://u:***@h:5432/db?schema=s"
    assert split_store_url("postgresql://u@h/db?schema=s&sslmode=disable") == (
        "postgresql://u@h/db?sslmode=disable",
        "s",
    )
    with pytest.raises(BadInputError, match="plain SQL identifier"):
        PostgresStore(f"{SERVER}?schema=bad;name")
    with pytest.raises(RunError, match="cannot open it"):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none")


def test_open_store_picks_postgres_for_postgresql_urls(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(pg_url)
    assert isinstance(store, PostgresStore)
    store.close()
    monkeypatch.setenv("FMOPS_STORE_URL", pg_url)
    from_env = open_store()
    assert isinstance(from_env, PostgresStore)
    from_env.close()


def test_a_model_resumes_from_the_postgres_store(pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FMOPS_STORE_URL", pg_url)
    requests = [GenerateRequest(prompt=f"say {i}", config=GenerateConfig(max_tokens=4)) for i in range(5)]
    first = get_model("echo/pg")
    results = first.generate_sync(requests)
    assert results.summary.cached == 0
    first.close()
    second = get_model("echo/pg")
    again = second.generate_sync(requests)
    assert again.summary.cached == 5
    assert [r.text for r in again] == [r.text for r in results]
    key = request_key(second.fingerprint, "generate", requests[0])
    assert second.store is not None and key in second.store.get_many([key])
    second.close()
