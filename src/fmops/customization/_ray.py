"""Data-parallel fine-tuning on Ray Train: the same job in N workers (torch DDP through Ray's process group).

Ray Train starts the workers, joins them in one torch process group and sets RANK and WORLD_SIZE, so each
worker runs `run_finetune` unchanged: the main one prepares, records, saves and evaluates, every one
trains on its share of each batch. The workers must see the same FMOPS_HOME (one node, or shared storage)
and, for a database other than FMOPS_HOME's SQLite, the same FMOPS_STORE_URL.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fmops.core.errors import MissingDependencyError, RunError
from fmops.core.settings import fmops_home
from fmops.customization._artifacts import model_dir
from fmops.customization._job import FinetuneJob
from fmops.customization._train import FinetuneResult

_FORWARD_PREFIXES = ("FMOPS_", "HF_", "TRANSFORMERS_", "MLFLOW_")
_RESULT_FILE = "ray_result.json"


def run_finetune_on_ray(
    job: FinetuneJob,
    *,
    num_workers: int = 2,
    use_gpu: bool = False,
    ray_address: str | None = None,
    store_url: str | None = None,
) -> FinetuneResult:
    """Run `job` data-parallel on `num_workers` Ray Train workers (CPU, or one GPU each)."""
    try:
        import ray
        from ray.train import RunConfig, ScalingConfig
        from ray.train.torch import TorchTrainer
    except ImportError:
        raise MissingDependencyError("ray", "ray", "Fine-tuning on Ray") from None
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started_here = False
    if not ray.is_initialized():
        env = {k: v for k, v in os.environ.items() if k.startswith(_FORWARD_PREFIXES)}
        env["FMOPS_HOME"] = str(fmops_home())
        common: dict[str, Any] = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "runtime_env": {"env_vars": env},
        }
        target = ray_address or os.environ.get("RAY_ADDRESS")
        if target:
            ray.init(address=target, **common)
        else:
            ray.init(address="local", include_dashboard=False, _node_ip_address="127.0.0.1", **common)
        started_here = True
    try:
        trainer = TorchTrainer(
            _worker,
            train_loop_config={"job": job.model_dump(mode="json"), "store_url": store_url},
            scaling_config=ScalingConfig(num_workers=num_workers, use_gpu=use_gpu),
            run_config=RunConfig(name=f"fmops-{job.output}", storage_path=str(fmops_home() / "ray")),
        )
        outcome = trainer.fit()
    except Exception as exc:  # Ray wraps the worker's error; the user needs its last line
        raise RunError(f"fine-tuning on Ray failed: {str(exc).strip().splitlines()[-1]}") from None
    finally:
        if started_here:
            ray.shutdown()
    if outcome.error is not None:
        raise RunError(f"fine-tuning on Ray failed: {str(outcome.error).strip().splitlines()[-1]}")
    path = model_dir(job.output) / _RESULT_FILE
    if not path.is_file():
        raise RunError(
            f"fine-tuning on Ray: the main worker wrote no {path} (do the workers share FMOPS_HOME?)"
        )
    return FinetuneResult.model_validate_json(path.read_text(encoding="utf-8"))


def _worker(config: dict[str, Any]) -> None:
    from fmops.customization._train import run_finetune

    result = run_finetune(FinetuneJob.model_validate(config["job"]), store_url=config["store_url"])
    if os.environ.get("RANK", "0") == "0":  # the main worker hands the result to the driver
        (result.output_dir / _RESULT_FILE).write_text(result.model_dump_json(), encoding="utf-8")
