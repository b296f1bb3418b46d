"""Running a pipeline: a small topological walk over the steps, each one a cache hit or a run.

Steps run one after another in dependency order. A step whose key (see `_cache`) is cached, and whose
cached result still holds, is not run again: an unchanged pipeline re-runs in seconds, a changed dataset
re-runs exactly what depends on it, and a run killed with SIGKILL resumes at the step that was running
(the steps before it are cache hits). A gate that does not pass, a manual approval not yet given, or a
failed step stops the steps that depend on it; independent steps still run.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from fmops.core.errors import BadInputError, FmopsError
from fmops.pipelines._cache import CachedStep, content_hash, read_cached, step_key, work_dir, write_cached
from fmops.pipelines._spec import REFERENCE, WHOLE_REFERENCE, PipelineSpec, StepSpec
from fmops.pipelines._state import PipelineRun, StepRecord, new_run_id, now, save_run
from fmops.pipelines._step import STEPS, Step, StepContext, StepResult

EventFn = Callable[[str], None]


def run_pipeline(pipeline: PipelineSpec, *, say: EventFn | None = None, force: bool = False) -> PipelineRun:
    """Run `pipeline` (cached steps are reused unless `force`); returns the finished run record."""
    from fmops import __version__

    tell = say or (lambda _message: None)
    order = pipeline.order()
    run = PipelineRun(
        id=new_run_id(pipeline.name),
        pipeline=pipeline.name,
        file=str(pipeline.path) if pipeline.path else None,
        fmops_version=__version__,
        steps=[StepRecord(id=i, type=pipeline.step(i).type) for i in order],
    )
    save_run(run)
    outputs: dict[str, dict[str, Any]] = {}
    keys: dict[str, str] = {}
    stopped: dict[str, str] = {}  # step id -> why the steps after it do not run
    try:
        for step_id in order:
            spec = pipeline.step(step_id)
            record = run.step(step_id)
            stopper = next((u for u in sorted(spec.upstream()) if u in stopped), None)
            if stopper is not None:
                record.status, record.summary = "skipped", f"not run: {stopped[stopper]}"
                stopped[step_id] = stopped[stopper]
                tell(f"{step_id}: skipped ({stopped[stopper]})")
                save_run(run)
                continue
            result = _run_step(pipeline, spec, record, run, outputs, keys, force, tell)
            if result is None:  # failed: recorded, and what depends on it does not run
                stopped[step_id] = f"step {step_id} failed"
                continue
            outputs[step_id] = result.outputs
            if result.gate not in (None, "pass"):
                stopped[step_id] = f"gate {step_id} is {result.gate}"
            elif result.waiting:
                stopped[step_id] = f"{step_id} waits for a manual approval"
            save_run(run)
        run.status = _final_status(run)
    except KeyboardInterrupt:
        run.status = "interrupted"
        raise
    finally:
        if run.status == "running":
            run.status = "failed"
        run.finished_at = now()
        save_run(run)
    return run


def _run_step(
    pipeline: PipelineSpec,
    spec: StepSpec,
    record: StepRecord,
    run: PipelineRun,
    outputs: dict[str, dict[str, Any]],
    keys: dict[str, str],
    force: bool,
    tell: EventFn,
) -> StepResult | None:
    from fmops import __version__

    step: Step = STEPS.get(spec.type)()
    try:
        resolved = resolve_references(spec.params, outputs, pipeline.params, spec)
        resolved = _absolute_files(step, resolved, pipeline.base_dir)
        params = _validate(step.Params, resolved, spec, pipeline)
        files = {
            name: content_hash(Path(value))
            for name in step.file_params
            if isinstance(value := getattr(params, name, None), str)
        }
        key = step_key(
            {
                "type": spec.type,
                "params": params.model_dump(mode="json", exclude=set(step.how_params)),
                "files": files,
                "extras": step.key_extras(params),
                "upstream": {u: keys.get(u) for u in sorted(spec.upstream())},
                "fmops": __version__,
            }
        )
    except FmopsError as exc:
        return _failed(record, run, exc, tell)
    record.key = key
    keys[spec.id] = key
    cached = None if force else read_cached(key)
    if cached is not None and step.still_valid(params, cached.outputs):
        result = StepResult(outputs=cached.outputs, gate=cached.gate, summary=cached.summary)  # type: ignore[arg-type]
        record.status, record.seconds = "cached", 0.0
        tell(f"{spec.id}: cached ({cached.summary})" if cached.summary else f"{spec.id}: cached")
    else:
        record.status, record.started_at = "running", now()
        save_run(run)
        folder = work_dir(key)
        shutil.rmtree(folder, ignore_errors=True)  # what a killed attempt left behind
        folder.mkdir(parents=True)
        ctx = StepContext(
            step_id=spec.id,
            key=key,
            pipeline_name=pipeline.name,
            run_id=run.id,
            work_dir=folder,
            base_dir=pipeline.base_dir,
            say=lambda message: tell(f"{spec.id}: {message}"),
        )
        tell(f"{spec.id}: running ({spec.type})")
        started = time.perf_counter()
        try:
            result = step.run(params, ctx)
        except FmopsError as exc:
            return _failed(record, run, exc, tell)
        except Exception as exc:  # a bug or an engine failure: recorded on the step, never a lost run
            return _failed(record, run, RuntimeError(f"{type(exc).__name__}: {exc}"), tell)
        record.seconds = round(time.perf_counter() - started, 3)
        record.status = "waiting" if result.waiting else "done"
        if step.reusable(result):
            write_cached(
                CachedStep(
                    key=key,
                    step=spec.id,
                    type=spec.type,
                    outputs=result.outputs,
                    gate=result.gate,
                    summary=result.summary,
                )
            )
        tell(f"{spec.id}: {record.status}" + (f" ({result.summary})" if result.summary else ""))
    record.outputs, record.gate, record.summary = result.outputs, result.gate, result.summary
    record.finished_at = now()
    return result


def _failed(record: StepRecord, run: PipelineRun, exc: BaseException, tell: EventFn) -> None:
    record.status, record.error, record.finished_at = "failed", str(exc), now()
    tell(f"{record.id}: failed: {exc}")
    save_run(run)
    return None


def _final_status(run: PipelineRun) -> Any:
    statuses = {s.status for s in run.steps}
    gates = {s.gate for s in run.steps}
    if "failed" in statuses:
        return "failed"
    if "fail" in gates:
        return "gate_failed"
    if "inconclusive" in gates:
        return "gate_inconclusive"
    if "waiting" in statuses:
        return "waiting"
    return "succeeded"


def resolve_references(
    value: Any, outputs: dict[str, dict[str, Any]], params: dict[str, Any], spec: StepSpec | None = None
) -> Any:
    """Replace `${steps.X.outputs.Y}` and `${params.N}`; a value that is only a reference keeps its type."""
    if isinstance(value, dict):
        return {k: resolve_references(v, outputs, params, spec) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_references(v, outputs, params, spec) for v in value]
    if not isinstance(value, str):
        return value
    if re.fullmatch(WHOLE_REFERENCE, value):
        match = REFERENCE.search(value)
        assert match is not None
        return _lookup(match, outputs, params, spec)
    return REFERENCE.sub(lambda m: str(_lookup(m, outputs, params, spec)), value)


def _lookup(
    match: re.Match[str], outputs: dict[str, dict[str, Any]], params: dict[str, Any], spec: StepSpec | None
) -> Any:
    where = f"step {spec.id!r}: " if spec is not None else ""
    if match.group(4):
        return params[match.group(4)]
    source, name = match.group(2), match.group(3)
    produced = outputs.get(source)
    if produced is None:
        raise BadInputError(f"{where}step {source!r} produced no outputs (it did not run)")
    if name not in produced:
        raise BadInputError(
            f"{where}step {source!r} has no output {name!r}; it has: {', '.join(sorted(produced))}"
        )
    return produced[name]


def _absolute_files(step: Step, params: dict[str, Any], base: Path) -> dict[str, Any]:
    out = dict(params)
    for name in step.file_params:
        value = out.get(name)
        if isinstance(value, str) and not Path(value).is_absolute() and (base / value).exists():
            out[name] = str((base / value).resolve())
    return out


def _validate(model: type[BaseModel], params: dict[str, Any], spec: StepSpec, pipeline: PipelineSpec) -> Any:
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(map(str, first["loc"])) or "with"
        where = f"{pipeline.path}:{spec.line}: " if pipeline.path else ""
        raise BadInputError(f"{where}step {spec.id!r}: with.{field}: {first['msg']}") from None
