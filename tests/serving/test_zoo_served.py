"""Zoo models behind a real `fmops serve` process score exactly as in-process, for every algorithm.

Each zoo model is trained here with its real architecture and tokenizer but a few dozen steps (seconds, not
a minute): what is checked is the serving path, not the model's quality.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from fmops.evaluation import evaluate
from fmops.zoo import ZOO_MODELS, _registry
from fmops.zoo._train import train_into
from tests.conftest import REPO

TRAIN_STEPS = 40
GREEDY = {"temperature": 0, "max_tokens": 8}
#: The twelve fmeval algorithms on the synthetic world's datasets, with small runs' configs.
ALGORITHMS: dict[str, tuple[str, dict[str, Any]]] = {
    "factual_knowledge": ("world_trex", {}),
    "qa_accuracy": ("world_trivia_qa", {"bertscore": False}),
    "qa_toxicity": ("world_trivia_qa", {}),
    "qa_accuracy_semantic_robustness": ("world_trivia_qa", {"bertscore": False, "num_perturbations": 2}),
    "summarization_accuracy": ("world_gigaword", {}),
    "summarization_toxicity": ("world_gigaword", {}),
    "summarization_accuracy_semantic_robustness": (
        "world_gigaword",
        {"bertscore": False, "num_perturbations": 2},
    ),
    "classification_accuracy": ("world_reviews", {}),
    "classification_accuracy_semantic_robustness": ("world_reviews", {"num_perturbations": 2}),
    "prompt_stereotyping": ("world_crows_pairs", {}),
    "toxicity": ("world_bold", {}),
    "general_semantic_robustness": ("world_bold", {"num_perturbations": 2}),
}


@pytest.fixture(scope="module")
def zoo_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An FMOPS_HOME holding every zoo model, each trained briefly for real."""
    home = tmp_path_factory.mktemp("zoo-home")
    for name in ZOO_MODELS:
        spec = dataclasses.replace(_registry._SPECS[name], steps=TRAIN_STEPS)
        train_into(spec, home / "zoo" / spec.short_name, seed=0)
    yield home


@pytest.fixture
def home(zoo_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FMOPS_HOME", str(zoo_home))
    for name in ("FMOPS_STORE_URL", "FMOPS_MODELS", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return zoo_home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(zoo_home: Path) -> Iterator[dict[str, str]]:
    """`fmops serve zoo/NAME` for every zoo model, as separate processes: name -> base URL."""
    env = {**os.environ, "FMOPS_HOME": str(zoo_home)}
    procs: dict[str, tuple[subprocess.Popen[str], str]] = {}
    try:
        for name in ZOO_MODELS:
            port = _free_port()
            command = [sys.executable, "-m", "fmops", "serve", name, "--port", str(port)]
            proc = subprocess.Popen(
                [*command, "--log-level", "warning"],
                cwd=REPO,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            procs[name] = (proc, f"http://127.0.0.1:{port}")
        for proc, root in procs.values():
            _wait_healthy(proc, root)
        yield {name: root + "/v1" for name, (_, root) in procs.items()}
    finally:
        for proc, _ in procs.values():
            proc.send_signal(2)
        for proc, _ in procs.values():
            proc.communicate(timeout=30)


def _wait_healthy(proc: subprocess.Popen[str], root: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(root + "/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, f"{root} did not become healthy"
        time.sleep(0.2)


def _in_process_and_served(
    algorithm: str, name: str, base_url: str, out: Path, num_records: int = 4
) -> tuple[Any, Any]:
    dataset, config = ALGORITHMS[algorithm]
    common: dict[str, Any] = dict(
        dataset=dataset, num_records=num_records, config=config, generate_config=GREEDY
    )
    here = evaluate(algorithm, model=name, output=out / "here", **common)
    there = evaluate(
        algorithm,
        model=f"openai/{name}",
        model_args=[f"base_url={base_url}", "api=completions"],
        output=out / "there",
        **common,
    )
    return here, there


def _scores(run: Any) -> list[tuple[str, float | None]]:
    return [(s.name, s.value) for s in run.output.dataset_scores or []]


def _assert_same_run(here: Any, there: Any) -> None:
    assert here.records and len(here.records) == len(there.records)
    assert _scores(here) and len(_scores(here)) == len(_scores(there))
    for a, b in zip(here.records, there.records, strict=True):
        assert not a.get("error") and not b.get("error"), (a.get("error"), b.get("error"))
        for key in ("model_output", "perturbed_model_outputs"):
            assert a.get(key) == b.get(key), key
    for (name_a, a), (name_b, b) in zip(_scores(here), _scores(there), strict=True):
        assert name_a == name_b and a is not None and b is not None
        # Log-probabilities cross HTTP as JSON floats summed from float32 logits.
        assert a == pytest.approx(b, abs=1e-4), name_a


@pytest.mark.parametrize("name", ZOO_MODELS)
@pytest.mark.parametrize("algorithm", ["qa_accuracy", "prompt_stereotyping"])
def test_each_zoo_model_scores_the_same_through_fmops_serve(
    name: str, algorithm: str, home: Path, served: dict[str, str], tmp_path: Path
) -> None:
    here, there = _in_process_and_served(algorithm, name, served[name], tmp_path, num_records=8)
    _assert_same_run(here, there)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_every_algorithm_runs_on_a_zoo_model_in_process_and_served(
    algorithm: str, home: Path, served: dict[str, str], tmp_path: Path
) -> None:
    here, there = _in_process_and_served(algorithm, "zoo/tiny", served["zoo/tiny"], tmp_path)
    _assert_same_run(here, there)
    if "robustness" in algorithm:
        assert all(len(r["perturbed_model_outputs"]) == 2 for r in here.records)
    assert (here.manifest.model.name, there.manifest.model.provider) == ("zoo/tiny", "openai")


def test_zoo_chat_reads_as_the_plain_completion(home: Path, served: dict[str, str]) -> None:
    """A zoo model is a completion model: a one-message chat is exactly its completion prompt."""
    prompt = "Respond to the following question with a short answer: What is the capital of Kaisar?"
    body = {"model": "zoo/small", "max_tokens": 8, "temperature": 0}
    url = served["zoo/small"]
    chat = httpx.post(
        url + "/chat/completions", json={**body, "messages": [{"role": "user", "content": prompt}]}
    )
    completion = httpx.post(url + "/completions", json={**body, "prompt": prompt})
    assert chat.status_code == completion.status_code == 200, chat.text
    assert chat.json()["choices"][0]["message"]["content"] == completion.json()["choices"][0]["text"]
    assert chat.json()["usage"]["prompt_tokens"] == completion.json()["usage"]["prompt_tokens"]
