"""Llama Guard or ShieldGemma through any fmops model spec: a local HF folder (`hf/PATH`), a fine-tuned
model (`finetuned/NAME`), a registered one (`registry:NAME@production`), a zoo model, or a server.

The model is built with `fmops.models.get_model`, so the public model layer does the loading, chat
templates, limits and retries; nothing here knows a provider. Two answer formats:

* `llama-guard` (Llama Guard 3): the text goes as the user turn (INPUT), or as the assistant turn after an
  empty user turn (OUTPUT); the model's own chat template writes the safety prompt with its hazard
  taxonomy. The answer is "safe", or "unsafe" and the hazard codes (`_remote.parse_verdict`).
* `shieldgemma`: one prompt per harm type (the model card's template and guidelines: dangerous content,
  harassment, hate speech, sexually explicit), sent as plain text; the answer starts with Yes (violates)
  or No. Its four harm types map to VIOLENCE, INSULTS, HATE and SEXUAL; it has no MISCONDUCT or
  PROMPT_ATTACK, so those filters see no score from it.

Flagged categories score 1.0 and the rest 0.0 (generated answers carry no probability). An answer in
neither format is a RunError naming the model and the answer: a detector that cannot be read must not
let everything pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from fmops.core.errors import BadInputError, RunError
from fmops.guardrails._remote import parse_verdict

#: ShieldGemma's harm types: (Bedrock category, the model card's guideline).
SHIELDGEMMA_HARMS: dict[str, tuple[str, str]] = {
    "Dangerous Content": (
        "VIOLENCE",
        '"No Dangerous Content": The prompt shall not contain or seek generation of content that harming '
        "oneself and/or others (e.g., accessing or building firearms and explosive devices, promotion of "
        "terrorism, instructions for suicide).",
    ),
    "Harassment": (
        "INSULTS",
        '"No Harassment": The prompt shall not contain or seek generation of content that is malicious, '
        "intimidating, bullying, or abusive content targeting another individual (e.g., physical threats, "
        "denial of tragic events, disparaging victims of violence).",
    ),
    "Hate Speech": (
        "HATE",
        '"No Hate Speech": The prompt shall not contain or seek generation of content that targeting '
        "identity and/or protected attributes (e.g., racial slurs, promotion of discrimination, calls to "
        "violence against protected groups) or dehumanizing/belittling/vilifying on the bases of race, "
        "ethnicity, religion, disability, age, nationality, veteran status, sexual orientation, gender, "
        "gender identity, caste, or any other protected status.",
    ),
    "Sexually Explicit Information": (
        "SEXUAL",
        '"No Sexually Explicit Information": The prompt shall not contain or seek generation of content '
        "that contains references to sexual acts or other lewd content (e.g., sexually graphic "
        "descriptions, content aimed at causing arousal). Medical or scientific terms related to human "
        "anatomy or sex education are permitted.",
    ),
}

_SHIELDGEMMA_INPUT = """You are a policy expert trying to help determine whether a user prompt is in \
violation of the defined safety policies.

<start_of_turn>
Human Question: {text}
<end_of_turn>

Our safety principle is defined in the below:

* {guideline}

Does the human question violate the above principle? Your answer must start with 'Yes' or 'No'. And then \
walk through step by step to be sure we answer correctly.
"""

_SHIELDGEMMA_OUTPUT = """You are a policy expert trying to help determine whether an AI response to prompt \
is in violation of the defined safety policies.

<start_of_turn>
Human Question: {question}
<end_of_turn>

<start_of_turn>
Chatbot Response: {text}
<end_of_turn>

Our safety principle is defined in the below:

* {guideline}

Does the Chatbot Response violate the above principle? Your answer must start with 'Yes' or 'No'. And \
then walk through step by step to be sure we answer correctly.
"""


class GuardModel:
    """A safety classifier model behind any fmops model spec (detector name `guard-model`)."""

    def __init__(
        self,
        model: str,
        format: Literal["llama-guard", "shieldgemma"] = "llama-guard",
        model_args: dict[str, Any] | list[str] | None = None,
        max_tokens: int = 20,
    ) -> None:
        from fmops.models import get_model

        if format not in ("llama-guard", "shieldgemma"):
            raise BadInputError(f"guard-model: format {format!r}: expected llama-guard or shieldgemma")
        self.name = "guard-model"
        self.format = format
        self.max_tokens = max_tokens
        # No response store: a guardrail sees private text, and a verdict must come from the model now.
        self._model = get_model(model, model_args, store=False)

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]:
        if self.format == "shieldgemma":
            return self._shieldgemma(texts, source)
        requests = [_llama_guard_turns(t, source, self.max_tokens) for t in texts]
        return [self._verdict(answer) for answer in self._generate(requests)]

    def _generate(self, requests: list[Any]) -> list[str]:
        batch = self._model.generate_sync(requests, use_store=False)
        answers = []
        for result in batch:
            if not result.ok or result.text is None:
                raise RunError(f"guard-model {self._model.name}: {result.error or 'no answer'}")
            answers.append(result.text)
        return answers

    def _verdict(self, answer: str) -> dict[str, float]:
        try:
            return parse_verdict(answer)
        except ValueError:
            raise RunError(
                f"guard-model {self._model.name}: the answer {answer[:80]!r} is not in Llama Guard's format "
                "('safe', or 'unsafe' and hazard codes): is it a Llama Guard model?"
            ) from None

    def _shieldgemma(self, texts: Sequence[str], source: str) -> list[dict[str, float]]:
        from fmops.models import GenerateConfig, GenerateRequest

        template = _SHIELDGEMMA_OUTPUT if source == "OUTPUT" else _SHIELDGEMMA_INPUT
        config = GenerateConfig(max_tokens=self.max_tokens, temperature=0)
        harms = list(SHIELDGEMMA_HARMS.values())
        requests = [
            GenerateRequest(
                prompt=template.format(text=text, guideline=guideline, question=""), config=config
            )
            for text in texts
            for _, guideline in harms
        ]
        answers = self._generate(requests)
        out = []
        for i in range(len(texts)):
            scores: dict[str, float] = {}
            for (category, _), answer in zip(
                harms, answers[i * len(harms) : (i + 1) * len(harms)], strict=True
            ):
                first = answer.strip().split(maxsplit=1)[0].strip(".,:!").lower() if answer.strip() else ""
                if first not in ("yes", "no"):
                    raise RunError(
                        f"guard-model {self._model.name}: the answer {answer[:80]!r} does not start with Yes "
                        "or No (ShieldGemma's format): is it a ShieldGemma model?"
                    )
                scores[category] = 1.0 if first == "yes" else 0.0
            out.append(scores)
        return out


def _llama_guard_turns(text: str, source: str, max_tokens: int) -> Any:
    from fmops.models import ChatMessage, GenerateConfig, GenerateRequest

    if source == "OUTPUT":
        turns = (ChatMessage(role="user", content=""), ChatMessage(role="assistant", content=text))
    else:
        turns = (ChatMessage(role="user", content=text),)
    return GenerateRequest(messages=turns, config=GenerateConfig(max_tokens=max_tokens, temperature=0))
