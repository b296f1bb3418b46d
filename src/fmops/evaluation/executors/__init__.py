"""Executors: where one dataset's generation and scoring run. The engine is the same for all of them.

`local` (the default) runs model calls on asyncio and scores in-process, batched; it never imports Ray.
`ray` runs the same planned calls and the same scoring functions on a Ray cluster (see `_ray.py`):
records are sharded, each model is one actor that owns its limiter (one concurrency limit per model,
cluster-wide), helper models load once per scoring actor, and scoring shards start as soon as their
generation shards finish. Planning (sampling, prompts, perturbations) always stays in the driver, in
record order, so both executors produce the same results for the same seed.

    from fmops.evaluation import evaluate
    evaluate("qa_accuracy", dataset="qa.jsonl", executor="ray", ray_address="auto")
"""

from __future__ import annotations

import importlib.util
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from fmops.core.errors import BadInputError, FieldError, MissingDependencyError
from fmops.core.registry import Registry

if TYPE_CHECKING:
    from fmops.evaluation.algorithms import Algorithm, ScoredRecord
    from fmops.evaluation.prompts import PromptTemplate
    from fmops.models import GenerateConfig, Model

Record = dict[str, Any]
ProgressCallback = Callable[[int, int], None]
EXECUTORS = ("local", "ray")


