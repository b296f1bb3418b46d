"""Executors: `local` never imports Ray; `ray` gives the same results, with one concurrency limit per model.

The Ray tests share one local Ray instance (127.0.0.1, 2 CPUs) and one executor for the module: actors
start once and keep their helper models. Scoring chunks are made small (scoring.SCORE_CHUNK) so that a
dozen records still spread over several scoring tasks and actors; the local executor uses the same chunks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fmops.core.errors import BadInputError
from fmops.evaluation import evaluate, scoring
from fmops.evaluation.executors import (
    Executor,
    LocalExecutor,
    RayExecutor,
    RayOptions,
    get_executor,
)
from tests.conftest import EXAMPLES, REPO
from tests.support.openai_server import OpenAITestServer

QA = {"model_input": "question", "target_output": "answer", "category": "topic"}
SUMMARIES = {"model_input": "document", "target_output": "summary"}
REVIEWS = {"model_input": "review", "target_output": "label", "category": "product"}
CHUNK = 5


# -- local, no Ray ----------------------------------------------------------------------------------


def test_local_runs_never_import_ray(tmp_path: Path) -> None:
    code = (
        "import sys, fmops, fmops.evaluation, fmops.cli.eval, fmops.cli.compare\n"
        "from fmops.evaluation import evaluate\n"
        f"run = evaluate('qa_accuracy', dataset={str(EXAMPLES / 'qa_outputs.jsonl')!r}, "
        f"locations={QA!r}, num_records='all', config={{'bertscore': False}}, executor='local', "
        f"output={str(tmp_path / 'run')!r})\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
        "print(run.output.dataset_scores[0].value)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_executor_names_and_options_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(get_executor("local"), LocalExecutor)
    given = LocalExecutor()
    assert get_executor(given) is given
    with pytest.raises(BadInputError, match="unknown executor 'spark'"):
        get_executor("spark")
    with pytest.raises(BadInputError, match="ray_address needs executor ray"):
        get_executor("local", ray_address="127.0.0.1:6379")
    with pytest.raises(BadInputError, match="shard_size"):
        RayOptions(shard_size=0)
    monkeypatch.setenv("FMOPS_RAY_SCORERS", "3")
    monkeypatch.setenv("FMOPS_RAY_SCORER_CPUS", "0.5")
    options = RayOptions.from_env(shard_size=7)
    assert (options.scorers, options.scorer_cpus, options.shard_size) == (3, 0.5, 7)
    monkeypatch.setenv("FMOPS_RAY_SCORERS", "many")
    with pytest.raises(BadInputError, match="FMOPS_RAY_SCORERS"):
        RayOptions.from_env()


def test_workers_rebuild_a_model_from_the_spec_it_carries() -> None:
    pytest.importorskip("ray")
    from fmops.evaluation.executors._ray import ModelRecipe
    from fmops.models import get_model

    model = get_model("echo/e", ["latency=0", "max_concurrency=3"])
    recipe = ModelRecipe.of(model)
    assert (recipe.spec, recipe.args, recipe.api) == ("echo/e", ["latency=0", "max_concurrency=3"], None)
    rebuilt = recipe.build()
    assert (rebuilt.name, rebuilt.fingerprint, rebuilt.limits) == (
        model.name,
        model.fingerprint,
        model.limits,
    )


def test_a_small_dataset_runs_in_process_without_starting_ray() -> None:
    executor = RayExecutor(options=RayOptions(local_below=50))
    run_ = evaluate(
        "qa_accuracy",
        dataset=EXAMPLES / "qa_outputs.jsonl",
        locations=QA,
        num_records="all",
        config={"bertscore": False},
        executor=executor,
    )
    assert run_.output.num_records == 12
    assert not executor.started


# -- on Ray -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ray_executor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayExecutor]:
    """One local Ray instance bound to 127.0.0.1, and one executor whose actors serve the whole module."""
    ray = pytest.importorskip("ray")
    home = tmp_path_factory.mktemp("ray-home")
    previous = os.environ.get("FMOPS_HOME")
    os.environ["FMOPS_HOME"] = str(home)  # the workers' home (their response store) for the module
    ray.init(
        address="local",
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        num_cpus=2,
        log_to_driver=False,
        namespace="fmops-tests",
    )
    executor = RayExecutor(options=RayOptions(shard_size=4, scorers=1, scorer_memory_mb=256, local_below=0))
    executor.runtime()  # actors get this module's environment
    if previous is None:
        del os.environ["FMOPS_HOME"]
    else:
        os.environ["FMOPS_HOME"] = previous
    try:
        yield executor
    finally:
        executor.close()
        ray.shutdown()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "SCORE_CHUNK", CHUNK)


def assert_same(a: Any, b: Any, path: str = "") -> None:
    """Equal structures; floats equal to 1e-6. A batched encoder (BERTScore) gives a pair a score that
    moves by float32 rounding (~1e-7) with the other texts in its batch, and shards batch otherwise."""
    if isinstance(a, float) and isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-6), path
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def _normalized_results(folder: Path) -> list[dict[str, Any]]:
    results = json.loads((folder / "results.json").read_text())
    for output in results:
        output.pop("output_path", None)
    return results


def _normalized_records(folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Every record field; of the usage, all but latency and whether the store answered (and so how many
    attempts were made): timing and cache state."""
    files = {}
    for path in sorted((folder / "records").glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for row in rows:
            for usage in (row.get("usage"), row.get("judge_usage")):
                if usage:
                    for key in ("latency_s", "ttft_s", "cached", "attempts"):
                        usage.pop(key, None)
        files[path.name] = rows
    return files


FAMILIES = {
    "lexical": ("qa_accuracy", "qa_outputs.jsonl", QA, {"bertscore": False}),
    "bertscore": ("summarization_accuracy", "summaries_outputs.jsonl", SUMMARIES, {}),
    "robustness": (
        "qa_accuracy_semantic_robustness",
        "qa_outputs.jsonl",
        QA,
        {"bertscore": False, "num_perturbations": 3},
    ),
    "robustness_bertscore": (
        "general_semantic_robustness",
        "summaries_outputs.jsonl",
        SUMMARIES,
        {"num_perturbations": 2},
    ),
    "classification_robustness": (
        "classification_accuracy_semantic_robustness",
        "reviews_outputs.jsonl",
        REVIEWS,
        {"num_perturbations": 2},
    ),
    "toxicity": ("toxicity", "qa_outputs.jsonl", QA, {}),
    # Follow-up calls to a helper model (its own actor), after every output is in.
    "judge": ("judge", "qa_outputs.jsonl", QA, {"judge_model": "echo/judge"}),
}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_local_and_ray_give_identical_results(
    family: str, ray_executor: RayExecutor, small_chunks: None, tmp_path: Path
) -> None:
    algorithm, data, locations, config = FAMILIES[family]
    common: dict[str, Any] = {
        "model": "echo/parrot",
        "model_args": ["max_concurrency=4"],
        "dataset": EXAMPLES / data,
        "locations": locations,
        "config": config,
        "num_records": "all",
        "prompt_template": "Answer briefly: $model_input",
    }
    local = evaluate(algorithm, output=tmp_path / "local", executor="local", **common)
    on_ray = evaluate(algorithm, output=tmp_path / "ray", executor=ray_executor, **common)
    assert_same(_normalized_results(tmp_path / "local"), _normalized_results(tmp_path / "ray"))
    assert_same(_normalized_records(tmp_path / "local"), _normalized_records(tmp_path / "ray"))
    assert on_ray.records and all(not r.get("error") for r in on_ray.records)
    assert local.manifest.datasets[0].sampling == on_ray.manifest.datasets[0].sampling
    info = {k: v for k, v in on_ray.manifest.datasets[0].model_dump().items() if k not in ("uri",)}
    assert info == {k: v for k, v in local.manifest.datasets[0].model_dump().items() if k not in ("uri",)}


def test_brought_outputs_with_a_sample_score_identically(
    ray_executor: RayExecutor, small_chunks: None, tmp_path: Path
) -> None:
    """No model: only scoring runs on the cluster; the same seed samples the same rows."""
    common: dict[str, Any] = {
        "dataset": EXAMPLES / "summaries_outputs.jsonl",
        "locations": {**SUMMARIES, "model_output": "model_output"},
        "num_records": 7,
    }
    local = evaluate("summarization_accuracy", output=tmp_path / "local", **common)
    on_ray = evaluate("summarization_accuracy", output=tmp_path / "ray", executor=ray_executor, **common)
    assert_same(_normalized_results(tmp_path / "local"), _normalized_results(tmp_path / "ray"))
    assert_same(local.records, on_ray.records)
    assert local.manifest.datasets[0].bertscore_model == on_ray.manifest.datasets[0].bertscore_model


def test_helper_models_load_once_per_scoring_actor(ray_executor: RayExecutor) -> None:
    """After the families above (several scoring tasks each), the one actor holds one of each helper."""
    [helpers] = ray_executor.runtime().scorer_helpers()
    assert len(helpers["bertscore"]) == 1
    assert len(helpers["toxicity"]) == 1


def test_one_concurrency_limit_per_model_for_the_whole_cluster(
    ray_executor: RayExecutor, tmp_path: Path
) -> None:
    """Many shards in flight at once, one limit: the model never sees more than max_concurrency calls."""
    data = tmp_path / "facts.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"fact {i} is", "answers": f"{i}"}) + "\n" for i in range(48))
    )
    latency = 0.1
    with OpenAITestServer(latency=latency) as server:
        on_ray = evaluate(
            "factual_knowledge",
            model="openai/test-model",
            model_args=[f"base_url={server.base_url}", "max_concurrency=3", "api=completions"],
            dataset=data,
            locations={"model_input": "question", "target_output": "answers"},
            num_records="all",
            executor=ray_executor,
        )
    assert server.call_count == 48
    assert all(not r.get("error") for r in on_ray.records)
    # Counted by the server (no clock): one limit for every shard, and the limit is used.
    assert server.peak_in_flight == 3


