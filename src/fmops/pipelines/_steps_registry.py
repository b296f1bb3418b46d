"""Steps on the registry and the outside world: register, approve, promote, notify."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from fmops.core.errors import BadInputError, RunError
from fmops.pipelines._step import Params, Step, StepContext, StepResult

_ACTOR = "pipeline"


def _actor(ctx: StepContext) -> str:
    return f"{_ACTOR}:{ctx.pipeline_name}/{ctx.run_id}"


class RegisterParams(Params):
    name: str
    model: str = Field(description="The model spec the new version points at.")
    description: str | None = None
    base_model: str | None = None
    training_data: str | None = Field(default=None, description="Training data file (its sha256 is stored).")
    experiment_run: str | None = None
    evaluation_runs: list[str] = Field(default_factory=list)
    comparisons: list[str] = Field(default_factory=list)
    card: dict[str, Any] | None = None


class RegisterStep(Step):
    """Register a model version with its lineage; outputs `name`, `version`, `spec` (`registry:NAME/V`)."""

    Params = RegisterParams
    file_params = ("training_data",)

    def run(self, params: RegisterParams, ctx: StepContext) -> StepResult:
        from fmops.registry import register_model

        lineage = {
            "base_model": params.base_model,
            "training_data_sha256": _sha256(Path(params.training_data)) if params.training_data else None,
            "experiment_run": params.experiment_run,
            "evaluation_runs": params.evaluation_runs,
            "comparisons": params.comparisons,
        }
        version = register_model(
            params.name,
            params.model,
            lineage=lineage,
            card=params.card,
            description=params.description or f"registered by pipeline {ctx.pipeline_name} run {ctx.run_id}",
            actor=_actor(ctx),
        )
        return StepResult(
            outputs={
                "name": params.name,
                "version": version.version,
                "spec": f"registry:{params.name}/{version.version}",
            },
            summary=f"{params.name} version {version.version}",
        )

    def still_valid(self, params: RegisterParams, outputs: dict[str, Any]) -> bool:
        return _version_exists(params.name, outputs.get("version"))


class ApproveParams(Params):
    name: str
    version: int
    mode: Literal["auto", "manual"] = Field(
        default="manual",
        description="auto: approve now (put it after the gates it relies on); manual: wait for "
        "`fmops registry approve`.",
    )
    reason: str | None = None
    require: list[str] = Field(
        default_factory=list,
        description='auto: gate outcomes that must all be "pass", e.g. ["${steps.gate.outputs.outcome}"].',
    )


class ApproveStep(Step):
    """Approve a version automatically, or wait for a person to (`fmops registry approve NAME V`)."""

    Params = ApproveParams

    def run(self, params: ApproveParams, ctx: StepContext) -> StepResult:
        from fmops.registry import model_registry

        registry = model_registry()
        current = registry.get(params.name, params.version)
        unmet = [outcome for outcome in params.require if outcome != "pass"]
        if params.mode == "auto" and unmet:
            raise RunError(
                f"step {ctx.step_id!r}: not approving: required gate outcomes {unmet} are not all pass"
            )
        if params.mode == "auto" and current.status == "PendingManualApproval":
            reason = params.reason or f"approved by pipeline {ctx.pipeline_name} (its gates passed)"
            current = registry.approve(params.name, params.version, actor=_actor(ctx), reason=reason)
        outputs = {"name": params.name, "version": params.version, "status": current.status}
        if current.status == "Rejected":
            raise RunError(f"{params.name} version {params.version} was rejected")
        if current.status != "Approved":
            return StepResult(
                outputs=outputs,
                waiting=True,
                summary=f"waiting: run `fmops registry approve {params.name} {params.version}`, then run again",
            )
        return StepResult(outputs=outputs, summary=f"{params.name} version {params.version} approved")

    def still_valid(self, params: ApproveParams, outputs: dict[str, Any]) -> bool:
        from fmops.registry import model_registry

        try:
            return model_registry().get(params.name, params.version).status == "Approved"
        except BadInputError:
            return False


class PromoteParams(Params):
    name: str
    version: int
    alias: str = "production"
    reason: str | None = None


class PromoteStep(Step):
    """Point an alias at a version; outputs `alias`, `version`, `previous`, `spec` (`registry:NAME@ALIAS`)."""

    Params = PromoteParams

    def run(self, params: PromoteParams, ctx: StepContext) -> StepResult:
        from fmops.registry import model_registry

        event = model_registry().promote(
            params.name,
            params.version,
            params.alias,
            actor=_actor(ctx),
            reason=params.reason or f"promoted by pipeline {ctx.pipeline_name}",
        )
        return StepResult(
            outputs={
                "alias": params.alias,
                "version": params.version,
                "previous": event.from_version,
                "spec": f"registry:{params.name}@{params.alias}",
            },
            summary=f"{params.name}@{params.alias}: {event.from_version or '(none)'} -> {params.version}",
        )

    def still_valid(self, params: PromoteParams, outputs: dict[str, Any]) -> bool:
        from fmops.registry import model_registry

        try:
            return model_registry().show(params.name).aliases.get(params.alias) == params.version
        except BadInputError:
            return False


class NotifyParams(Params):
    url: str = Field(description="Webhook URL that receives a JSON POST.")
    message: str
    payload: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0)


class NotifyStep(Step):
    """POST {pipeline, run, step, message, payload} as JSON to a webhook."""

    Params = NotifyParams

    def run(self, params: NotifyParams, ctx: StepContext) -> StepResult:
        import httpx

        body = {
            "pipeline": ctx.pipeline_name,
            "run": ctx.run_id,
            "step": ctx.step_id,
            "message": params.message,
            "payload": params.payload,
        }
        try:
            response = httpx.post(params.url, json=body, timeout=params.timeout_s)
        except httpx.HTTPError as exc:
            raise RunError(f"step {ctx.step_id!r}: webhook {params.url} unreachable: {exc}") from None
        if response.status_code >= 400:
            raise RunError(f"step {ctx.step_id!r}: webhook {params.url} answered {response.status_code}")
        return StepResult(outputs={"status": response.status_code}, summary=f"notified {params.url}")


def _version_exists(name: str, version: Any) -> bool:
    from fmops.registry import model_registry

    try:
        model_registry().get(name, int(version))
    except (BadInputError, TypeError, ValueError):
        return False
    return True


def _sha256(path: Path) -> str:
    if not path.is_file():
        raise BadInputError(f"{path}: training data file not found")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
