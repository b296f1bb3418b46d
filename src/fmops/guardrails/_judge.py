"""Grounding scorer `judge`: an LLM judge through any fmops model spec (a local HF folder, a fine-tuned or
registered model, an OpenAI-compatible server, Bedrock).

The judge reads the source (or the question) and the answer and is asked a Yes/No question: is every
claim in the answer stated in or implied by the source (grounding); does the answer address the question
(relevance). The score is P(Yes):

* `method: logprob` (the default where the model can score texts: hf, echo): P(Yes) = e^lp(Yes) /
  (e^lp(Yes) + e^lp(No)) from the log-probabilities of " Yes" and " No" after the prompt, a number in
  [0, 1] that the policy's thresholds cut;
* `method: generate` (any model): the judge's first word, Yes -> 1.0, No -> 0.0; any other answer is a
  RunError (an unreadable judge must not pass everything).

How good it is depends entirely on the model: see docs/guardrails.md for what was measured (the only
model that ships offline, SmolLM2-135M-Instruct, is too small to be a judge).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from fmops.core.errors import BadInputError, RunError

GROUNDING_PROMPT = """You check whether an answer is supported by a source text.

Source:
{source}

Answer:
{answer}

Is every claim in the answer stated in or directly implied by the source? Reply Yes or No.
Reply:"""

RELEVANCE_PROMPT = """You check whether an answer addresses a question.

Question:
{query}

Answer:
{answer}

Does the answer address the question? Reply Yes or No.
Reply:"""


class JudgeGrounding:
    """Grounding and relevance as P(Yes) from a judge model."""

    def __init__(
        self,
        model: str,
        model_args: dict[str, Any] | list[str] | None = None,
        method: Literal["auto", "logprob", "generate"] = "auto",
    ) -> None:
        from fmops.models import get_model

        if method not in ("auto", "logprob", "generate"):
            raise BadInputError(f"judge: method {method!r}: expected auto, logprob or generate")
        self.name = "judge"
        # No response store: the texts are private, and a verdict must come from the model now.
        self._model = get_model(model, model_args, store=False)
        if method == "auto":
            method = "logprob" if self._model.capabilities.score else "generate"
        elif method == "logprob" and not self._model.capabilities.score:
            raise BadInputError(f"judge: {self._model.name} cannot score texts; use method: generate")
        self.method = method

    def grounding(self, answer: str, source: str) -> float:
        return self._p_yes(GROUNDING_PROMPT.format(source=source, answer=answer))

    def relevance(self, answer: str, query: str) -> float:
        return self._p_yes(RELEVANCE_PROMPT.format(query=query, answer=answer))

    def _p_yes(self, prompt: str) -> float:
        from fmops.models import GenerateConfig, GenerateRequest, ScoreRequest

        if self.method == "logprob":
            batch = self._model.score_sync(
                [ScoreRequest(prefix=prompt, text=" Yes"), ScoreRequest(prefix=prompt, text=" No")],
                use_store=False,
            )
            yes, no = (self._checked(r).logprob for r in batch)
            assert yes is not None and no is not None
            return 1.0 / (1.0 + math.exp(no - yes))
        request = GenerateRequest(prompt=prompt, config=GenerateConfig(max_tokens=3, temperature=0))
        answer = self._checked(self._model.generate_sync([request], use_store=False)[0]).text or ""
        words = answer.strip().split(maxsplit=1)
        first = words[0].strip(".,:!").lower() if words else ""
        if first not in ("yes", "no"):
            raise RunError(
                f"judge {self._model.name}: the answer {answer[:80]!r} does not start with Yes or No"
            )
        return 1.0 if first == "yes" else 0.0

    def _checked(self, result: Any) -> Any:
        if not result.ok:
            raise RunError(f"judge {self._model.name}: {result.error}")
        return result