def test_duplicate_prompts_in_different_shards_are_called_once(
    ray_executor: RayExecutor, tmp_path: Path
) -> None:
    data = tmp_path / "dups.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"same {i % 3}", "answers": "x"}) + "\n" for i in range(24))
    )
    with OpenAITestServer(latency=0.2) as server:
        evaluate(
            "factual_knowledge",
            model="openai/test-model",
            model_args=[f"base_url={server.base_url}", "api=completions"],
            dataset=data,
            locations={"model_input": "question", "target_output": "answers"},
            num_records="all",
            executor=ray_executor,
        )
        assert server.call_count == 3


def test_compare_runs_every_model_on_the_cluster(
    ray_executor: RayExecutor, small_chunks: None, tmp_path: Path
) -> None:
    from fmops.comparison import Suite, compare

    suite = Suite.model_validate(
        {
            "evaluations": [
                {
                    "algorithm": "qa_accuracy",
                    "dataset": str(EXAMPLES / "qa_outputs.jsonl"),
                    "locations": QA,
                    "config": {"bertscore": False},
                    "prompt_template": "Q: $model_input",
                }
            ],
            "num_records": 10,
        }
    )
    models = ["echo/a", "echo/b"]
    args = {"echo/b": ["prefix=The answer: "]}
    local = compare(suite, models, tmp_path / "local", model_args=args)
    on_ray = compare(suite, models, tmp_path / "ray", model_args=args, executor=ray_executor)
    assert [(s.model, s.score, s.value) for s in local.scores] == [
        (s.model, s.score, s.value) for s in on_ray.scores
    ]


