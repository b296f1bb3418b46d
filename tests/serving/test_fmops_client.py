"""fmops's own openai provider through the server: the same answers and scores as the model in-process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from fmops.evaluation import evaluate
from fmops.models import GenerateConfig, GenerateRequest, ScoreRequest, get_model
from fmops.serving import BackgroundServer
from tests.conftest import EXAMPLES

GREEDY = GenerateConfig(temperature=0, max_tokens=6, logprobs=True)
PROMPTS = ["The quick brown fox", "Hello", "A model answers questions about the world", "Numbers like 1, 2"]


@pytest.mark.parametrize("args", [["api=completions"], ["api=chat"], ["api=completions", "stream=true"]])
def test_generate_through_the_server_matches_in_process(
    hf_server: BackgroundServer, tiny_folder: Path, args: list[str]
) -> None:
    chat = "api=chat" in args
    served = get_model("openai/tiny", [f"base_url={hf_server.base_url}", *args], store=False)
    local = get_model(f"hf/{tiny_folder}", store=False)

    def request(p: str) -> GenerateRequest:
        if chat:
            return GenerateRequest.model_validate(
                {"messages": [{"role": "user", "content": p}], "config": GREEDY}
            )
        return GenerateRequest(prompt=p, config=GREEDY)

    remote = served.generate_sync([request(p) for p in PROMPTS])
    here = local.generate_sync([request(p) for p in PROMPTS])
    assert remote.summary.errors == 0, remote.summary.error_messages
    for r, h in zip(remote, here, strict=True):
        assert r.text == h.text and r.finish_reason == h.finish_reason
        assert (r.input_tokens, r.output_tokens) == (h.input_tokens, h.output_tokens)
        assert r.token_source == "provider"
        assert r.logprob == pytest.approx(h.logprob, abs=1e-3)


def test_score_through_the_server_matches_in_process(hf_server: BackgroundServer, tiny_folder: Path) -> None:
    served = get_model("openai/tiny", [f"base_url={hf_server.base_url}"], store=False)
    local = get_model(f"hf/{tiny_folder}", store=False)
    requests = [
        ScoreRequest(text="The quick brown fox jumps over the lazy dog."),
        ScoreRequest(text=" was a doctor.", prefix="She said that she"),
        ScoreRequest(text="Hello  world,   spaced out "),
    ]
    remote, here = served.score_sync(requests), local.score_sync(requests)
    assert remote.summary.errors == 0, remote.summary.error_messages
    for r, h in zip(remote, here, strict=True):
        assert r.logprob == pytest.approx(h.logprob, abs=1e-3)


def _records(run_dir: Path) -> list[dict]:
    path = next((run_dir / "records").glob("*.jsonl"))
    return [json.loads(line) for line in path.read_text().splitlines()]


def assert_same_qa_accuracy(local_spec: str, served: str, base_url: str, out: Path) -> None:
    """Greedy qa_accuracy in-process and through the server (legacy completions): identical outputs and
    scores. Reusable for any served spec (e.g. `zoo/tiny` against `fmops serve zoo/tiny`)."""
    common: dict[str, Any] = dict(
        dataset=EXAMPLES / "qa_outputs.jsonl",
        locations={"model_input": "question", "target_output": "answer", "category": "topic"},
        num_records="all",
        config={"bertscore": False},
        generate_config={"temperature": 0, "max_tokens": 8},
    )
    here = evaluate("qa_accuracy", model=local_spec, output=out / "here", **common)
    there = evaluate(
        "qa_accuracy",
        model=f"openai/{served}",
        model_args=[f"base_url={base_url}", "api=completions"],
        output=out / "there",
        **common,
    )
    a, b = _records(out / "here"), _records(out / "there")
    assert len(a) == len(b) == 12
    assert [r["model_output"] for r in a] == [r["model_output"] for r in b]
    assert any(r["model_output"] for r in a)
    assert [r["scores"] for r in a] == [r["scores"] for r in b]
    assert [o.dataset_scores for o in here.outputs] == [o.dataset_scores for o in there.outputs]


def assert_same_prompt_stereotyping(local_spec: str, served: str, base_url: str, out: Path) -> None:
    """prompt_stereotyping in-process and through the server (scored with echo + logprobs): the same
    log-probabilities (to float noise) and the same dataset scores."""
    common: dict[str, Any] = dict(
        dataset=EXAMPLES / "stereotyping_logprobs.jsonl",
        locations={"sent_more_input": "sent_more", "sent_less_input": "sent_less", "category": "bias_type"},
        num_records="all",
    )
    here = evaluate("prompt_stereotyping", model=local_spec, output=out / "here", **common)
    there = evaluate(
        "prompt_stereotyping",
        model=f"openai/{served}",
        model_args=[f"base_url={base_url}"],
        output=out / "there",
        **common,
    )
    a, b = _records(out / "here"), _records(out / "there")
    assert len(a) == len(b) > 0
    for x, y in zip(a, b, strict=True):
        assert y["sent_more_log_prob"] == pytest.approx(x["sent_more_log_prob"], abs=1e-3)
        assert y["sent_less_log_prob"] == pytest.approx(x["sent_less_log_prob"], abs=1e-3)
    assert [o.dataset_scores for o in here.outputs] == [o.dataset_scores for o in there.outputs]


def test_an_evaluation_through_the_server_scores_as_in_process(
    hf_server: BackgroundServer, tiny_folder: Path, tmp_path: Path
) -> None:
    before = httpx.get(hf_server.root + "/health").json()["batching"]
    assert_same_qa_accuracy(f"hf/{tiny_folder}", "tiny", hf_server.base_url, tmp_path)
    after = httpx.get(hf_server.root + "/health").json()["batching"]
    assert after["largest_batch"] > 1  # the provider's concurrent calls were batched
    assert after["rows"] - before["rows"] >= 12


def test_prompt_stereotyping_through_the_server_scores_as_in_process(
    hf_server: BackgroundServer, tiny_folder: Path, tmp_path: Path
) -> None:
    assert_same_prompt_stereotyping(f"hf/{tiny_folder}", "tiny", hf_server.base_url, tmp_path)