class Executor(ABC):
    """Runs one dataset's model calls and scoring; the engine plans, aggregates and writes."""

    name: str

    @abstractmethod
    def run(
        self,
        algo: Algorithm,
        model: Model | None,
        records: list[Record],
        template: PromptTemplate | None,
        gen_config: GenerateConfig,
        progress: ProgressCallback | None = None,
    ) -> list[ScoredRecord]:
        """Fill the records with the model's outputs (when there is a model), then score them, in order."""

    def manifest_info(self, algo: Algorithm) -> dict[str, Any]:
        """The algorithm's manifest entries (helper models used...), computed where its helpers live."""
        return algo.manifest_info()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release workers and connections this executor started."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """asyncio for model calls (one batch per phase), batched scoring in this process."""

    name = "local"

    def run(
        self,
        algo: Algorithm,
        model: Model | None,
        records: list[Record],
        template: PromptTemplate | None,
        gen_config: GenerateConfig,
        progress: ProgressCallback | None = None,
    ) -> list[ScoredRecord]:
        from fmops.evaluation.generation import generate
        from fmops.evaluation.scoring import score_dataset

        generate(algo, model, records, template, gen_config, progress)
        return score_dataset(algo, records, progress)


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise BadInputError(f"{name}={raw!r}: expected an integer") from None


def _env_float(name: str) -> float | None:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return None
    try:
        return float(raw)
    except ValueError:
        raise BadInputError(f"{name}={raw!r}: expected a number") from None


@dataclass(frozen=True)
class RayOptions:
    """How the Ray executor shards work and what its actors ask of the cluster.

    Every field can also be set with an environment variable `FMOPS_RAY_<FIELD>` (e.g.
    `FMOPS_RAY_SCORERS=4`, `FMOPS_RAY_SCORER_MEMORY_MB=6000` for deberta-xlarge-mnli).
    """

    #: Records per generation task (a window of them in flight per model).
    shard_size: int = 128
    #: Records per scoring task. None: the local executor's chunk (1,000), which keeps scores identical
    #: to the last bit (helper models batch); smaller chunks spread small datasets over more actors.
    score_chunk: int | None = None
    #: Scoring actors (each loads the helper models once). None: as many as the cluster's free CPUs and
    #: memory allow for `scorer_cpus` and `scorer_memory_mb` each, and no more than there are chunks.
    scorers: int | None = None
    scorer_cpus: float = 1.0
    #: Memory reserved per scoring actor (Ray's `memory` resource): Ray places no more actors than fit.
    scorer_memory_mb: int = 2048
    #: Resources of each model actor (the one process that talks to a model): 0 CPU for remote models;
    #: give local (hf/zoo) models a CPU or a GPU.
    model_cpus: float = 0.0
    model_gpus: float = 0.0
    #: How long to wait for the cluster to place the first scoring actor before saying what is missing.
    placement_timeout_s: float = 120.0
    #: A dataset with fewer records runs in-process while Ray is not started yet (Ray's start costs
    #: seconds; five records never need a cluster). 0: always use Ray.
    local_below: int = 50

    def __post_init__(self) -> None:
        if self.shard_size < 1:
            raise BadInputError(f"Ray executor: shard_size must be at least 1, got {self.shard_size}")
        if self.score_chunk is not None and self.score_chunk < 1:
            raise BadInputError(f"Ray executor: score_chunk must be at least 1, got {self.score_chunk}")
        if self.scorers is not None and self.scorers < 1:
            raise BadInputError(f"Ray executor: scorers must be at least 1, got {self.scorers}")
        if self.scorer_memory_mb < 0 or self.scorer_cpus < 0 or self.model_cpus < 0 or self.model_gpus < 0:
            raise BadInputError("Ray executor: resource requests must not be negative")

    @classmethod
    def from_env(cls, **overrides: Any) -> RayOptions:
        values: dict[str, Any] = {}
        for f in fields(cls):
            env = f"FMOPS_RAY_{f.name.upper()}"
            reader = _env_float if f.type in ("float", float) else _env_int
            value = reader(env)
            if value is not None:
                values[f.name] = value
        return replace(cls(), **{**values, **overrides})


class RayExecutor(Executor):
    """Runs on a Ray cluster: `address` None starts a local one on 127.0.0.1 (or joins $RAY_ADDRESS).

    Ray is imported and connected on the first dataset that needs it, and disconnected by `close` only
    if this executor connected it.
    """

    name = "ray"
    takes_address = True

    def __init__(self, address: str | None = None, options: RayOptions | None = None) -> None:
        if importlib.util.find_spec("ray") is None:
            raise MissingDependencyError("ray", "ray", "The Ray executor (--executor ray)")
        self.address = address
        self.options = options or RayOptions.from_env()
        self._runtime: Any = None
        self._lock = threading.Lock()

    @property
    def started(self) -> bool:
        return self._runtime is not None

    def runtime(self) -> Any:
        """The connected Ray side (`_ray.RayRuntime`), started on first use."""
        with self._lock:  # `compare` runs models in threads
            if self._runtime is None:
                from fmops.evaluation.executors._ray import RayRuntime

                self._runtime = RayRuntime(self.address, self.options)
            return self._runtime

    def run(
        self,
        algo: Algorithm,
        model: Model | None,
        records: list[Record],
        template: PromptTemplate | None,
        gen_config: GenerateConfig,
        progress: ProgressCallback | None = None,
    ) -> list[ScoredRecord]:
        if self._runtime is None and len(records) < self.options.local_below:
            return LocalExecutor().run(algo, model, records, template, gen_config, progress)
        return self.runtime().run(algo, model, records, template, gen_config, progress)

    def manifest_info(self, algo: Algorithm) -> dict[str, Any]:
        if self._runtime is None:
            return algo.manifest_info()
        return self._runtime.manifest_info(algo)

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None:
            runtime.close()


#: Executors by name (the one registry mechanism); plug-ins through the `fmops.executors` entry points.
#: An executor class that joins a cluster takes `address` (and says so with `takes_address = True`).
EXECUTOR_REGISTRY: Registry[type[Executor]] = Registry("executor", "fmops.executors")
EXECUTOR_REGISTRY.register("local", LocalExecutor)
EXECUTOR_REGISTRY.register("ray", RayExecutor)


def get_executor(name: str | Executor = "local", *, ray_address: str | None = None) -> Executor:
    """An executor by name (`local`, `ray`, or a plug-in), or the one given; built through the registry,
    which records its name and arguments."""
    if isinstance(name, Executor):
        return name
    factory = EXECUTOR_REGISTRY.get(name)
    if not getattr(factory, "takes_address", False):
        if ray_address is not None:
            raise FieldError("{ray_address} needs {executor} ray", "ray_address", "executor")
        return EXECUTOR_REGISTRY.create(name)  # type: ignore[no-any-return]
    return EXECUTOR_REGISTRY.create(name, address=ray_address)  # type: ignore[no-any-return]


__all__ = [
    "EXECUTORS",
    "EXECUTOR_REGISTRY",
    "Executor",
    "LocalExecutor",
    "RayExecutor",
    "RayOptions",
    "get_executor",
]
