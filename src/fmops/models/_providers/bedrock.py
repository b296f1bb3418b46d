"""`bedrock/MODEL_ID`: Amazon Bedrock through boto3.

Chat models go through the Converse API. With `-M content_template='{"prompt": $prompt, ...}'` (and an
`output` JMESPath) the model is called with InvokeModel as fmeval does: the template is JSON text whose
`$prompt` becomes the JSON-quoted prompt; `output` extracts the text and `log_probability` a float or a
list of floats, which is summed. Credentials and region come from the usual AWS chain (or `-M region=`,
`-M profile=`). boto3 is synchronous, so calls run in a thread pool sized for the concurrency.
"""

from __future__ import annotations

import asyncio
import json
import os
import string
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, MissingDependencyError
from fmops.models._api import ModelAPI, take_args
from fmops.models._types import (
    Capabilities,
    GenerateConfig,
    GenerateRequest,
    ModelCallError,
    ModelResult,
    ScoreRequest,
    TokenSource,
)

_ARGS: dict[str, Any] = {
    "region": None,
    "profile": None,
    "endpoint_url": None,
    "api": None,
    "content_template": None,
    "output": None,
    "log_probability": None,
    "content_type": "application/json",
    "accept": "application/json",
    "max_workers": 32,
    "client": None,
    # Tokens asked for when a request sets none: a runaway completion costs money and memory twice.
    "default_max_tokens": 1024,
}
#: Placeholders a content template may use besides the required `$prompt`; each becomes JSON (null if unset).
TEMPLATE_FIELDS = ("max_tokens", "temperature", "top_p", "stop", "seed")
_OVERLOADED = {
    "ThrottlingException",
    "TooManyRequestsException",
    "ServiceQuotaExceededException",
    "ServiceUnavailableException",
    "ModelNotReadyException",
}
_RETRYABLE = {
    "InternalServerException",
    "ModelTimeoutException",
    "ModelStreamErrorException",
    "RequestTimeout",
}
_STOP_REASONS = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length"}


