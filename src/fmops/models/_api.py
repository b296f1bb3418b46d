"""What a provider implements. Everything cross-cutting (store, limits, retries, accounting) wraps it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from fmops.core.errors import BadInputError
from fmops.models._types import Capabilities, GenerateRequest, ModelResult, ScoreRequest


class ModelAPI(ABC):
    """One provider's model.

    `generate`/`score` receive at most `capabilities.max_batch_size` requests and return one result per
    request, in order. A failed call raises `ModelCallError` (the runner retries it when retryable); the
    runner has already checked capabilities, so providers need not.
    """

    provider: ClassVar[str]
    #: Concurrency the runner uses unless told otherwise (local devices want 1).
    default_concurrency: ClassVar[int] = 16
    #: Per-attempt timeout unless told otherwise. In-process providers set None: their work runs in a
    #: thread that a timeout cannot stop, so a retry would only queue the same batch again behind it.
    default_timeout_s: ClassVar[float | None] = 120.0

    def __init__(self, model: str) -> None:
        self.model = model

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities: ...

    @abstractmethod
    def fingerprint_data(self) -> dict[str, Any]:
        """What determines the outputs (model id, endpoint, weights), never secrets; hashed into store keys."""

    @abstractmethod
    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]: ...

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        raise NotImplementedError(f"{self.provider} does not score texts")

    def count_tokens(self, texts: Sequence[str]) -> list[int] | None:
        """Token counts from the model's own tokenizer, or None when there is none at hand."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what is bound to the running event loop (connections, threads); the model stays usable."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.provider}/{self.model})"


def take_args(provider: str, args: Mapping[str, Any], accepted: Mapping[str, Any]) -> dict[str, Any]:
    """Fill `accepted` (name -> default) from `args`; an unknown name is a user error that lists the known ones."""
    unknown = sorted(set(args) - set(accepted))
    if unknown:
        raise BadInputError(
            f"{provider}: unknown model argument(s) {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}"
        )
    return {**accepted, **args}
