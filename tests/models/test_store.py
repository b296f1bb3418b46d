"""The response store: keys, durability settings, what is and is not stored, stats/clear/export."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fmops.core.errors import BadInputError
from fmops.models import (
    GenerateConfig,
    GenerateRequest,
    ModelResult,
    ScoreRequest,
    SQLiteStore,
    get_model,
    open_store,
    request_key,
)

pytestmark = pytest.mark.anyio


def test_key_depends_on_fingerprint_request_and_sample_index_only_when_sampling() -> None:
    base = GenerateRequest(prompt="hi", config=GenerateConfig(temperature=0.7))
    assert request_key("fp", "generate", base) == request_key(
        "fp", "generate", GenerateRequest(prompt="hi", config=GenerateConfig(temperature=0.7))
    )
    assert request_key("fp", "generate", base) != request_key("fp2", "generate", base)
    assert request_key("fp", "generate", base) != request_key(
        "fp", "generate", base.model_copy(update={"sample_index": 1})
    )
    greedy = GenerateRequest(prompt="hi", config=GenerateConfig(temperature=0))
    assert request_key("fp", "generate", greedy) == request_key(
        "fp", "generate", greedy.model_copy(update={"sample_index": 3})
    )
    assert request_key("fp", "generate", greedy) != request_key("fp", "generate", base)
    assert request_key("fp", "score", ScoreRequest(text="hi")) != request_key(
        "fp", "generate", GenerateRequest(prompt="hi")
    )


@given(st.text(max_size=40), st.text(max_size=40))
def test_keys_are_equal_exactly_when_prompts_are(a: str, b: str) -> None:
    ka = request_key("fp", "generate", GenerateRequest(prompt=a))
    kb = request_key("fp", "generate", GenerateRequest(prompt=b))
    assert (ka == kb) == (a == b)


def test_sqlite_store_roundtrip_and_wal(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite")
    result = ModelResult(
        text="x",
        finish_reason="stop",
        logprob=-1.25,
        token_logprobs=(-1.0, -0.25),
        input_tokens=3,
        output_tokens=2,
        latency_s=0.1,
        cost=0.002,
    )
    store.put("k1", model="m", fingerprint="fp", request={"op": "generate", "prompt": "p"}, result=result)
    store.put(
        "k2", model="m", fingerprint="fp", request={}, result=ModelResult(error="boom")
    )  # errors are not stored
    got = store.get_many(["k1", "k2", "k1"])
    assert list(got) == ["k1"]
    assert got["k1"].cached and got["k1"].same_output(result) and got["k1"].cost == 0.002
    assert store.stats().entries == 1 and store.stats().by_model == {"m": 1}
    mode = sqlite3.connect(tmp_path / "s.sqlite").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    [entry] = list(store.entries())
    line = entry.to_json()
    assert (
        line["request"] == {"op": "generate", "prompt": "p"}
        and line["result"]["text"] == "x"
        and "cached" not in line["result"]
    )
    assert store.clear("other") == 0 and store.clear() == 1 and store.stats().entries == 0
    store.close()


def test_open_store_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmops_home: Path) -> None:
    assert open_store().url == f"sqlite:///{fmops_home / 'responses.sqlite'}"
    assert open_store(f"sqlite:///{tmp_path / 'a.sqlite'}").url.endswith("a.sqlite")
    monkeypatch.setenv("FMOPS_STORE_URL", str(tmp_path / "b.sqlite"))
    assert open_store().url.endswith("b.sqlite")
    with pytest.raises(BadInputError):
        open_store("redis://x")


async def test_rerun_uses_the_store_and_failures_are_retried_next_time(server, fmops_home: Path) -> None:
    server.add_fault("status", status=400, match="bad")
    model = get_model("openai/test-model", [f"base_url={server.base_url}"])
    prompts = ["one", "two", "bad one", "two"]
    first = await model.generate(prompts)
    assert [r.ok for r in first] == [True, True, False, True]
    assert server.call_count == 3  # the duplicate "two" is asked once...
    assert [r.cached for r in first] == [False, False, False, True]  # ...so its answer was no call
    assert first.summary.errors == 1 and first.summary.cached == 1
    server.clear_faults()
    second = await model.generate(prompts)
    assert [r.cached for r in second] == [True, True, False, True]
    assert all(r.ok for r in second)
    assert server.call_count == 4  # only the failed one again
    assert [r.text for r in second] == ["Echo: one", "Echo: two", "Echo: bad one", "Echo: two"]
    assert second.summary.cached == 3
    # sampling: each sample index is its own entry; greedy samples share one
    sampled = [
        GenerateRequest(prompt="s", config=GenerateConfig(temperature=1.0), sample_index=i) for i in range(3)
    ]
    greedy = [
        GenerateRequest(prompt="g", config=GenerateConfig(temperature=0), sample_index=i) for i in range(3)
    ]
    await model.generate(sampled + greedy)
    assert server.calls_for("s") == 3 and server.calls_for("g") == 1
    stats = model.store.stats()
    assert stats.entries == 3 + 3 + 1 and stats.by_model == {"openai/test-model": 7}
    await model.aclose()


def test_a_second_model_name_shares_results_by_fingerprint(server, tmp_path: Path) -> None:
    (tmp_path / "models.yaml").write_text(
        f"models:\n  - name: alias\n    spec: openai/test-model\n    args: {{base_url: '{server.base_url}'}}\n"
    )
    get_model("openai/test-model", [f"base_url={server.base_url}"]).generate_sync(["hello"])
    again = get_model("alias").generate_sync(["hello"])
    assert again[0].cached and server.call_count == 1
    other = get_model("openai/test-model", [f"base_url={server.base_url}", "api=completions"]).generate_sync(
        ["hello"]
    )
    assert not other[0].cached and server.call_count == 2


def test_store_false_never_touches_disk(server, fmops_home: Path) -> None:
    model = get_model("openai/test-model", [f"base_url={server.base_url}"], store=False)
    model.generate_sync(["x"])
    model.generate_sync(["x"])
    assert server.call_count == 2
    assert not (fmops_home / "responses.sqlite").exists()


def test_export_lines_are_json(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite")
    model = get_model("echo/e", store=store)
    model.generate_sync(["a", "b"])
    lines = [json.dumps(e.to_json()) for e in store.entries("echo/e")]
    assert len(lines) == 2
    assert {json.loads(x)["result"]["text"] for x in lines} == {"a", "b"}


def test_use_store_false_reaches_the_model_for_a_probe(server) -> None:
    model = get_model("openai/test-model", [f"base_url={server.base_url}"])
    greedy = GenerateConfig(temperature=0)
    first = model.generate_sync([GenerateRequest(prompt="probe me", config=greedy)])
    probe = model.generate_sync(
        [GenerateRequest(prompt="probe me", config=greedy, sample_index=1)], use_store=False
    )
    again = model.generate_sync([GenerateRequest(prompt="probe me", config=greedy, sample_index=1)])
    assert not first[0].cached and not probe[0].cached and again[0].cached
    assert server.call_count == 2
    assert model.store.stats().entries == 1


def test_many_openers_of_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    """Models of one comparison open a new store together; SQLite's switch to WAL does not wait on locks."""
    import threading

    from fmops.models._store import SQLiteStore

    for attempt in range(8):
        path = tmp_path / f"fresh-{attempt}.sqlite"
        barrier = threading.Barrier(12)
        errors: list[BaseException] = []

        def open_it(
            path: Path = path, barrier: threading.Barrier = barrier, errors: list[BaseException] = errors
        ) -> None:
            barrier.wait()
            try:
                SQLiteStore(path)
            except BaseException as exc:  # collected: an exception in a thread would be lost
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
