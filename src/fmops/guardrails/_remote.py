"""Real detectors for users who have them: Llama Guard behind an OpenAI-compatible endpoint, and detoxify.

`llama-guard`: Llama Guard 3 (or any model answering in its format: "safe", or "unsafe" and a line of
hazard codes) served by vLLM, TGI, Ollama, `fmops serve` or a hosted API. (`guard-model`, in
`_guard_model.py`, runs Llama Guard or ShieldGemma through any fmops model spec, a local HF folder included.) The text goes as the user turn
(INPUT) or as the assistant turn after an empty user turn (OUTPUT). Hazard codes map to Bedrock's
categories (`HAZARDS`); a flagged category scores 1.0, the rest 0.0. Unreachable endpoints are a RunError.

`detoxify`: Unitary's checkpoint through fmops' toxicity metric (where it must be put: fmops.metrics.toxicity);
its insult, identity_attack, threat and sexual_explicit heads score INSULTS, HATE, VIOLENCE and SEXUAL.

`bedrock`: Amazon Bedrock's ApplyGuardrail (boto3 `bedrock-runtime`; credentials and region as boto3 finds
them), or any server with its API (`endpoint_url`); the remote content filters' confidence levels become
probabilities that fmops' strengths map back to the same levels.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence

from fmops.core.errors import RunError

#: Llama Guard 3's MLCommons hazard codes -> Bedrock content filter types.
HAZARDS: dict[str, str] = {
    "S1": "VIOLENCE",  # violent crimes
    "S2": "MISCONDUCT",  # non-violent crimes
    "S3": "SEXUAL",  # sex-related crimes
    "S4": "SEXUAL",  # child sexual exploitation
    "S5": "INSULTS",  # defamation
    "S6": "MISCONDUCT",  # specialized advice
    "S7": "MISCONDUCT",  # privacy
    "S8": "MISCONDUCT",  # intellectual property
    "S9": "VIOLENCE",  # indiscriminate weapons
    "S10": "HATE",  # hate
    "S11": "VIOLENCE",  # suicide and self-harm
    "S12": "SEXUAL",  # sexual content
    "S13": "MISCONDUCT",  # elections
    "S14": "PROMPT_ATTACK",  # code interpreter abuse
}
CATEGORIES = sorted(set(HAZARDS.values()))


class LlamaGuard:
    """Llama Guard over an OpenAI-compatible chat completions endpoint."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        import httpx

        self.name = "llama-guard"
        self.model = model
        key = api_key or (os.environ.get(api_key_env) if api_key_env else None)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._url = base_url.rstrip("/") + "/chat/completions"
        self._client = httpx.Client(headers=headers, timeout=timeout_s)

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]:
        return [self._one(text, source) for text in texts]

    def _one(self, text: str, source: str) -> dict[str, float]:
        import httpx

        if source == "OUTPUT":
            messages = [{"role": "user", "content": ""}, {"role": "assistant", "content": text}]
        else:
            messages = [{"role": "user", "content": text}]
        body = {"model": self.model, "messages": messages, "temperature": 0, "max_tokens": 20}
        try:
            response = self._client.post(self._url, json=body)
            response.raise_for_status()
            answer = response.json()["choices"][0]["message"]["content"]
            return parse_verdict(answer)
        except (httpx.HTTPError, KeyError, IndexError, ValueError, TypeError) as exc:
            raise RunError(f"llama-guard detector at {self._url}: {exc}") from exc


def parse_verdict(answer: str) -> dict[str, float]:
    """Scores from Llama Guard's answer: "safe", or "unsafe" then hazard codes (next line or same line,
    comma- or space-separated); "unsafe" without a known code counts as MISCONDUCT. Anything else is a
    ValueError: an unreadable verdict must not pass as safe."""
    tokens = [t for t in re.split(r"[\s,]+", answer.strip()) if t]
    first = tokens[0].lower().rstrip(".") if tokens else ""
    if first not in ("safe", "unsafe"):
        raise ValueError(f"not a Llama Guard verdict: {answer[:80]!r}")
    scores = dict.fromkeys(CATEGORIES, 0.0)
    if first == "safe":
        return scores
    codes = list(itertools.takewhile(lambda t: _CODE.match(t) is not None, tokens[1:]))
    hits = [HAZARDS[c.upper()] for c in codes if c.upper() in HAZARDS] or ["MISCONDUCT"]
    for category in hits:
        scores[category] = 1.0
    return scores


_CODE = re.compile(r"^[Ss][0-9]{1,2}$")


#: detoxify heads -> Bedrock content filter types.
DETOXIFY_HEADS = {
    "insult": "INSULTS",
    "identity_attack": "HATE",
    "threat": "VIOLENCE",
    "sexual_explicit": "SEXUAL",
}


class DetoxifyDetector:
    """Unitary's detoxify checkpoint (fmeval's toxicity model), loaded by fmops.metrics.toxicity."""

    def __init__(self, model_path: str | None = None) -> None:
        from fmops.metrics.toxicity import DETOXIFY, get_toxicity_detector

        self.name = "detoxify"
        self._detector = get_toxicity_detector(DETOXIFY, model_path=model_path)

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]:
        return [
            {category: float(heads[head]) for head, category in DETOXIFY_HEADS.items()}
            for heads in self._detector.score(list(texts))
        ]


#: ApplyGuardrail's confidence levels -> the probabilities fmops' strengths read back to the same level.
_LEVEL_PROBABILITY = {"NONE": 0.0, "LOW": 0.6, "MEDIUM": 0.8, "HIGH": 0.95}


class BedrockGuardrail:
    """A Bedrock guardrail (or anything serving ApplyGuardrail, e.g. `fmops guard serve`) as the content
    detector: its content filters' confidence per category (PROMPT_ATTACK included) becomes the score."""

    def __init__(
        self,
        guardrail_identifier: str,
        guardrail_version: str = "DRAFT",
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        try:
            import boto3
        except ImportError:
            from fmops.core.errors import MissingDependencyError

            raise MissingDependencyError("boto3", "bedrock", "The bedrock guardrail detector") from None
        self.name = "bedrock"
        self._identifier = guardrail_identifier
        self._version = guardrail_version
        self._client = boto3.client("bedrock-runtime", region_name=region, endpoint_url=endpoint_url)

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]:
        from botocore.exceptions import BotoCoreError, ClientError

        out = []
        for text in texts:
            try:
                response = self._client.apply_guardrail(
                    guardrailIdentifier=self._identifier,
                    guardrailVersion=self._version,
                    source=source,
                    content=[{"text": {"text": text}}],
                )
            except (BotoCoreError, ClientError) as exc:
                raise RunError(f"bedrock guardrail {self._identifier} {self._version}: {exc}") from exc
            scores: dict[str, float] = {}
            for assessment in response.get("assessments", []):
                for f in assessment.get("contentPolicy", {}).get("filters", []):
                    level = _LEVEL_PROBABILITY.get(f.get("confidence", "NONE"), 0.0)
                    scores[f["type"]] = max(scores.get(f["type"], 0.0), level)
            out.append(scores)
        return out
