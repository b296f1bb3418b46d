"""The registry's typed records: what a model, prompt or guardrail policy version holds, and what the registry reports."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal["model", "prompt", "policy"]
ApprovalStatus = Literal["PendingManualApproval", "Approved", "Rejected"]
APPROVAL_STATUSES: tuple[ApprovalStatus, ...] = ("PendingManualApproval", "Approved", "Rejected")


class Lineage(BaseModel):
    """Where a model version came from and what judged it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_model: str | None = None
    training_data_sha256: str | None = None
    experiment_run: str | None = None
    evaluation_runs: list[str] = Field(default_factory=list)
    comparisons: list[str] = Field(default_factory=list)


class ModelVersionSpec(BaseModel):
    """A model version: the model spec it resolves to (any provider), its lineage and its card."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    spec: str
    args: dict[str, Any] = Field(default_factory=dict)
    lineage: Lineage = Field(default_factory=Lineage)
    card: dict[str, Any] | None = None


class PromptVersionSpec(BaseModel):
    """A prompt version: a `$placeholder` template plus the model parameters it was written for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    template: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    notes: str | None = None


class PolicyEvidence(BaseModel):
    """What judged a policy version: a `fmops guard compare` result (policy_comparison.json), summarised."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    comparison: str  # the file, as given when registering
    sha256: str  # of that file, so the evidence cannot change under the version
    dataset: str
    records: int
    #: This version's micro-averaged figures in that comparison (precision, recall, f1, fpr).
    micro: dict[str, float | None] = Field(default_factory=dict)
    #: Per compared policy: the names (categories, entity types, micro) where the pair differs beyond noise.
    beyond_noise: dict[str, list[str]] = Field(default_factory=dict)


class PolicyVersionSpec(BaseModel):
    """A guardrail policy version: the policy file's text (immutable), its sha256 and its evidence."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    sha256: str
    source: str | None = None  # where it was registered from
    evidence: list[PolicyEvidence] = Field(default_factory=list)


class VersionInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    name: str
    version: int
    status: ApprovalStatus
    description: str | None = None
    created_by: str
    created_at: str
    aliases: list[str] = Field(default_factory=list)
    payload: dict[str, Any]

    def model_spec(self) -> ModelVersionSpec:
        return ModelVersionSpec.model_validate(self.payload)

    def prompt_spec(self) -> PromptVersionSpec:
        return PromptVersionSpec.model_validate(self.payload)

    def policy_spec(self) -> PolicyVersionSpec:
        return PolicyVersionSpec.model_validate(self.payload)


class EntryInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: Kind
    name: str
    created_at: str
    aliases: dict[str, int] = Field(default_factory=dict)
    versions: list[VersionInfo] = Field(default_factory=list)


class AliasEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    alias: str
    action: Literal["promote", "rollback"]
    from_version: int | None
    to_version: int
    actor: str
    reason: str | None = None
    at: str


class AuditEvent(BaseModel):
    """One line of the append-only audit log: who did what, when, and why."""

    model_config = ConfigDict(frozen=True)

    at: str
    actor: str
    kind: Kind
    name: str
    action: str
    version: int | None = None
    detail: dict[str, Any] = Field(default_factory=dict)
    reason: str | None = None