class BedrockModel(ModelAPI):
    provider = "bedrock"
    default_concurrency = 8

    def __init__(self, model: str, **args: Any) -> None:
        super().__init__(model)
        opts = take_args("bedrock", args, _ARGS)
        self.api = opts["api"] or ("invoke" if opts["content_template"] else "converse")
        if self.api not in ("converse", "invoke"):
            raise BadInputError(f"bedrock: api={self.api!r}; expected converse or invoke")
        self.region = opts["region"]
        self.profile = opts["profile"]
        self.endpoint_url = opts["endpoint_url"]
        self.template = opts["content_template"]
        self.output_path = opts["output"]
        self.logprob_path = opts["log_probability"]
        self.content_type = opts["content_type"]
        self.accept = opts["accept"]
        self.max_workers = int(opts["max_workers"])
        if self.api == "invoke":
            self._check_invoke()
        self.default_max_tokens = int(opts["default_max_tokens"] or 0) or None
        self._client = opts["client"]
        if self._client is None:
            self._check_region()
        self._client_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def _check_invoke(self) -> None:
        if not self.template:
            raise BadInputError("bedrock: api=invoke needs -M content_template='{\"inputText\": $prompt}'")
        if not self.output_path and not self.logprob_path:
            raise BadInputError("bedrock: api=invoke needs an `output` and/or `log_probability` JMESPath")
        if "$prompt" not in self.template and "${prompt}" not in self.template:
            raise BadInputError(f"bedrock: the content template has no $prompt placeholder: {self.template}")
        try:
            self._compose("probe", GenerateConfig())
        except (KeyError, ValueError) as exc:
            allowed = ", ".join("$" + f for f in ("prompt", *TEMPLATE_FIELDS))
            raise BadInputError(
                f"bedrock: content template: {exc} (placeholders: {allowed}; JSON after substitution)"
            ) from None
        _jmespath()

    def _check_region(self) -> None:
        """No region is a setup error: say so before any call, not as botocore's NoRegionError mid-run."""
        try:
            import boto3
            from botocore.exceptions import BotoCoreError
        except ImportError:
            return  # client() says which extra to install
        try:
            region = self.region or boto3.Session(profile_name=self.profile).region_name
        except BotoCoreError as exc:  # e.g. ProfileNotFound
            raise BadInputError(f"bedrock/{self.model}: {exc}") from None
        if not region:
            raise BadInputError(
                f"bedrock/{self.model}: no AWS region; pass -M region=us-east-1 or set AWS_REGION "
                "(or a region in ~/.aws/config)"
            )

    @classmethod
    def availability(cls, model: str, args: dict[str, Any]) -> str | None:
        try:
            import boto3  # noqa: F401
        except ImportError:
            return "boto3 is not installed (pip install 'fmops[bedrock]')"
        if not (
            args.get("region")
            or os.environ.get("AWS_REGION")
            or os.environ.get("AWS_DEFAULT_REGION")
            or _aws_file("config")
        ):
            return "no AWS region (set AWS_REGION or -M region=...)"
        env = (
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        )
        if not (
            args.get("profile")
            or any(os.environ.get(v) for v in env)
            or _aws_file("credentials")
            or _aws_file("config")
        ):
            return "no AWS credentials in the environment or ~/.aws (an instance role may still provide them)"
        return None

    @property
    def capabilities(self) -> Capabilities:
        if self.api == "converse":
            return Capabilities(chat=True, logprobs=False, score=False, max_batch_size=1)
        has_lp = bool(self.logprob_path)
        return Capabilities(chat=False, logprobs=has_lp, score=has_lp, max_batch_size=1)

    def fingerprint_data(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "api": self.api,
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "content_template": self.template,
            "output": self.output_path,
            "log_probability": self.logprob_path,
        }

    # -- plumbing -----------------------------------------------------------------------------
    def client(self) -> Any:
        with self._client_lock:
            if self._client is None:
                try:
                    import boto3
                    from botocore.config import Config
                except ImportError:
                    raise MissingDependencyError("boto3", "bedrock", "The Amazon Bedrock provider") from None
                session = boto3.Session(profile_name=self.profile, region_name=self.region)
                # Retries are ours (with the adaptive limiter); botocore's would hide the throttling.
                config = Config(
                    retries={"total_max_attempts": 1, "mode": "standard"},
                    max_pool_connections=self.max_workers,
                    read_timeout=300,
                    user_agent_extra="fmops",
                )
                self._client = session.client(
                    "bedrock-runtime", endpoint_url=self.endpoint_url, config=config
                )
            return self._client

    async def _in_thread(self, fn: Any, **kwargs: Any) -> Any:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="fmops-bedrock")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, lambda: fn(**kwargs))
        except ModelCallError:
            raise
        except Exception as exc:
            raise _call_error(exc) from None

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None

    # -- generate -----------------------------------------------------------------------------
    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        if self.api == "converse":
            return [await self._converse(r) for r in requests]
        return [await self._invoke(r.input_text(), r.config, want_text=True) for r in requests]

    async def score(self, requests: Sequence[ScoreRequest]) -> list[ModelResult]:
        out = []
        for r in requests:
            if r.prefix:
                raise ModelCallError(
                    "bedrock: InvokeModel log-probabilities cover the whole prompt; a prefix cannot be left out"
                )
            res = await self._invoke(r.text, GenerateConfig(), want_text=False)
            out.append(res.model_copy(update={"text": None, "finish_reason": None}))
        return out

    async def _converse(self, req: GenerateRequest) -> ModelResult:
        turns = req.chat_messages()
        kwargs: dict[str, Any] = {
            "modelId": self.model,
            "messages": [
                {"role": m.role, "content": [{"text": m.content}]} for m in turns if m.role != "system"
            ],
        }
        system = [{"text": m.content} for m in turns if m.role == "system"]
        if system:
            kwargs["system"] = system
        cfg = req.config
        inference = {
            "maxTokens": cfg.max_tokens if cfg.max_tokens is not None else self.default_max_tokens,
            "temperature": cfg.temperature,
            "topP": cfg.top_p,
            "stopSequences": list(cfg.stop) or None,
        }
        inference = {k: v for k, v in inference.items() if v is not None}
        if inference:
            kwargs["inferenceConfig"] = inference
        started = time.perf_counter()
        response = await self._in_thread(self.client().converse, **kwargs)
        elapsed = time.perf_counter() - started
        try:
            blocks = response["output"]["message"]["content"]
            text = "".join(b.get("text", "") for b in blocks)
            usage = response.get("usage") or {}
            reason = response.get("stopReason")
        except (KeyError, TypeError) as exc:
            raise ModelCallError(f"bedrock: malformed Converse response: {exc}", retryable=True) from None
        return ModelResult(
            text=text,
            finish_reason=_STOP_REASONS.get(reason, reason),
            input_tokens=usage.get("inputTokens"),
            output_tokens=usage.get("outputTokens"),
            token_source=TokenSource.PROVIDER if "inputTokens" in usage else None,
            latency_s=elapsed,
        )

    def _compose(self, prompt: str, cfg: GenerateConfig) -> str:
        values = {"prompt": json.dumps(prompt, ensure_ascii=False)}
        for name in TEMPLATE_FIELDS:
            value = getattr(cfg, name)
            if name == "stop":
                value = list(value) or None
            values[name] = json.dumps(value)
        body = string.Template(self.template).substitute(values)
        json.loads(body)  # the composed body must be JSON, as fmeval's JsonContentComposer requires
        return body

    async def _invoke(self, prompt: str, cfg: GenerateConfig, *, want_text: bool) -> ModelResult:
        body = self._compose(prompt, cfg)
        started = time.perf_counter()

        def call() -> tuple[dict[str, Any], dict[str, str]]:
            response = self.client().invoke_model(
                modelId=self.model, body=body, contentType=self.content_type, accept=self.accept
            )
            raw = response["body"].read()
            headers = (response.get("ResponseMetadata") or {}).get("HTTPHeaders") or {}
            try:
                return json.loads(raw), headers
            except ValueError:
                raise ModelCallError(
                    f"bedrock: the response body is not JSON: {raw[:120]!r}", retryable=True
                ) from None

        data, headers = await self._in_thread(call)
        elapsed = time.perf_counter() - started
        jp = _jmespath()
        text = None
        if self.output_path and want_text:
            text = jp.search(self.output_path, data)
            if not isinstance(text, str):
                raise ModelCallError(
                    f"bedrock: output JMESPath {self.output_path!r} found {type(text).__name__}, not a string"
                )
        logprob = None
        if self.logprob_path:
            found = jp.search(self.logprob_path, data)
            logprob = _sum_logprob(found, self.logprob_path)
        n_in = headers.get("x-amzn-bedrock-input-token-count")
        n_out = headers.get("x-amzn-bedrock-output-token-count")
        return ModelResult(
            text=text,
            finish_reason="stop" if text is not None else None,
            logprob=logprob,
            input_tokens=int(n_in) if n_in is not None else None,
            output_tokens=int(n_out) if n_out is not None else None,
            token_source=TokenSource.PROVIDER if n_in is not None and n_out is not None else None,
            latency_s=elapsed,
        )


