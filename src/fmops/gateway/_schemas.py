"""The request bodies the gateway checks before spending anything: enough to route, limit and bill.

Fields the gateway does not need pass through to the deployment untouched (extra="allow"), so tools,
response formats and new OpenAI parameters work wherever the upstream supports them. These models also
document the bodies in the OpenAPI spec.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.gateway._json import loads
from fmops.serving import APIError

MAX_N = 16


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str = Field(min_length=1)
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(str(p.get("text", "")) for p in self.content if isinstance(p, dict))
        return self.content or ""


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=200)
    user: str | None = Field(default=None, max_length=200)


class _Generation(_Body):
    stream: bool = False
    max_tokens: int | None = Field(default=None, ge=0)
    n: int = Field(default=1, ge=1, le=MAX_N)
    stream_options: dict[str, Any] | None = None

    def answer_tokens(self) -> int | None:
        return self.max_tokens

    @property
    def wants_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.get("include_usage"))


class ChatBody(_Generation):
    messages: list[Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=0)

    def answer_tokens(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def text(self) -> str:
        return "\n".join(m.text() for m in self.messages)


class CompletionBody(_Generation):
    prompt: str | list[str] = Field(min_length=1)

    def text(self) -> str:
        return self.prompt if isinstance(self.prompt, str) else "\n".join(self.prompt)


class EmbeddingBody(_Body):
    input: str | list[str] = Field(min_length=1)

    def text(self) -> str:
        return self.input if isinstance(self.input, str) else "\n".join(self.input)

    def answer_tokens(self) -> int | None:
        return 0


SCHEMAS: dict[str, type[ChatBody] | type[CompletionBody] | type[EmbeddingBody]] = {
    "chat/completions": ChatBody,
    "completions": CompletionBody,
    "embeddings": EmbeddingBody,
}


def parse(endpoint: str, raw: bytes) -> tuple[dict[str, Any], Any]:
    """(the body as sent, its validated view); every problem is an OpenAI-style 400 naming the field."""
    try:
        data = loads(raw)
    except RecursionError:
        raise APIError(400, "the request body is nested too deeply", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(400, f"the request body is not valid JSON ({exc})", code="invalid_json") from None
    if not isinstance(data, dict):
        raise APIError(400, "the request body must be a JSON object", code="invalid_json")
    if "model" not in data:
        raise APIError(
            400, "you must provide a model parameter", param="model", code="missing_required_parameter"
        )
    try:
        return data, SCHEMAS[endpoint].model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if not _is_type_tag(str(p))]
        param = ".".join(loc) or None
        message = f"`{param}`: {first['msg']}" if param else str(first["msg"])
        raise APIError(400, message, param=param, code="invalid_value") from None


def _is_type_tag(part: str) -> bool:
    return (
        part in ("str", "int", "bool", "float") or part.startswith(("list[", "dict[")) or "function-" in part
    )
