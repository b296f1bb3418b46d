"""Bedrock through botocore's Stubber, which checks every request against the real service model."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from fmops.core.errors import BadInputError
from fmops.models import (
    ChatMessage,
    GenerateConfig,
    GenerateRequest,
    Model,
    ScoreRequest,
    TokenSource,
)

boto3 = pytest.importorskip("boto3")
from botocore.response import StreamingBody  # noqa: E402
from botocore.stub import ANY, Stubber  # noqa: E402

pytestmark = pytest.mark.anyio

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def converse_response(text: str, stop: str = "end_turn", tokens: tuple[int, int] = (5, 3)) -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": stop,
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 12},
    }


def invoke_response(payload: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    raw = json.dumps(payload).encode()
    response: dict[str, Any] = {
        "body": StreamingBody(io.BytesIO(raw), len(raw)),
        "contentType": "application/json",
    }
    if headers:
        response["ResponseMetadata"] = {"HTTPStatusCode": 200, "HTTPHeaders": headers}
    return response


def _fast() -> Any:
    from fmops.models import Limits

    return Limits(backoff_base_s=0.01, backoff_max_s=0.02)


def _with_client(model_id: str, client: Any, args: tuple[str, ...]) -> Any:
    from fmops.models import parse_model_args
    from fmops.models._providers.bedrock import BedrockModel

    return BedrockModel(model_id, client=client, **parse_model_args(args))


async def test_converse_request_and_response(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "converse",
        converse_response("Hi there", stop="max_tokens"),
        expected_params={
            "modelId": MODEL_ID,
            "messages": [
                {"role": "user", "content": [{"text": "Hello"}]},
                {"role": "assistant", "content": [{"text": "Yes?"}]},
                {"role": "user", "content": [{"text": "Greet me"}]},
            ],
            "system": [{"text": "You are terse."}],
            "inferenceConfig": {"maxTokens": 3, "temperature": 0.0, "topP": 0.5, "stopSequences": ["END"]},
        },
    )
    model = Model(_with_client(MODEL_ID, client, ()), store=False)
    conv = (
        ChatMessage(role="user", content="Hello"),
        ChatMessage(role="assistant", content="Yes?"),
        ChatMessage(role="user", content="Greet me"),
    )
    cfg = GenerateConfig(max_tokens=3, temperature=0, top_p=0.5, stop=("END",))
    out = await model.generate([GenerateRequest(messages=conv, system="You are terse.", config=cfg)])
    r = out[0]
    assert r.ok, r.error
    assert r.text == "Hi there" and r.finish_reason == "length"
    assert (r.input_tokens, r.output_tokens, r.token_source) == (5, 3, TokenSource.PROVIDER)


async def test_throttling_is_retried_and_validation_is_not(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "converse",
        service_error_code="ThrottlingException",
        service_message="slow down",
        http_status_code=429,
    )
    stubber.add_response("converse", converse_response("after retry"))
    stubber.add_client_error(
        "converse",
        service_error_code="ValidationException",
        service_message="bad input",
        http_status_code=400,
    )
    model = Model(_with_client(MODEL_ID, client, ("max_workers=1",)), store=False, limits=_fast())
    out = await model.generate(["first"])
    assert out[0].text == "after retry" and out[0].attempts == 2
    assert model._state is not None and model._state.concurrency.decreases == 1
    bad = await model.generate(["second"])
    assert bad[0].attempts == 1 and "ValidationException: bad input" in (bad[0].error or "")


async def test_invoke_with_template_and_jmespath(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    template = '{"inputText": $prompt, "textGenerationConfig": {"maxTokenCount": $max_tokens, "stopSequences": $stop}}'
    stubber.add_response(
        "invoke_model",
        invoke_response(
            {"results": [{"outputText": "generated", "tokenLogprobs": [-0.5, -0.25, -1.0]}]},
            {"x-amzn-bedrock-input-token-count": "4", "x-amzn-bedrock-output-token-count": "1"},
        ),
        expected_params={
            "modelId": "amazon.titan-text-express-v1",
            # the template with $prompt as a JSON string and unset fields as null
            "body": '{"inputText": "say \\"hi\\"", "textGenerationConfig": {"maxTokenCount": 20, "stopSequences": null}}',
            "contentType": "application/json",
            "accept": "application/json",
        },
    )
    stubber.add_response(
        "invoke_model",
        invoke_response({"results": [{"outputText": "x", "tokenLogprobs": -2.5}]}),
        expected_params={"modelId": ANY, "body": ANY, "contentType": ANY, "accept": ANY},
    )
    api = _with_client(
        "amazon.titan-text-express-v1",
        client,
        (
            f"content_template={template}",
            "output=results[0].outputText",
            "log_probability=results[0].tokenLogprobs",
        ),
    )
    model = Model(api, store=False)
    assert model.capabilities.score and model.capabilities.logprobs and not model.capabilities.chat
    out = await model.generate(
        [GenerateRequest(prompt='say "hi"', config=GenerateConfig(max_tokens=20, logprobs=True))]
    )
    assert out[0].text == "generated" and out[0].logprob == pytest.approx(
        -1.75
    )  # a list is summed, as fmeval does
    assert (out[0].input_tokens, out[0].output_tokens, out[0].token_source) == (4, 1, TokenSource.PROVIDER)
    scored = await model.score([ScoreRequest(text="a sentence")])
    assert scored[0].logprob == -2.5 and scored[0].text is None
    assert scored[0].token_source == TokenSource.ESTIMATE  # no token headers: flagged as an estimate


async def test_invoke_extraction_errors_are_reported(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response("invoke_model", invoke_response({"completion": 42}))
    api = _with_client("m", client, ('content_template={"prompt": $prompt}', "output=completion"))
    out = await Model(api, store=False).generate(["x"])
    assert "found int, not a string" in (out[0].error or "")


def test_invoke_configuration_is_validated() -> None:
    from fmops.models._providers.bedrock import BedrockModel

    with pytest.raises(BadInputError, match="no \\$prompt"):
        BedrockModel("m", content_template='{"x": 1}', output="a")
    with pytest.raises(BadInputError, match="JMESPath"):
        BedrockModel("m", content_template='{"x": $prompt}')
    with pytest.raises(BadInputError, match="placeholders"):
        BedrockModel("m", content_template='{"x": $prompt, "y": $nope}', output="a")
    with pytest.raises(BadInputError, match="api="):
        BedrockModel("m", api="stream")
    a = BedrockModel("m", region="us-east-1")
    b = BedrockModel("m", region="eu-west-1")
    assert a.fingerprint_data() != b.fingerprint_data()
