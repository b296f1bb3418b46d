"""What a fine-tuning job is: a frozen spec (base, data, method, hyperparameters), read from flags or YAML.

Hyperparameters carry the names users know from the managed services and TRL; None means "the base
model's default" (see `_defaults.py`), so a job file states only what it changes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fmops.core.errors import BadInputError
from fmops.customization._data import DataFormat

Method = Literal["lora", "qlora", "full", "continued-pretraining"]
METHODS: tuple[str, ...] = ("lora", "qlora", "full", "continued-pretraining")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


class Hyperparameters(BaseModel):
    """Training settings with their valid ranges; None takes the base model's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    epochs: float = Field(default=3.0, gt=0, le=1000)
    max_steps: int | None = Field(default=None, gt=0, le=10_000_000)
    learning_rate: float | None = Field(default=None, gt=0, le=1)
    batch_size: int = Field(default=8, ge=1, le=4096)
    gradient_accumulation_steps: int = Field(default=1, ge=1, le=1024)
    lora_r: int | None = Field(default=None, ge=1, le=1024)
    lora_alpha: int | None = Field(default=None, ge=1, le=4096)
    lora_dropout: float = Field(default=0.0, ge=0, lt=1)
    target_modules: list[str] | None = None
    max_seq_length: int = Field(default=512, ge=8, le=131_072)
    #: What to do with a record over max_seq_length: stop with an error naming it, or cut it.
    overlong: Literal["reject", "truncate"] = "reject"
    warmup_ratio: float = Field(default=0.0, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0, le=1)
    seed: int = Field(default=0, ge=0)
    eval_steps: int | None = Field(default=None, gt=0)
    save_steps: int = Field(default=50, gt=0)
    logging_steps: int = Field(default=1, gt=0)
    early_stopping_patience: int | None = Field(default=None, gt=0)
    #: Loss on the answer tokens only (prompt/completion and chat data); None: the base's default.
    completion_only_loss: bool | None = None
    #: Pack several short records into one sequence (TRL's best-fit packing).
    packing: bool = False
    #: Replayed records per training record (what the base knew, mixed back in); None: the base's default.
    replay_ratio: float | None = Field(default=None, ge=0, le=10)

    @field_validator("target_modules", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class FinetuneJob(BaseModel):
    """One fine-tuning job: base model, data, method, output name and hyperparameters."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str
    data: Path
    output: str
    method: Method = "lora"
    eval_data: Path | None = None
    data_format: DataFormat | None = None
    #: A JumpStart-style template.json for instruction records (default: the one beside the data).
    template: Path | None = None
    hyperparameters: Hyperparameters = Field(default_factory=Hyperparameters)
    #: Also write the adapter merged into its base as a full model.
    merge: bool = False
    #: MLflow tracking URI (default: $MLFLOW_TRACKING_URI when set).
    mlflow: str | None = None
    #: Evaluate the new model against its base after training (a compare suite, or the default one).
    evaluate: bool = True
    suite: Path | None = None
    #: Records per evaluation in the automatic comparison (None: all).
    eval_records: int | None = Field(default=None, gt=0)
    #: Start again from scratch even if a run of this name left checkpoints or a model.
    overwrite: bool = False

    @field_validator("output")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                "letters, digits, '.', '_' and '-' only (at most 100), starting with a letter or digit"
            )
        return value

    @property
    def model_spec(self) -> str:
        return f"finetuned/{self.output}"


def load_job(path: str | Path, **overrides: Any) -> FinetuneJob:
    """A job from YAML; `overrides` (flags given on the command line) win, hyperparameters merged by name.

    Relative paths in the file are relative to the file.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise BadInputError(f"{file}: no such job file")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise BadInputError(f"{file}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{file}: expected a mapping of job fields (base, data, method, output, ...)")
    for key in ("data", "eval_data", "template", "suite"):
        value = data.get(key)
        if isinstance(value, str) and not Path(value).expanduser().is_absolute():
            data[key] = str(file.parent / value)
    return make_job(data, overrides, source=str(file))


def make_job(
    data: dict[str, Any], overrides: dict[str, Any] | None = None, *, source: str = "job"
) -> FinetuneJob:
    """Validate job fields (flags over file), reporting the first problem as `source: field: message`."""
    merged = dict(data)
    params = dict(merged.get("hyperparameters") or {})
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key in Hyperparameters.model_fields:
            params[key] = value
        else:
            merged[key] = value
    merged["hyperparameters"] = params
    try:
        return FinetuneJob.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "job"
        raise BadInputError(f"{source}: {where}: {first['msg']}") from None
