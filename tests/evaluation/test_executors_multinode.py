"""A run on a three-node Ray cluster (Ray's own test cluster, all on 127.0.0.1) loses a worker node midway.

The node that hosts the model actor is removed while calls are in flight. The run must finish with every
record, and the response store (PostgreSQL, shared by every node) must show that
no call was made for a prompt whose result was already stored: only calls in flight on the lost node
may be made again.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fmops.evaluation import evaluate
from fmops.evaluation.executors import RayExecutor, RayOptions
from fmops.models import open_store
from tests.support.openai_server import OpenAITestServer

ray = pytest.importorskip("ray")

RECORDS = 200
CONCURRENCY = 4
POSTGRES = os.environ.get("FMOPS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def store_url(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """FMOPS_STORE_URL for the run: a schema of its own on the PostgreSQL at FMOPS_TEST_POSTGRES.

    The shared store is what this test is about, so it never falls back to another one: with no server
    it is skipped, saying why (and fails when FMOPS_TEST_POSTGRES names a server that is not there).
    """
    psycopg = pytest.importorskip("psycopg", reason="the multi-node test needs psycopg for PostgreSQL")
    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        why = f"PostgreSQL at {POSTGRES} is not reachable ({str(exc).strip().splitlines()[0]})"
        if "FMOPS_TEST_POSTGRES" in os.environ:
            pytest.fail(f"{why}; FMOPS_TEST_POSTGRES names it, so the multi-node test cannot run")
        pytest.skip(f"{why}: the multi-node store test needs it (set FMOPS_TEST_POSTGRES)")
    schema = f"fmops_test_{uuid.uuid4().hex[:12]}"
    url = f"{POSTGRES}?schema={schema}"
    monkeypatch.setenv("FMOPS_STORE_URL", url)
    yield url
    with psycopg.connect(POSTGRES, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A head without CPUs (the driver's) and two worker nodes with two CPUs each, on loopback."""
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    # Ray resolves 127.0.0.1 to the machine's address unless told that this is a one-machine setup.
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    monkeypatch.setattr(ray_constants, "ENABLE_RAY_CLUSTER", False)
    if ray.is_initialized():
        ray.shutdown()
    test_cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "node_ip_address": "127.0.0.1",
            "include_dashboard": False,
            # Notice a lost node in about a second, not half a minute.
            "_system_config": {
                "health_check_initial_delay_ms": 0,
                "health_check_period_ms": 300,
                "health_check_failure_threshold": 3,
            },
        },
    )
    for _ in range(2):
        test_cluster.add_node(num_cpus=2, node_ip_address="127.0.0.1")
    ray.init(address=test_cluster.address, _node_ip_address="127.0.0.1", log_to_driver=False)
    try:
        yield test_cluster
    finally:
        ray.shutdown()
        test_cluster.shutdown()


@pytest.mark.slow
def test_a_worker_node_lost_mid_run_loses_nothing_and_repeats_no_stored_call(
    cluster: Any, store_url: str, tmp_path: Path
) -> None:
    data = tmp_path / "facts.jsonl"
    data.write_text(
        "".join(
            json.dumps({"question": f"fact number {i} is", "answers": f"{i}"}) + "\n" for i in range(RECORDS)
        )
    )
    executor = RayExecutor(
        options=RayOptions(
            shard_size=10,
            score_chunk=25,
            scorers=2,
            scorer_cpus=0.5,  # after the loss, one node must hold the model actor and both scorers
            scorer_memory_mb=0,
            model_cpus=0.5,  # on a worker node, not on the CPU-less head
            local_below=0,
        )
    )
    arguments: dict[str, Any] = {
        "model": "openai/test-model",
        "dataset": data,
        "locations": {"model_input": "question", "target_output": "answers"},
        "num_records": "all",
    }
    outcome: dict[str, Any] = {}
    with OpenAITestServer(latency=0.05) as server:
        model_args = [f"base_url={server.base_url}", f"max_concurrency={CONCURRENCY}", "api=completions"]

        def run() -> None:
            try:
                outcome["run"] = evaluate(
                    "factual_knowledge",
                    model_args=model_args,
                    output=tmp_path / "ray",
                    executor=executor,
                    **arguments,
                )
            except BaseException as exc:  # reported by the assertions below
                outcome["error"] = exc

        worker = threading.Thread(target=run)
        worker.start()
        deadline = time.monotonic() + 60
        while server.call_count < RECORDS // 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        [model_node] = executor.runtime().model_actor_nodes()
        victim = next(n for n in cluster.worker_nodes if n.node_id == model_node)
        cluster.remove_node(victim, allow_graceful=False)
        removed_at_calls = server.call_count
        worker.join(120)
        assert not worker.is_alive(), "the run did not finish after the node was lost"
        assert "error" not in outcome, outcome.get("error")
        [new_node] = executor.runtime().model_actor_nodes()
        executor.close()
        calls = server.calls

        # Nothing lost: every record has its output and scores, as a run on one machine gives.
        run_ = outcome["run"]
        assert removed_at_calls < RECORDS
        assert new_node != model_node
        assert len(run_.records) == RECORDS
        assert all(not r.get("error") and r["model_output"] for r in run_.records)
        local = evaluate("factual_knowledge", model_args=model_args, output=tmp_path / "local", **arguments)
        assert len(server.calls) == len(calls)  # the local run was answered by the store alone
        assert [o.model_dump(exclude={"output_path"}) for o in local.outputs] == [
            o.model_dump(exclude={"output_path"}) for o in run_.outputs
        ]

    # No stored result was computed again: each prompt is stored once, and every call for it was made
    # before its result was stored (a second call only for a call lost in flight with the node).
    store = open_store(store_url)
    stored = {entry.request["prompt"]: entry.created_at for entry in store.entries()}
    store.close()
    assert len(stored) == RECORDS
    late = [c.body["prompt"] for c in calls if c.at > stored[c.body["prompt"]]]
    assert late == []
    repeated = len(calls) - RECORDS
    assert 0 <= repeated <= CONCURRENCY
