"""The OpenAI request bodies the server accepts, validated into fmops requests.

Fields OpenAI defines but a local model cannot honour (tools, logit_bias, penalties, best_of > n...) are
refused with a 400 that names them rather than silently ignored; fields that change nothing (user,
metadata, store...) are accepted and ignored, so stock clients work unchanged.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fmops.models import ChatMessage, GenerateConfig
from fmops.serving._errors import APIError, bad_request

#: Most choices one request may ask for (`n`): each is a row of the batch.
MAX_N = 16


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: str
    text: str | None = None


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str
    content: str | list[ContentPart] | None = None
    name: str | None = None


class _Common(BaseModel):
    """What chat and legacy completions share."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=0)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    n: int = Field(default=1, ge=1, le=MAX_N)
    stop: str | list[str] | None = None
    #: The range torch's manual_seed takes.
    seed: int | None = Field(default=None, ge=-(2**63), le=2**64 - 1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    def stops(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        stops = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)
        if any(not s for s in stops):
            raise bad_request("`stop` sequences must not be empty", param="stop")
        return stops

    def check_supported(self) -> None:
        """Refuse what a local model would silently get wrong."""
        for name in ("presence_penalty", "frequency_penalty"):
            if getattr(self, name):
                raise bad_request(f"`{name}` is not supported by this server (use 0)", param=name)
        if self.logit_bias:
            raise bad_request("`logit_bias` is not supported by this server", param="logit_bias")

    def generate_config(self, max_tokens: int | None, logprobs: bool) -> GenerateConfig:
        return GenerateConfig(
            max_tokens=max_tokens,
            temperature=self.temperature,
            top_p=self.top_p,
            stop=self.stops(),
            seed=self.seed,
            logprobs=logprobs,
        )


class ChatCompletionRequest(_Common):
    messages: list[MessageIn] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=0)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    tools: list[Any] | None = None
    functions: list[Any] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None

    def check_supported(self) -> None:
        super().check_supported()
        for name in ("tools", "functions"):
            if getattr(self, name):
                raise bad_request(f"`{name}` (function calling) is not supported by this server", param=name)
        if self.response_format and self.response_format.get("type") not in (None, "text"):
            raise bad_request("only response_format {'type': 'text'} is supported", param="response_format")
        if self.top_logprobs and not self.logprobs:
            raise bad_request("`top_logprobs` needs `logprobs: true`", param="top_logprobs")

    def limit(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens

    def chat_messages(self) -> tuple[ChatMessage, ...]:
        out = []
        for i, m in enumerate(self.messages):
            role = "system" if m.role == "developer" else m.role
            if role not in ("system", "user", "assistant"):
                raise bad_request(
                    f"messages[{i}].role {m.role!r} is not supported; expected system, developer, user or assistant",
                    param=f"messages.{i}.role",
                )
            if isinstance(m.content, list):
                if any(p.type != "text" or p.text is None for p in m.content):
                    raise bad_request(
                        f"messages[{i}].content: only text parts are supported", param=f"messages.{i}.content"
                    )
                content = "".join(p.text or "" for p in m.content)
            else:
                content = m.content or ""
            out.append(ChatMessage(role=role, content=content))  # type: ignore[arg-type]
        return tuple(out)


class CompletionRequest(_Common):
    prompt: str | list[str] | list[int] | list[list[int]]
    logprobs: int | None = Field(default=None, ge=0, le=5)
    echo: bool = False
    best_of: int | None = Field(default=None, ge=1)
    suffix: str | None = None

    def check_supported(self) -> None:
        super().check_supported()
        if self.best_of is not None and self.best_of != self.n:
            raise bad_request("`best_of` other than `n` is not supported by this server", param="best_of")
        if self.suffix:
            raise bad_request("`suffix` (insertion) is not supported by this server", param="suffix")

    def prompts(self) -> list[str]:
        if isinstance(self.prompt, str):
            prompts = [self.prompt]
        else:
            if not self.prompt:
                raise bad_request("`prompt` is empty", param="prompt")
            if not all(isinstance(p, str) for p in self.prompt):
                raise bad_request("token-id prompts are not supported: send text", param="prompt")
            prompts = [str(p) for p in self.prompt]
        # A model with nothing to condition on generates from padding (or fails): refuse, as vLLM does.
        for i, p in enumerate(prompts):
            if not p:
                where = "`prompt`" if isinstance(self.prompt, str) else f"`prompt[{i}]`"
                raise bad_request(f"{where} is an empty string: send at least one character", param="prompt")
        return prompts


def parse_body(raw: bytes, schema: type[ChatCompletionRequest | CompletionRequest]) -> Any:
    """Parse and validate a request body; every failure is a 400 in OpenAI's shape (never a 422)."""
    try:
        data = json.loads(raw)
    except RecursionError:
        raise bad_request("the request body is nested too deeply", code="invalid_json") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise bad_request(
            f"the request body is not valid JSON ({exc}); send a JSON object", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object", code="invalid_json")
    if "model" not in data:
        raise bad_request(
            "you must provide a model parameter", param="model", code="missing_required_parameter"
        )
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc) from None


def validation_error(exc: ValidationError | Any) -> APIError:
    """The first invalid field of a pydantic/FastAPI validation error, as one readable 400."""
    errors = exc.errors() if hasattr(exc, "errors") else []
    if not errors:
        return bad_request(str(exc))
    by_path: dict[str, list[dict[str, Any]]] = {}
    for err in errors:
        # Unions report one error per member type ("prompt.str", "prompt.list[str]"): keep the field path.
        path = ".".join(str(p) for p in err.get("loc", ()) if p != "body" and not _is_type_tag(str(p)))
        by_path.setdefault(path, []).append(err)
    param, found = next(iter(by_path.items()))
    where = f"`{param}`" if param else "the body"
    first = found[0]
    if first.get("type") == "missing":
        message = f"{where} is required"
    else:
        value = first.get("input")
        shown = (
            json.dumps(value)[:80]
            if isinstance(value, str | int | float | bool | None)
            else type(value).__name__
        )
        msgs = sorted({str(e.get("msg", "")) for e in found})
        wanted = [m.removeprefix("Input should be ") for m in msgs if m.startswith("Input should be ")]
        others = [m for m in msgs if not m.startswith("Input should be ")]
        reasons = ([f"expected {' or '.join(wanted)}"] if wanted else []) + others
        message = f"invalid {where} (got {shown}): " + "; ".join(reasons)
    more = f" (and {len(by_path) - 1} more invalid fields)" if len(by_path) > 1 else ""
    return bad_request(message + more, param=param or None)


def _is_type_tag(part: str) -> bool:
    return (
        part in ("str", "int", "float", "bool", "dict", "list")
        or "[" in part
        or part.startswith(("function-", "json-"))
    )
