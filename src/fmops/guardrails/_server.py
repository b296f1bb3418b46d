"""`fmops guard serve`: Bedrock's ApplyGuardrail over HTTP, for the loaded policies.

    POST /guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply
    {"source": "INPUT", "content": [{"text": {"text": "...", "qualifiers": ["guard_content"]}}]}

The identifier is a policy's `name`; the version is its version or DRAFT. Text blocks qualified
`grounding_source` or `query` feed contextual grounding; the others are guarded, joined by newlines into
one text. The same path and body as Bedrock's runtime, so a boto3 `bedrock-runtime` client pointed at this
server (`endpoint_url`) calls it with `apply_guardrail`. GET /health lists the policies.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fmops.guardrails._apply import Policy


class _TextBlock(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    qualifiers: list[Literal["grounding_source", "query", "guard_content"]] = Field(default_factory=list)


class _ContentBlock(BaseModel):
    model_config = ConfigDict(extra="allow")  # image blocks are accepted and not guarded

    text: _TextBlock | None = None


class ApplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: Literal["INPUT", "OUTPUT"]
    content: list[_ContentBlock] = Field(min_length=1)
    outputScope: Literal["INTERVENTIONS", "FULL"] | None = None


def create_app(policies: list[Policy]) -> Any:
    """The FastAPI application serving `policies` by name."""
    from fastapi import FastAPI, HTTPException
    from fastapi.concurrency import run_in_threadpool

    by_name = {p.name: p for p in policies}
    app = FastAPI(title="fmops guardrails", description="Bedrock ApplyGuardrail-shaped API")

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "guardrails": [{"name": p.name, "version": p.version} for p in policies]}

    @app.post("/guardrail/{identifier}/version/{version}/apply")
    async def apply(identifier: str, version: str, request: ApplyRequest) -> dict[str, Any]:
        policy = by_name.get(identifier)
        if policy is None:
            raise HTTPException(404, f"no guardrail named {identifier!r}; serving: {', '.join(by_name)}")
        # A registry version (`registry:NAME/N`) is also served as N: Bedrock's versions are numbers.
        number = policy.version.rpartition("/")[2] if policy.version.startswith("registry:") else None
        if version not in ("DRAFT", policy.version, number):
            raise HTTPException(
                404, f"guardrail {identifier!r} is version {policy.version!r}, not {version!r}"
            )
        guarded, grounding, query = [], [], []
        for block in request.content:
            if block.text is None:
                continue
            qualifiers = set(block.text.qualifiers)
            if "grounding_source" in qualifiers:
                grounding.append(block.text.text)
            elif "query" in qualifiers:
                query.append(block.text.text)
            else:
                guarded.append(block.text.text)
        result = await run_in_threadpool(
            policy.apply,
            "\n".join(guarded),
            request.source,
            grounding_source="\n".join(grounding) if grounding else None,
            query="\n".join(query) if query else None,
        )
        return result.response()

    return app
