"""Requests, results and capabilities: the vocabulary every provider and wrapper speaks."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fmops.core.errors import BadInputError, RunError


class ChatMessage(BaseModel):
    """One turn of a conversation."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Literal["system", "user", "assistant"]
    content: str


class GenerateConfig(BaseModel):
    """Decoding parameters. None means "the provider's default"; a manifest records this object as is."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = Field(default=None, ge=0)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: Ask for the log-probability of the generated text (sum over its tokens).
    logprobs: bool = False

    @property
    def deterministic(self) -> bool:
        """Greedy decoding: every sample is the same, so samples share one stored result."""
        return self.temperature == 0


class GenerateRequest(BaseModel):
    """Generate text for a prompt or a conversation, with an optional system prompt."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    prompt: str | None = None
    messages: tuple[ChatMessage, ...] | None = None
    system: str | None = None
    config: GenerateConfig = GenerateConfig()
    #: Which sample this is when decoding is random (temperature > 0 or unset); part of the store key.
    sample_index: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one_input(self) -> GenerateRequest:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of `prompt` or `messages`")
        if self.messages is not None and not self.messages:
            raise ValueError("`messages` is empty")
        return self

    @property
    def is_chat(self) -> bool:
        return self.messages is not None

    def chat_messages(self) -> list[ChatMessage]:
        """The request as a conversation: system prompt first, a bare prompt becomes one user turn."""
        turns = (
            list(self.messages)
            if self.messages is not None
            else [ChatMessage(role="user", content=self.prompt or "")]
        )
        if self.system is not None:
            turns.insert(0, ChatMessage(role="system", content=self.system))
        return turns

    def input_text(self) -> str:
        """All the text the model reads, for token estimates and rate budgets."""
        if self.messages is None:
            return (self.system + "\n" if self.system else "") + (self.prompt or "")
        return "\n".join(m.content for m in self.chat_messages())


class ScoreRequest(BaseModel):
    """Score log P(text | prefix): the sum of the log-probabilities of `text`'s tokens.

    With an empty prefix the text is conditioned on the model's BOS token where it has one; without
    one the first token has nothing to condition on and is left out of the sum (as OpenAI's `echo` does).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    prefix: str = ""


class TokenSource(StrEnum):
    """Where a token count came from, best first."""

    PROVIDER = "provider"
    TOKENIZER = "tokenizer"
    ESTIMATE = "estimate"


class ModelResult(BaseModel):
    """What one request produced: text (or an error), with the log-probability, tokens, time and cost."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    text: str | None = None
    finish_reason: str | None = None
    #: Sum of token log-probabilities: of the generated text (generate, when asked) or of the text (score).
    logprob: float | None = None
    token_logprobs: tuple[float, ...] | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_source: TokenSource | None = None
    latency_s: float | None = None
    #: Time to the first token, when the response was streamed.
    ttft_s: float | None = None
    cost: float | None = None
    error: str | None = None
    attempts: int = 1
    #: True when this came from the response store instead of a model call.
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None

    def same_output(self, other: ModelResult) -> bool:
        """Equal in everything the model produced (ignores timing, attempts and the cached flag)."""
        keys = (
            "text",
            "finish_reason",
            "logprob",
            "token_logprobs",
            "input_tokens",
            "output_tokens",
            "error",
        )
        return all(getattr(self, k) == getattr(other, k) for k in keys)


class Capabilities(BaseModel):
    """What a model can do; asking for anything else fails before a single call is made."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chat: bool = True
    #: Log-probabilities of generated tokens.
    logprobs: bool = False
    #: Log-probabilities of given texts (`score`).
    score: bool = False
    streaming: bool = False
    #: How many requests one provider call accepts (1: the runner sends them one by one, concurrently).
    max_batch_size: int = Field(default=1, ge=1)


class CapabilityError(BadInputError):
    """The request needs something the model does not declare (chat, log-probs, scoring)."""


class ModelCallError(RunError):
    """One provider call failed. The runner retries it when `retryable`, waiting at least `retry_after`."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        overloaded: bool = False,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable or overloaded
        #: 429/503-like: the adaptive concurrency limit backs off.
        self.overloaded = overloaded
        self.retry_after = retry_after
        self.status = status


def canonical_request(op: str, request: GenerateRequest | ScoreRequest) -> dict[str, Any]:
    """The request as the store hashes it: defaults dropped (so new optional fields keep old keys valid)."""
    data = request.model_dump(mode="json", exclude_defaults=True)
    if isinstance(request, GenerateRequest) and request.config.deterministic:
        data.pop("sample_index", None)
    return {"op": op, **data}
