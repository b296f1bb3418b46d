"""A job's folder under `finetuned/NAME` while it trains: what makes a restart resume, and what it keeps.

The folder holds the job's identity (`job.json`: the fields that change the weights, the data and base
fingerprints), the experiment run it continues (`.run.json`), the checkpoints, the replay records drawn
once for the job and the loss curve. Kept apart from the training itself because resuming depends only on
these files: the same job finds its last checkpoint and run id here, a different one is refused.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError
from fmops.customization._artifacts import JOB_FILE
from fmops.customization._base import BaseDefaults, BaseInfo
from fmops.customization._data import TrainingData
from fmops.customization._job import FinetuneJob
from fmops.customization._records import as_trainer_records
from fmops.customization._replay import replay_records

#: Job fields that do not change the weights: a restart that differs only in these still resumes.
_NOT_TRAINING = {"mlflow", "evaluate", "suite", "eval_records", "overwrite", "merge"}
_STATE_FILE = ".run.json"


def _job_identity(
    job: FinetuneJob, train: TrainingData, evaluation: TrainingData | None, base: BaseInfo
) -> dict:
    return {
        "job": job.model_dump(mode="json", exclude=_NOT_TRAINING),
        "data_sha256": train.sha256,
        "eval_sha256": evaluation.sha256 if evaluation else None,
        "base_fingerprint": base.fingerprint,
    }


def prepare_folder(
    out: Path, job: FinetuneJob, train: TrainingData, evaluation: TrainingData | None, base: BaseInfo
) -> tuple[int | None, str | None]:
    """(checkpoint step to resume from, run id to continue) for this job in `out`, cleaning it as needed."""
    identity = _job_identity(job, train, evaluation, base)
    job_file = out / JOB_FILE
    if out.exists() and not job.overwrite:
        previous = _read_json(job_file)
        if (out / "finetuned.json").is_file():
            raise BadInputError(
                f"{job.model_spec} already exists ({out}); pick another --output or pass --overwrite to replace it"
            )
        if previous is not None and previous != identity:
            raise BadInputError(
                f"{out} holds checkpoints of a different job for {job.model_spec}; "
                "pass --overwrite to start again, or another --output"
            )
        step = last_checkpoint(out / "checkpoints")
        state = _read_json(out / _STATE_FILE) or {}
        if step is not None:
            return step, state.get("run_id")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    job_file.write_text(json.dumps(identity, indent=2) + "\n", encoding="utf-8")
    return None, None


def last_checkpoint(folder: Path) -> int | None:
    steps = [
        int(p.name.split("-")[1])
        for p in folder.glob("checkpoint-*")
        if p.name.split("-")[1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return max(steps) if steps else None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def write_state(out: Path, run_id: str) -> None:
    (out / _STATE_FILE).write_text(json.dumps({"run_id": run_id}) + "\n", encoding="utf-8")


def saved_run_id(out: Path) -> str:
    """The experiment run id the main process wrote for this job ("" when none)."""
    return (_read_json(out / _STATE_FILE) or {}).get("run_id", "")


def cached_replay(
    out: Path, base: BaseInfo, defaults: BaseDefaults, n: int, kind: str, seed: int
) -> list[dict[str, Any]]:
    """Replay records, made once per job folder: a resumed job trains on exactly the same data."""
    path = out / "replay.jsonl"
    if path.is_file():
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    records = replay_records(base, defaults.replay_source, n, kind, seed)  # type: ignore[arg-type]
    records = as_trainer_records(records, kind, chat=base.chat)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return records


def write_loss_curve(path: Path, history: list[dict[str, Any]]) -> None:
    curve = {
        "train": [[h["step"], h["loss"]] for h in history if "loss" in h],
        "eval": [[h["step"], h["eval_loss"]] for h in history if "eval_loss" in h],
    }
    path.write_text(json.dumps(curve) + "\n", encoding="utf-8")
