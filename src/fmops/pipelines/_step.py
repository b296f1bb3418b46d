"""What a pipeline step is: typed parameters, a `run` that returns outputs, and what makes it cacheable.

Step types are entries of one `fmops.core.registry.Registry` (`STEPS`); other packages add theirs through
the `fmops.pipeline_steps` entry-point group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from fmops.core.registry import Registry

GateOutcome = Literal["pass", "fail", "inconclusive"]


class StepResult(BaseModel):
    """What a step produced: outputs later steps may reference, and for gates their outcome."""

    model_config = ConfigDict(frozen=True)

    outputs: dict[str, Any] = Field(default_factory=dict)
    #: Gates only: anything but "pass" stops the steps that depend on this one.
    gate: GateOutcome | None = None
    #: A manual approval not given yet: the steps that depend on this one wait for a later run.
    waiting: bool = False
    summary: str = ""


@dataclass
class StepContext:
    """Where a step runs: its id, a content-addressed folder for its files, and a way to report progress."""

    step_id: str
    #: The step's cache key (content hash of everything it depends on).
    key: str
    pipeline_name: str
    run_id: str
    work_dir: Path
    base_dir: Path
    say: Callable[[str], None]


class Step:
    """Base of every step type. Subclasses set `Params` and implement `run`."""

    Params: ClassVar[type[BaseModel]]
    #: Parameters that name files or folders: their content (not only their name) goes into the cache key,
    #: and a relative path is read against the pipeline file's folder.
    file_params: ClassVar[tuple[str, ...]] = ()
    #: Parameters that change how, not what, a step computes (an executor): left out of the cache key.
    how_params: ClassVar[tuple[str, ...]] = ()

    def run(self, params: Any, ctx: StepContext) -> StepResult:
        raise NotImplementedError

    def key_extras(self, params: Any) -> dict[str, Any]:
        """More cache-key ingredients than the parameters (e.g. what `registry:qa@production` points at now)."""
        return {}

    def reusable(self, result: StepResult) -> bool:
        """Whether this result may be cached (a pending manual approval may not)."""
        return not result.waiting

    def still_valid(self, params: Any, outputs: dict[str, Any]) -> bool:
        """Whether a cached result still holds (e.g. a deployment still running)."""
        return True


STEPS: Registry[type[Step]] = Registry("pipeline step", "fmops.pipeline_steps")

for _name, _target in {
    "evaluate": "fmops.pipelines._steps_eval:EvaluateStep",
    "compare": "fmops.pipelines._steps_eval:CompareStep",
    "select": "fmops.pipelines._steps_eval:SelectStep",
    "condition": "fmops.pipelines._steps_eval:ConditionStep",
    "finetune": "fmops.pipelines._steps_eval:FinetuneStep",
    "register": "fmops.pipelines._steps_registry:RegisterStep",
    "approve": "fmops.pipelines._steps_registry:ApproveStep",
    "promote": "fmops.pipelines._steps_registry:PromoteStep",
    "deploy": "fmops.pipelines._deploy:DeployStep",
    "notify": "fmops.pipelines._steps_registry:NotifyStep",
}.items():
    STEPS.register(_name, _target)


class Params(BaseModel):
    """Base of step parameters: unknown keys are mistakes."""

    model_config = ConfigDict(extra="forbid", frozen=True)
