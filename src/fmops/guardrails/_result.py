"""What applying a policy returns: the shape of Bedrock's ApplyGuardrail response, plus fmops' fields.

`action` is NONE or GUARDRAIL_INTERVENED; `outputs` is empty when nothing was done, else one item with the
masked text or the blocked message (as ApplyGuardrail); `assessments` holds one entry with the policies that
found something. fmops adds `blocked`, `policy_version` and `source`; `text` is what to pass on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["INPUT", "OUTPUT"]


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OutputText(_Out):
    text: str


class ContentFilterAssessment(_Out):
    type: str
    confidence: Literal["NONE", "LOW", "MEDIUM", "HIGH"]
    filterStrength: Literal["NONE", "LOW", "MEDIUM", "HIGH"]
    action: Literal["BLOCKED", "NONE"]
    detected: bool
    score: float  # fmops: the detector's probability behind the confidence


class TopicAssessment(_Out):
    name: str
    type: Literal["DENY"] = "DENY"
    action: Literal["BLOCKED", "NONE"]
    detected: bool
    score: float  # fmops: similarity to the topic
    threshold: float  # fmops: the calibrated threshold


class WordAssessment(_Out):
    match: str
    action: Literal["BLOCKED", "NONE"] = "BLOCKED"
    detected: bool = True


class ManagedWordAssessment(WordAssessment):
    type: Literal["PROFANITY"] = "PROFANITY"


class PiiAssessment(_Out):
    match: str
    type: str
    action: Literal["BLOCKED", "ANONYMIZED", "NONE"]
    detected: bool = True


class RegexAssessment(_Out):
    name: str
    match: str
    regex: str
    action: Literal["BLOCKED", "ANONYMIZED", "NONE"]
    detected: bool = True


class GroundingAssessment(_Out):
    type: Literal["GROUNDING", "RELEVANCE"]
    threshold: float
    score: float
    action: Literal["BLOCKED", "NONE"]
    detected: bool


class Assessment(_Out):
    """The policies of one check that found something (empty policies are left out when serialised)."""

    topicPolicy: dict[str, list[TopicAssessment]] | None = None
    contentPolicy: dict[str, list[ContentFilterAssessment]] | None = None
    wordPolicy: dict[str, list[WordAssessment | ManagedWordAssessment]] | None = None
    sensitiveInformationPolicy: dict[str, list[PiiAssessment | RegexAssessment]] | None = None
    contextualGroundingPolicy: dict[str, list[GroundingAssessment]] | None = None


class GuardrailResult(_Out):
    usage: dict[str, int]
    action: Literal["NONE", "GUARDRAIL_INTERVENED"]
    actionReason: str
    outputs: list[OutputText] = Field(default_factory=list)
    assessments: list[Assessment] = Field(default_factory=list)
    blocked: bool
    policy_version: str
    source: Source
    #: what to pass on: the original text when nothing was done, else outputs[0].text
    text: str = Field(exclude=True)
    warnings: list[str] = Field(default_factory=list, exclude=True)

    def response(self) -> dict[str, Any]:
        """The ApplyGuardrail-shaped JSON object (`fmops guard check`, `fmops guard serve`)."""
        return self.model_dump(mode="json", exclude_none=True)
