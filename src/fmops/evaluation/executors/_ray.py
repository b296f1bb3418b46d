"""The Ray side of the Ray executor; the only module of fmops that imports Ray.

What runs where:

* the driver plans every call (prompts, perturbations: record order, one seeded RNG), puts results
  into the records, aggregates and writes, exactly as the local executor;
* one **model actor** per model (async; `max_concurrency` large) owns the `Model`: its response store
  connection, its adaptive concurrency limiter and rate budgets. Every shard's calls go through it,
  so a model's limits hold for the whole cluster, not per worker. Calls that another shard already has
  in flight are awaited, not made again; results are committed to the store as they arrive;
* a pool of **scoring actors**, sized explicitly (`RayOptions.scorers`, else what the free CPUs and
  memory hold) and each reserving CPU and memory, score chunks of records with the same functions and
  the same batches as the local executor; helper models (BERTScore encoder, toxicity detector) load
  once per actor, while the model is still generating, and stay for later datasets;
* stages stream (ray.wait-driven): generation goes shard by shard, a window of shards in flight, and a
  scoring chunk is submitted as soon as all its records have their outputs. Only an algorithm that
  looks at every output before planning more calls (follow-ups: baselines, judges) waits for the whole
  first generation.

Actors restart on another node when theirs goes away, and their tasks are retried; results already in
the response store are then read back, never recomputed.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import math
import os
import pickle
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import ray

from fmops.core.errors import BadInputError, FieldError, FmopsError, RunError
from fmops.evaluation import scoring
from fmops.evaluation.algorithms import Algorithm, ModelCall, ScoredRecord
from fmops.evaluation.executors import RayOptions
from fmops.evaluation.generation import call_model, put_result

if TYPE_CHECKING:
    from fmops.evaluation.prompts import PromptTemplate
    from fmops.models import GenerateConfig, Model, ModelResult

Record = dict[str, Any]
_MIB = 1024 * 1024
#: Environment the workers need to find the same home, store, models file and offline data.
_FORWARD_PREFIXES = ("FMOPS_", "HF_", "TRANSFORMERS_", "NLTK_")


# -- connecting -----------------------------------------------------------------------------------


def connect(address: str | None) -> bool:
    """Join the cluster at `address` (or $RAY_ADDRESS), else start a local one bound to 127.0.0.1.

    Returns whether this call connected (and so should disconnect); an existing connection is reused.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if ray.is_initialized():
        return False
    common: dict[str, Any] = {"namespace": "fmops", "logging_level": logging.WARNING, "log_to_driver": False}
    target = address or os.environ.get("RAY_ADDRESS") or None
    try:
        if target:
            ray.init(address=target, **common)
        else:
            ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **common)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = target or "a local Ray instance"
        raise RunError(f"cannot connect to Ray at {where}: {exc}") from None
    return True


def _forwarded_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(_FORWARD_PREFIXES)}
    from fmops.models import models_config_path

    models_file = models_config_path()
    if models_file is not None and models_file.is_file():  # ./models.yaml: the workers' cwd differs
        env["FMOPS_MODELS"] = str(models_file.resolve())
    return env


# -- models -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRecipe:
    """How a worker builds the driver's model: from its spec (preferred) or a pickled provider object."""

    name: str
    spec: str | None
    args: Any
    api: bytes | None
    limits: Any
    prices: Any
    store: Any

    @classmethod
    def of(cls, model: Model) -> ModelRecipe:
        store = _store_recipe(model)
        if model.built_from is not None:  # what get_model built it from: each worker builds its own
            spec, args = model.built_from
            return cls(model.name, spec, args, None, model.limits, model.prices, store)
        import cloudpickle

        try:
            api = cloudpickle.dumps(model.api)
        except Exception as exc:  # locks, clients, loaded weights
            raise BadInputError(
                f"model {model.name} cannot be sent to Ray workers ({type(exc).__name__}: {exc}); "
                "pass it as a spec (PROVIDER/MODEL with -M arguments) so that each worker builds its own"
            ) from None
        return cls(model.name, None, None, api, model.limits, model.prices, store)

    @classmethod
    def of_spec(cls, spec: str, args: Sequence[str]) -> ModelRecipe:
        return cls(spec, spec, list(args), None, None, None, True)

    def build(self) -> Model:
        from fmops.models import Model, SQLiteStore, get_model

        store = self.store
        if isinstance(store, tuple) and store[0] == "sqlite":
            store = SQLiteStore(store[1])
        if self.spec is not None:
            return get_model(self.spec, self.args, store=store, limits=self.limits, prices=self.prices)
        api = pickle.loads(self.api) if self.api is not None else None
        return Model(api, name=self.name, store=store, limits=self.limits, prices=self.prices)


