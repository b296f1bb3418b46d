"""The service without HTTP: LoRA adapters, models without a BOS token, models without a chat template."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from fmops.models import GenerateConfig, GenerateRequest, ScoreRequest, get_model
from fmops.serving import APIError, ServingService, load_model


def _call(service: ServingService, endpoint: str, body: dict[str, Any]) -> Any:
    async def run() -> Any:
        try:
            method = service.chat if endpoint == "chat" else service.completions
            return await method(json.dumps(body).encode())
        finally:
            await service.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def nobos_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """No BOS token and no chat template: the first token has no context; chat is impossible."""
    pytest.importorskip("torch")
    from tests.support.tiny_hf import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("serve") / "nobos", bos=False, seed=3)


def test_echo_scoring_matches_in_process_without_a_bos_token(nobos_folder: Path) -> None:
    text = "Evaluation measures accuracy, toxicity and robustness."
    service = ServingService(load_model(f"hf/{nobos_folder}"), served_name="m")
    answer = _call(
        service, "completions", {"model": "m", "prompt": text, "max_tokens": 0, "echo": True, "logprobs": 0}
    )
    values = answer["choices"][0]["logprobs"]["token_logprobs"]
    local = get_model(f"hf/{nobos_folder}", store=False).score_sync([ScoreRequest(text=text)])[0]
    assert sum(v for v in values if v is not None) == pytest.approx(local.logprob, abs=1e-3)


def test_chat_on_a_model_without_a_chat_template_says_to_use_completions(nobos_folder: Path) -> None:
    service = ServingService(load_model(f"hf/{nobos_folder}"), served_name="m")
    with pytest.raises(APIError) as refused:
        _call(service, "chat", {"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    assert refused.value.status == 400 and "/v1/completions" in refused.value.message


def test_an_unset_max_tokens_is_shortened_to_fit_the_window(nobos_folder: Path) -> None:
    # The provider's default (256 new tokens) would run past the 256 positions; the server keeps it inside.
    service = ServingService(load_model(f"hf/{nobos_folder}", ["max_new_tokens=256"]), served_name="m")
    answer = _call(service, "completions", {"model": "m", "prompt": "Hello world " * 40, "temperature": 0})
    use = answer["usage"]
    assert use["prompt_tokens"] + use["completion_tokens"] <= 256 and use["completion_tokens"] > 0


def test_a_lora_adapter_is_served(tiny_folder: Path, tmp_path: Path) -> None:
    pytest.importorskip("peft")
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(tiny_folder)
    lora = get_peft_model(
        base, LoraConfig(r=4, target_modules=["c_attn"], fan_in_fan_out=True, init_lora_weights=False)
    )
    with torch.no_grad():
        for name, p in lora.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 1.0)
    lora.save_pretrained(tmp_path / "adapter")

    body = {"model": "m", "prompt": "The quick brown fox", "max_tokens": 8, "temperature": 0, "logprobs": 1}
    served = _call(
        ServingService(load_model(f"hf/{tiny_folder}", adapter=tmp_path / "adapter"), served_name="m"),
        "completions",
        body,
    )
    request = GenerateRequest(
        prompt=body["prompt"], config=GenerateConfig(max_tokens=8, temperature=0, logprobs=True)
    )
    tuned = get_model(f"hf/{tiny_folder}", [f"adapter={tmp_path / 'adapter'}"], store=False).generate_sync(
        [request]
    )[0]
    plain = get_model(f"hf/{tiny_folder}", store=False).generate_sync([request])[0]
    assert served["choices"][0]["text"] == tuned.text
    assert sum(served["choices"][0]["logprobs"]["token_logprobs"]) == pytest.approx(tuned.logprob, abs=1e-3)
    assert tuned.logprob != pytest.approx(plain.logprob, abs=1e-3)  # the adapter changed the model
