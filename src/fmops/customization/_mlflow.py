"""Export a finished run to an MLflow tracking server: parameters, metrics per step, the adapter (or model).

Logged after training from the experiment store, in batches, so a slow or absent server never slows or
breaks the training itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fmops.core.errors import MissingDependencyError, RunError
from fmops.customization._experiments import get_run
from fmops.customization._job import FinetuneJob

EXPERIMENT = "fmops-finetune"
_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch call


def log_to_mlflow(
    tracking_uri: str,
    run_id: str,
    job: FinetuneJob,
    params: dict[str, Any],
    *,
    recorder_url: str | None = None,
    artefact_dir: Path | None = None,
) -> str:
    """Log fmops run `run_id` to MLflow at `tracking_uri`; returns the MLflow run id."""
    try:
        from mlflow.entities import Metric, Param
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise MissingDependencyError("mlflow", "mlflow", "Logging to MLflow") from None
    run = get_run(run_id, recorder_url)
    client = MlflowClient(tracking_uri=tracking_uri)
    try:
        experiment = client.get_experiment_by_name(EXPERIMENT)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
        created = client.create_run(
            experiment_id,
            run_name=job.output,
            tags={
                "fmops.run_id": run_id,
                "fmops.base": job.base,
                "fmops.method": job.method,
                "fmops.model_spec": job.model_spec,
            },
        )
        mlflow_id = created.info.run_id
        flat = {"base": job.base, "method": job.method, **params}
        client.log_batch(mlflow_id, params=[Param(k, _text(v)) for k, v in sorted(flat.items())])
        metrics = [
            Metric(name, value, 0, step) for name, points in run.metrics.items() for step, value in points
        ]
        for start in range(0, len(metrics), _BATCH):
            client.log_batch(mlflow_id, metrics=metrics[start : start + _BATCH])
        if artefact_dir is not None and artefact_dir.is_dir():
            client.log_artifacts(mlflow_id, str(artefact_dir), artifact_path=artefact_dir.name)
        client.set_terminated(mlflow_id)
    except Exception as exc:  # the server's errors come in many types; the user needs one line
        raise RunError(
            f"MLflow at {tracking_uri}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
        ) from None
    return mlflow_id


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