def _store_recipe(model: Model) -> Any:
    from fmops.models import SQLiteStore

    arg = getattr(model, "_store_arg", True)
    if isinstance(arg, bool):
        return arg  # True: the worker opens the default store ($FMOPS_STORE_URL, forwarded)
    if isinstance(arg, SQLiteStore):
        return ("sqlite", str(arg.path.resolve()))
    try:
        pickle.dumps(arg)
    except Exception:
        raise BadInputError(
            f"the response store {getattr(arg, 'url', arg)!r} cannot be shared with Ray workers; "
            "use SQLite on one machine or PostgreSQL (FMOPS_STORE_URL=postgresql://...)"
        ) from None
    return arg


def _request_for(call: ModelCall, gen_config: GenerateConfig) -> Any:
    """The request `generation.call_model` sends for a call (its store key must be the same)."""
    from fmops.models import GenerateRequest, ScoreRequest

    if call.op == "score":
        return ScoreRequest(text=call.text)
    config = (
        gen_config
        if call.max_tokens is None
        else gen_config.model_copy(update={"max_tokens": call.max_tokens})
    )
    return GenerateRequest(prompt=call.text, config=config, sample_index=call.sample_index)


def _no_report(_key: tuple[Any, ...]) -> None:
    return None


@ray.remote
class ModelActor:
    """The one process that calls a model for the whole cluster: one limiter, one store connection."""

    def __init__(self, recipe: ModelRecipe) -> None:
        self.model = recipe.build()
        self.inflight: dict[str, asyncio.Future[Any]] = {}

    async def call(self, calls: list[ModelCall], gen_config: GenerateConfig) -> list[ModelResult]:
        from fmops.models import request_key

        loop = asyncio.get_running_loop()
        keys = [request_key(self.model.fingerprint, c.op, _request_for(c, gen_config)) for c in calls]
        mine: list[int] = []
        waits: dict[int, asyncio.Future[Any]] = {}
        created: dict[str, asyncio.Future[Any]] = {}
        for i, key in enumerate(keys):
            other = self.inflight.get(key)
            if other is not None and key not in created:
                waits[i] = other  # another shard is making this call: share its result
                continue
            if key not in created:
                created[key] = self.inflight[key] = loop.create_future()
            mine.append(i)
        results: list[Any] = [None] * len(calls)
        try:
            made = await call_model(self.model, [(i, calls[i]) for i in mine], gen_config, _no_report, ())
            for i, result in zip(mine, made, strict=True):
                results[i] = result
                if not created[keys[i]].done():
                    created[keys[i]].set_result(result)
        except BaseException as exc:
            for future in created.values():
                if not future.done():
                    future.set_exception(RuntimeError(f"the shard making this call failed: {exc}"))
                    future.exception()  # retrieved: no "never retrieved" warning
            raise
        finally:
            for key, future in created.items():
                if self.inflight.get(key) is future:
                    del self.inflight[key]
        for i, future in waits.items():
            results[i] = await asyncio.shield(future)
        return results

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()

    async def close(self) -> None:
        await self.model.aclose()
        self.model.close()


# -- scoring ----------------------------------------------------------------------------------------


