"""Pipelines: end-to-end journeys composed from the engines, as YAML files with cached steps and
noise-aware gates (and the quickstart, `fmops.pipelines.quickstart`).

    from fmops.pipelines import load_pipeline, run_pipeline

    run = run_pipeline(load_pipeline("examples/pipelines/release.yaml"), say=print)
    run.status, [(s.id, s.status, s.gate) for s in run.steps]

Step types are a `fmops.core.registry.Registry` (`STEPS`; plug-ins through the `fmops.pipeline_steps`
entry-point group); the JSON Schema of a pipeline file is `pipeline_schema()` (published as
`fmops/pipelines/pipeline.schema.json`).
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "load_pipeline": "fmops.pipelines._spec",
    "PipelineSpec": "fmops.pipelines._spec",
    "StepSpec": "fmops.pipelines._spec",
    "run_pipeline": "fmops.pipelines._runner",
    "resolve_references": "fmops.pipelines._runner",
    "PipelineRun": "fmops.pipelines._state",
    "StepRecord": "fmops.pipelines._state",
    "read_run": "fmops.pipelines._state",
    "list_runs": "fmops.pipelines._state",
    "run_dir": "fmops.pipelines._state",
    "STEPS": "fmops.pipelines._step",
    "Step": "fmops.pipelines._step",
    "StepContext": "fmops.pipelines._step",
    "StepResult": "fmops.pipelines._step",
    "GateRule": "fmops.pipelines._gates",
    "GateEvidence": "fmops.pipelines._gates",
    "evaluate_gate": "fmops.pipelines._gates",
    "pipeline_schema": "fmops.pipelines._schema",
    "write_junit": "fmops.pipelines._junit",
    "stop_deployment": "fmops.pipelines._deploy",
    "read_deployment": "fmops.pipelines._deploy",
}


def __getattr__(name: str) -> Any:
    # Lazy: `fmops.pipelines.quickstart` users should not pay for the pipeline engine's imports.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fmops.pipelines' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = sorted(_EXPORTS)