def _sum_logprob(found: Any, path: str) -> float:
    """A float as is, a list of floats summed (fmeval's rule)."""
    if isinstance(found, bool):
        found = None
    if isinstance(found, int | float):
        return float(found)
    if (
        isinstance(found, list)
        and found
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in found)
    ):
        return float(sum(found))
    raise ModelCallError(
        f"bedrock: log_probability JMESPath {path!r} found {found!r}, not a float or a list of floats"
    )


def _jmespath() -> Any:
    try:
        import jmespath
    except ImportError:
        raise MissingDependencyError("jmespath", "bedrock", "Extracting Bedrock outputs") from None
    return jmespath


def _aws_file(name: str) -> bool:
    env = {"config": "AWS_CONFIG_FILE", "credentials": "AWS_SHARED_CREDENTIALS_FILE"}[name]
    return Path(os.environ.get(env) or Path.home() / ".aws" / name).is_file()


def _call_error(exc: Exception) -> ModelCallError:
    """botocore's errors -> ours, with the retry class the limiter needs."""
    from botocore.exceptions import ClientError, ConnectionError, NoCredentialsError, ReadTimeoutError

    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = f"bedrock: {code}: {exc.response.get('Error', {}).get('Message', '')}"
        overloaded = code in _OVERLOADED or status in (429, 503)
        retryable = overloaded or code in _RETRYABLE or (status is not None and status >= 500)
        return ModelCallError(message, retryable=retryable, overloaded=overloaded, status=status)
    if isinstance(exc, NoCredentialsError):
        return ModelCallError("bedrock: no AWS credentials found (environment, ~/.aws, or an instance role)")
    if isinstance(exc, ReadTimeoutError | ConnectionError):
        return ModelCallError(f"bedrock: {type(exc).__name__}: {exc}", retryable=True)
    return ModelCallError(f"bedrock: {type(exc).__name__}: {exc}")
