"""Customization: fine-tune a local model (LoRA, QLoRA, full, continued pre-training) on TRL + PEFT, track
it as an experiment, and evaluate it against its base.

    from fmops.customization import FinetuneJob, run_finetune

    job = FinetuneJob(base="zoo/base-nodomain", data="train.jsonl", output="my-model")
    result = run_finetune(job)
    result.model_spec        # "finetuned/my-model": eval, compare, serve, models generate take it
    result.run_id            # the experiment run (list_runs(), get_run(id))
    result.comparison_path   # comparison.json of the new model against its base (or None)

Data formats: prompt/completion JSONL, chat `messages` JSONL, instruction records with a JumpStart-style
template.json, raw text (`text` records or .txt files). Runs are stored in the fmops database
(`fmops.store`); `--mlflow URI` also logs them to MLflow. The comparison with the base is
`fmops.comparison`'s, reached through `FINETUNE_EVALUATORS` (this layer does not import the one above). Data-parallel: the same job under torchrun /
accelerate launch, or on Ray Train workers (`run_finetune_on_ray`).
"""

from fmops.customization._artifacts import FinetunedInfo, list_finetuned, read_finetuned
from fmops.customization._base import BaseDefaults, BaseInfo, defaults_for, resolve_base
from fmops.customization._data import FORMATS, DataFormat, TrainingData, read_training_data
from fmops.customization._evaluate import FINETUNE_EVALUATORS
from fmops.customization._experiments import RunDetail, RunSummary, compare_runs, get_run, list_runs
from fmops.customization._job import METHODS, FinetuneJob, Hyperparameters, Method, load_job, make_job
from fmops.customization._ray import run_finetune_on_ray
from fmops.customization._replay import REPLAY_SOURCES
from fmops.customization._train import FinetuneResult, Interrupted, run_finetune

__all__ = [
    "FINETUNE_EVALUATORS",
    "FORMATS",
    "METHODS",
    "REPLAY_SOURCES",
    "BaseDefaults",
    "BaseInfo",
    "DataFormat",
    "FinetuneJob",
    "FinetuneResult",
    "FinetunedInfo",
    "Hyperparameters",
    "Interrupted",
    "Method",
    "RunDetail",
    "RunSummary",
    "TrainingData",
    "compare_runs",
    "defaults_for",
    "get_run",
    "list_finetuned",
    "list_runs",
    "load_job",
    "make_job",
    "read_finetuned",
    "read_training_data",
    "resolve_base",
    "run_finetune",
    "run_finetune_on_ray",
]