def test_cli_eval_and_compare_take_the_executor_options(
    ray_executor: RayExecutor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from fmops.cli import app

    monkeypatch.setenv("FMOPS_RAY_LOCAL_BELOW", "0")
    monkeypatch.setenv("FMOPS_RAY_SCORERS", "1")
    monkeypatch.setenv("FMOPS_RAY_SCORER_CPUS", "0")  # whatever the module's actors hold
    monkeypatch.setenv("FMOPS_RAY_SCORER_MEMORY_MB", "256")
    args = [
        "eval",
        "qa_accuracy",
        "--dataset",
        str(EXAMPLES / "qa_outputs.jsonl"),
        "--model-input",
        "question",
        "--target-output",
        "answer",
        "--num-records",
        "all",
        "-c",
        "bertscore=false",
    ]
    result = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "ray"), "--executor", "ray"])
    assert result.exit_code == 0, result.output
    local = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "local")])
    assert local.exit_code == 0, local.output
    assert _normalized_results(tmp_path / "ray") == _normalized_results(tmp_path / "local")
    bad = CliRunner().invoke(app, [*args, "--output", str(tmp_path / "x"), "--ray-address", "127.0.0.1:1"])
    assert bad.exit_code == 2
    assert "--ray-address needs --executor ray" in bad.output
    help_text = CliRunner().invoke(app, ["compare", "--help"]).output
    assert "--executor" in help_text and "--ray-address" in help_text


def test_the_model_call_runs_in_one_actor_even_from_threads(
    ray_executor: RayExecutor, tmp_path: Path
) -> None:
    """Two runs of the same model at once (threads, as `compare` does) share its actor and its limit."""
    data = tmp_path / "facts.jsonl"
    data.write_text(
        "".join(json.dumps({"question": f"item {i} is", "answers": f"{i}"}) + "\n" for i in range(16))
    )
    errors: list[BaseException] = []
    with OpenAITestServer(latency=0.1) as server:

        def one(prefix: str) -> None:
            try:
                evaluate(
                    "factual_knowledge",
                    model="openai/test-model",
                    model_args=[f"base_url={server.base_url}", "max_concurrency=2", "api=completions"],
                    dataset=data,
                    locations={"model_input": "question", "target_output": "answers"},
                    num_records="all",
                    prompt_template=prefix + " $model_input",
                    executor=ray_executor,
                )
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=one, args=(p,)) for p in ("A:", "B:")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    assert not errors
    assert server.call_count == 32
    assert server.peak_in_flight <= 2  # counted by the server: one limit for both runs


def test_executor_protocol() -> None:
    assert LocalExecutor().name == "local"
    assert issubclass(RayExecutor, Executor)


def test_scorers_the_cluster_cannot_place_are_reported_not_waited_for(ray_executor: RayExecutor) -> None:
    from fmops.core.errors import RunError

    greedy = RayExecutor(options=RayOptions(scorers=1, scorer_cpus=64, placement_timeout_s=1, local_below=0))
    try:
        with pytest.raises(RunError, match="no scoring actor could start.*64 CPU"):
            evaluate(
                "qa_accuracy",
                dataset=EXAMPLES / "qa_outputs.jsonl",
                locations=QA,
                num_records="all",
                config={"bertscore": False},
                executor=greedy,
            )
    finally:
        greedy.close()
