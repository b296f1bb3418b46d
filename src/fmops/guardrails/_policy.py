"""The guardrail policy file: Bedrock CreateGuardrail's field names, one pydantic model, one reader.

A policy is YAML (or JSON) with the request fields of Amazon Bedrock's `CreateGuardrail`, so a Bedrock user
reads it without a manual; fmops adds `version` (else the file's sha256 stands for it) and `detectors`
(which registered detector serves content filters, prompt attacks and topics; offline defaults otherwise).
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fmops.core.errors import BadInputError


class Strength(StrEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class ContentType(StrEnum):
    SEXUAL = "SEXUAL"
    VIOLENCE = "VIOLENCE"
    HATE = "HATE"
    INSULTS = "INSULTS"
    MISCONDUCT = "MISCONDUCT"
    PROMPT_ATTACK = "PROMPT_ATTACK"


class PiiAction(StrEnum):
    BLOCK = "BLOCK"
    ANONYMIZE = "ANONYMIZE"
    NONE = "NONE"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContentFilter(_Strict):
    type: ContentType
    inputStrength: Strength = Strength.NONE
    outputStrength: Strength = Strength.NONE


class ContentPolicy(_Strict):
    filtersConfig: list[ContentFilter] = Field(default_factory=list)


class Topic(_Strict):
    name: str = Field(min_length=1, max_length=100)
    definition: str = Field(min_length=1, max_length=1000)
    examples: list[str] = Field(default_factory=list, max_length=100)
    type: Literal["DENY"] = "DENY"


class TopicPolicy(_Strict):
    topicsConfig: list[Topic] = Field(default_factory=list)


class Word(_Strict):
    text: str = Field(min_length=1)


class ManagedWordList(_Strict):
    type: Literal["PROFANITY"] = "PROFANITY"


class WordPolicy(_Strict):
    wordsConfig: list[Word] = Field(default_factory=list)
    managedWordListsConfig: list[ManagedWordList] = Field(default_factory=list)


class PiiEntity(_Strict):
    type: str
    action: PiiAction = PiiAction.ANONYMIZE
    # Bedrock's newer per-direction actions; when absent, `action` applies to both.
    inputAction: PiiAction | None = None
    outputAction: PiiAction | None = None

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        from fmops.guardrails._pii import PII_TYPES

        if value not in PII_TYPES:
            raise ValueError(f"unknown PII type {value!r}; known: {', '.join(sorted(PII_TYPES))}")
        return value

    def action_for(self, source: str) -> PiiAction:
        chosen = self.inputAction if source == "INPUT" else self.outputAction
        return chosen or self.action


class RegexConfig(_Strict):
    name: str = Field(min_length=1, max_length=100)
    pattern: str = Field(min_length=1)
    description: str | None = None
    action: PiiAction = PiiAction.ANONYMIZE
    inputAction: PiiAction | None = None
    outputAction: PiiAction | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        import re

        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value

    def action_for(self, source: str) -> PiiAction:
        chosen = self.inputAction if source == "INPUT" else self.outputAction
        return chosen or self.action


class SensitiveInformationPolicy(_Strict):
    piiEntitiesConfig: list[PiiEntity] = Field(default_factory=list)
    regexesConfig: list[RegexConfig] = Field(default_factory=list)


class GroundingFilter(_Strict):
    type: Literal["GROUNDING", "RELEVANCE"]
    threshold: float = Field(ge=0.0, le=0.99)


class ContextualGroundingPolicy(_Strict):
    filtersConfig: list[GroundingFilter] = Field(default_factory=list)


class DetectorChoice(_Strict):
    """A registered detector (`fmops.guardrails.DETECTORS`) and its constructor arguments."""

    name: str
    args: dict[str, Any] = Field(default_factory=dict)


class Detectors(_Strict):
    """fmops extension: which detector scores content filters (incl. prompt attack), denied topics and
    contextual grounding (`lexical` by default; its encoder for relevance follows `topics` unless given)."""

    content: DetectorChoice = DetectorChoice(name="minilm-static")
    topics: DetectorChoice = DetectorChoice(name="minilm-static")
    grounding: DetectorChoice = DetectorChoice(name="lexical")


class PolicyConfig(_Strict):
    """One guardrail policy, as written in the file."""

    name: str = "guardrail"
    description: str | None = None
    version: str | None = None
    contentPolicyConfig: ContentPolicy | None = None
    topicPolicyConfig: TopicPolicy | None = None
    wordPolicyConfig: WordPolicy | None = None
    sensitiveInformationPolicyConfig: SensitiveInformationPolicy | None = None
    contextualGroundingPolicyConfig: ContextualGroundingPolicy | None = None
    blockedInputMessaging: str = "Sorry, I can't help with that request."
    blockedOutputsMessaging: str = "Sorry, I can't provide that answer."
    detectors: Detectors = Detectors()


def _line_of(text: str, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `loc` (keys and list indexes), or of its deepest existing parent."""
    try:
        node = yaml.compose(text)
    except yaml.YAMLError:
        return None
    line = None
    for part in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part]
            if not match:
                break
            line = match[0][0].start_mark.line + 1
            node = match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def parse_policy(text: str, where: str = "<policy>") -> PolicyConfig:
    """The policy in `text`; a BadInputError naming `where`, the line and the field otherwise."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise BadInputError(f"{where}{line}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{where}: a policy is a mapping of CreateGuardrail fields")
    try:
        return PolicyConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
        line = _line_of(text, loc)
        field = ".".join(str(p) for p in loc) or "policy"
        at = f":{line}" if line else ""
        raise BadInputError(f"{where}{at}: {field}: {first['msg']}") from None


def read_policy(path: str | Path) -> tuple[PolicyConfig, str]:
    """(policy, version) from a file; the version is the file's `version` or `sha256:` of its bytes."""
    file = Path(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read the policy ({exc.strerror or exc})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInputError(f"{file}: the policy is not UTF-8 text") from None
    config = parse_policy(text, str(file))
    version = config.version or "sha256:" + hashlib.sha256(raw).hexdigest()[:12]
    return config, version