@ray.remote
class ScoringActor:
    """Scores shards; the helper models it needs load on its first shard and stay for the next ones."""

    def score(self, algo: Algorithm, records: list[Record]) -> list[ScoredRecord]:
        return scoring.score_batch(algo, records)

    def manifest_info(self, algo: Algorithm) -> dict[str, Any]:
        return algo.manifest_info()

    def warm(self, algo: Algorithm) -> None:
        """Load the helper models now, while the model generates (manifest_info loads what scoring uses)."""
        algo.manifest_info()

    def node_id(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def helpers(self) -> dict[str, list[str]]:
        """The helper models this actor's process holds (each loaded once, for every later shard)."""
        import sys

        loaded: dict[str, list[str]] = {}
        bertscore = sys.modules.get("fmops.metrics.bertscore")
        if bertscore is not None:
            loaded["bertscore"] = sorted(choice.model for choice in bertscore._SCORERS)
        toxicity = sys.modules.get("fmops.metrics.toxicity")
        if toxicity is not None:
            loaded["toxicity"] = sorted(key[0] for key in toxicity._DETECTORS)
        return loaded


def _cached_properties(cls: type) -> set[str]:
    return {
        name
        for klass in cls.__mro__
        for name, value in vars(klass).items()
        if isinstance(value, functools.cached_property)
    }


def portable(algo: Algorithm) -> Algorithm:
    """A copy of the algorithm without the helper models it may have cached (workers load their own)."""
    clone = copy.copy(algo)
    state = vars(clone)
    for name in _cached_properties(type(algo)):
        state.pop(name, None)
    for name, value in list(state.items()):
        if isinstance(value, Algorithm):
            state[name] = portable(value)
    return clone


def _get(refs: Any) -> Any:
    """ray.get that re-raises fmops's own errors as they are (the CLI shows them without a traceback)."""
    try:
        return ray.get(refs)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, FmopsError):
            raise cause from None
        raise RunError(f"a Ray task failed: {cause or exc}") from exc
    except ray.exceptions.RayError as exc:
        raise RunError(f"the Ray cluster failed: {exc}") from exc


# -- the runtime ------------------------------------------------------------------------------------


class RayRuntime:
    """A connection to a cluster with this executor's actors. Thread-safe: `compare` runs models side by side."""

    def __init__(self, address: str | None, options: RayOptions) -> None:
        self.options = options
        self._owns = connect(address)
        self._env = _forwarded_env()
        self._lock = threading.RLock()
        self._recipes: dict[int, tuple[Any, ModelRecipe, Any]] = {}  # id(model) -> model, recipe, key
        self._actors: dict[Any, Any] = {}  # model identity -> its actor
        self._scorers: list[Any] = []
        self._scorer_load: list[int] = []
        self._scorer_pings: dict[Any, int] = {}  # placement probes of scorers not known to run yet

    # -- actors -----------------------------------------------------------------------------------
    def _actor_options(self, **resources: Any) -> dict[str, Any]:
        return {
            "max_restarts": -1,  # a lost node: start again elsewhere...
            "max_task_retries": -1,  # ...and send it the tasks it had
            "runtime_env": {"env_vars": self._env},
            **resources,
        }

    def model_actor(self, model: Model | None, spec: str | None, args: tuple[str, ...]) -> Any:
        """The actor of the model under evaluation (spec None) or of a helper model (a judge).

        One per model for the executor's life: two Model objects built the same way (same name,
        fingerprint, limits and store) share one actor, hence one concurrency limit.
        """
        with self._lock:
            if spec is not None:
                recipe = ModelRecipe.of_spec(spec, args)
                key: Any = ("spec", spec, args)
            else:
                if model is None:
                    raise FieldError("this algorithm needs a model ({model}) to produce outputs", "model")
                known = self._recipes.get(id(model))
                if known is None or known[0] is not model:
                    recipe = ModelRecipe.of(model)
                    identity = (model.name, model.fingerprint, repr(model.limits), repr(recipe.store))
                    known = self._recipes[id(model)] = (model, recipe, identity)
                _, recipe, key = known
            actor = self._actors.get(key)
            if actor is None:
                actor = self._actors[key] = ModelActor.options(
                    **self._actor_options(
                        num_cpus=self.options.model_cpus,
                        num_gpus=self.options.model_gpus,
                        max_concurrency=1000,
                    )
                ).remote(recipe)
            return actor

    def model_actor_nodes(self) -> list[str]:
        """Node ids of the model actors (for tests and diagnostics)."""
        with self._lock:
            actors = list(self._actors.values())
        return _get([a.node_id.remote() for a in actors])

    def scorer_nodes(self) -> list[str]:
        with self._lock:
            actors = list(self._scorers)
        return _get([a.node_id.remote() for a in actors])

    def scorer_helpers(self) -> list[dict[str, list[str]]]:
        """Per scoring actor, the helper models it loaded (for tests and diagnostics)."""
        with self._lock:
            actors = list(self._scorers)
        return _get([a.helpers.remote() for a in actors])

    def _ensure_scorers(self, chunks: int) -> None:
        with self._lock:
            target = self.options.scorers or self._fitting_scorers(chunks)
            while len(self._scorers) < target:
                resources: dict[str, Any] = {"num_cpus": self.options.scorer_cpus}
                if self.options.scorer_memory_mb:
                    resources["memory"] = self.options.scorer_memory_mb * _MIB
                actor = ScoringActor.options(**self._actor_options(**resources)).remote()
                self._scorer_pings[actor.node_id.remote()] = len(self._scorers)
                self._scorers.append(actor)
                self._scorer_load.append(0)

    def _fitting_scorers(self, chunks: int) -> int:
        """Scorers for `chunks` scoring tasks: the ones there are (they keep their helper models), plus as
        many as the cluster's free CPUs and memory hold, one per chunk at most, at least one in all."""
        have = len(self._scorers)
        if chunks <= have:
            return max(1, have)
        free = ray.available_resources()
        room = [chunks - have]
        if self.options.scorer_cpus > 0:
            room.append(int(free.get("CPU", 0) // self.options.scorer_cpus))
        if self.options.scorer_memory_mb > 0:
            room.append(int(free.get("memory", 0) // (self.options.scorer_memory_mb * _MIB)))
        return max(1, have + max(0, min(room)))

    def _placed_scorers(self) -> list[int]:
        """Scorers that run (a scorer the cluster cannot place yet gets no task: it could wait forever)."""
        if self._scorer_pings:
            pings = list(self._scorer_pings)
            ready, _ = ray.wait(pings, num_returns=len(pings), timeout=0)
            if not ready and len(pings) == len(self._scorers):  # none runs yet: wait for the first
                ready, _ = ray.wait(pings, num_returns=1, timeout=self.options.placement_timeout_s)
                if not ready:
                    raise RunError(self._placement_message())
            for ping in ready:
                del self._scorer_pings[ping]
        waiting = set(self._scorer_pings.values())
        return [i for i in range(len(self._scorers)) if i not in waiting]

    def _placement_message(self) -> str:
        free = ray.available_resources()
        return (
            f"no scoring actor could start on the Ray cluster within {self.options.placement_timeout_s:g} s: "
            f"each asks for {self.options.scorer_cpus:g} CPU and {self.options.scorer_memory_mb} MiB of memory, "
            f"the cluster has {free.get('CPU', 0):g} CPU and {free.get('memory', 0) / _MIB:.0f} MiB free; "
            "lower FMOPS_RAY_SCORER_CPUS / FMOPS_RAY_SCORER_MEMORY_MB or add nodes"
        )

    def _pick_scorer(self) -> int:
        with self._lock:
            placed = self._placed_scorers()
            index = min(placed, key=lambda i: self._scorer_load[i])
            self._scorer_load[index] += 1
            return index

    def _release_scorer(self, index: int) -> None:
        with self._lock:
            self._scorer_load[index] -= 1

    # -- work -------------------------------------------------------------------------------------
    def run(
        self,
        algo: Algorithm,
        model: Model | None,
        records: list[Record],
        template: PromptTemplate | None,
        gen_config: GenerateConfig,
        progress: Callable[[int, int], None] | None,
    ) -> list[ScoredRecord]:
        size = self.options.shard_size
        shards = [list(range(s, min(s + size, len(records)))) for s in range(0, len(records), size)]
        # Planning stays here, in record order: the same seed gives the same prompts and perturbations.
        plans = (
            [algo.model_calls(r, template) for r in records]
            if model is not None and template is not None
            else None
        )
        has_followups = type(algo).followup_calls is not Algorithm.followup_calls
        pipeline = _Pipeline(self, algo, model, records, gen_config, progress, self._score_chunk())
        self._ensure_scorers(max(1, math.ceil(len(records) / pipeline.chunk)))
        try:
            if plans is not None:  # helper models load in the scorers while the model answers
                pipeline.warm_scorers()
            if plans is not None:
                pipeline.generate(shards, plans, final=not has_followups)
            if has_followups:  # they look at every output first (determinism probe, judges)
                followups = algo.followup_calls(records)
                if any(followups):
                    pipeline.generate(shards, followups, final=True)
            pipeline.mark_ready(range(len(records)))
            pipeline.drain()
        except BaseException:
            pipeline.cancel()
            raise
        return pipeline.results()

    def _score_chunk(self) -> int:
        """Records per scoring task: the local executor's chunk unless set. Helper models score a batch
        (padding, length-sorted batches) to the last float bit only for the same batch: equal chunks
        make the two executors' scores identical."""
        if self.options.score_chunk is not None:
            return self.options.score_chunk
        return scoring.SCORE_CHUNK

    def manifest_info(self, algo: Algorithm) -> dict[str, Any]:
        self._ensure_scorers(1)
        index = self._pick_scorer()
        try:
            return _get(self._scorers[index].manifest_info.remote(portable(algo)))
        finally:
            self._release_scorer(index)

    def close(self) -> None:
        with self._lock:
            models = list(self._actors.values())
            actors = models + self._scorers
            self._actors.clear()
            self._recipes.clear()
            self._scorers, self._scorer_load = [], []
        if models:
            ray.wait([a.close.remote() for a in models], num_returns=len(models), timeout=10)
        for actor in actors:
            ray.kill(actor)
        if self._owns and ray.is_initialized():
            ray.shutdown()


class _Pipeline:
    """One dataset's shards through generation and scoring, driven by ray.wait.

    Scoring tasks take the records in order, `chunk` records whose model calls succeeded at a time (the
    failed ones in between ride along and get their error), exactly the batches `scoring.score_dataset`
    makes; a chunk is submitted as soon as the generation of all its records has finished.
    """

    def __init__(
        self,
        runtime: RayRuntime,
        algo: Algorithm,
        model: Model | None,
        records: list[Record],
        gen_config: GenerateConfig,
        progress: Callable[[int, int], None] | None,
        chunk: int,
    ) -> None:
        self.runtime = runtime
        self.algo = algo
        self.model = model
        self.records = records
        self.gen_config = gen_config
        self.progress = progress
        self.chunk = max(1, chunk)
        self.pending: dict[Any, Callable[[Any], None]] = {}
        self.warming: list[Any] = []
        self.scored: list[ScoredRecord | None] = [None] * len(records)
        self.ready = [False] * len(records)
        self.cut = 0  # records before this one are in a submitted scoring task
        self.scan = 0  # records before this one are ready
        self.ok_in_chunk = 0
        self.algo_ref: Any = None
        self.total = len(records)
        self.done = 0

    # -- bookkeeping ------------------------------------------------------------------------------
    def _advance(self, units: int) -> None:
        self.done += units
        if self.progress is not None:
            self.progress(min(self.done, self.total), self.total)

    def _wait(self) -> None:
        ready, rest = ray.wait([*self.pending, *self.warming], num_returns=1)
        if rest:  # everything else already finished, without waiting
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        for ref in ready:
            if ref in self.pending:
                self.pending.pop(ref)(_get(ref))
            else:
                self.warming.remove(ref)
                _get(ref)

    def drain(self) -> None:
        while self.pending:
            self._wait()

    def warm_scorers(self) -> None:
        """Helper models load in every scorer while the model answers; one that cannot load fails the run
        now, not after generation. Nothing waits for a warm-up to finish."""
        copy_ref = ray.put(portable(self.algo))
        with self.runtime._lock:
            scorers = list(self.runtime._scorers)
        self.warming += [actor.warm.remote(copy_ref) for actor in scorers]

    def cancel(self) -> None:
        for ref in list(self.pending):
            with contextlib.suppress(Exception):  # already finished or not cancellable
                ray.cancel(ref)
        self.pending.clear()

    # -- generation -------------------------------------------------------------------------------
    def generate(self, shards: list[list[int]], plans: Sequence[Sequence[ModelCall]], *, final: bool) -> None:
        """All planned calls, shard by shard, a window of shards in flight. Each shard's results go into
        its records when they arrive; if `final` (no later calls), its records are then ready to score."""
        calls = sum(len(p) for p in plans)
        self.total += calls
        queue = deque(i for i, shard in enumerate(shards) if any(plans[r] for r in shard))
        if final:
            self.mark_ready(r for shard in shards for r in shard if not plans[r])
        outstanding: dict[int, int] = {}
        window = self._window(len(queue), calls)

        def submit_next() -> None:
            index = queue.popleft()
            by_target: dict[tuple[str | None, tuple[str, ...]], list[tuple[int, ModelCall]]] = {}
            for r in shards[index]:
                for call in plans[r]:
                    by_target.setdefault((call.model, call.model_args), []).append((r, call))
            outstanding[index] = len(by_target)
            for (spec, args), items in by_target.items():
                actor = self.runtime.model_actor(self.model, spec, args)
                ref = actor.call.remote([c for _, c in items], self.gen_config)
                self.pending[ref] = functools.partial(finished, index, items)

        def finished(index: int, items: list[tuple[int, ModelCall]], results: list[ModelResult]) -> None:
            for (r, call), result in zip(items, results, strict=True):
                put_result(self.records[r], call, result)
            self._advance(len(items))
            outstanding[index] -= 1
            if outstanding[index] == 0:
                del outstanding[index]
                if final:
                    self.mark_ready(shards[index])
                if queue:
                    submit_next()

        while queue and len(outstanding) < window:
            submit_next()
        while outstanding:
            self._wait()

    def _window(self, shards: int, calls: int) -> int:
        """Shards in flight: enough calls queued to keep the model's concurrency busy twice over."""
        if not shards:
            return 0
        model = self.model
        concurrency = 16
        if model is not None:
            concurrency = model.limits.max_concurrency or model.api.default_concurrency
        per_shard = max(1.0, calls / shards)
        return max(2, min(shards, math.ceil(2 * concurrency / per_shard) + 1))

    # -- scoring ----------------------------------------------------------------------------------
    def mark_ready(self, indices: Any) -> None:
        """These records have every output they will get: cut and submit the chunks now complete."""
        for r in indices:
            self.ready[r] = True
        n = len(self.records)
        while self.scan < n and self.ready[self.scan]:
            if not self.records[self.scan].get("error"):
                self.ok_in_chunk += 1
            self.scan += 1
            if self.ok_in_chunk == self.chunk:
                self._submit(self.cut, self.scan)
        if self.scan == n and self.cut < n:
            self._submit(self.cut, n)

    def _submit(self, start: int, end: int) -> None:
        self.cut, self.ok_in_chunk = end, 0
        if self.algo_ref is None:  # after planning and follow-ups: the state scoring needs is final
            self.algo_ref = ray.put(portable(self.algo))
        runtime = self.runtime
        scorer = runtime._pick_scorer()
        ref = runtime._scorers[scorer].score.remote(self.algo_ref, self.records[start:end])

        def finished(results: list[ScoredRecord]) -> None:
            runtime._release_scorer(scorer)
            self.scored[start:end] = results
            self._advance(end - start)

        self.pending[ref] = finished

    def results(self) -> list[ScoredRecord]:
        missing = [i for i, s in enumerate(self.scored) if s is None]
        if missing:
            raise RunError(f"{len(missing)} records were not scored (first: #{missing[0]})")
        return [s for s in self.scored if s is not None]
