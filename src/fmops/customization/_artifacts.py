"""Where a fine-tuned model lives, and `finetuned.json`, the one file that says what it is.

FMOPS_HOME/finetuned/NAME/
    finetuned.json     written last: its presence means the model is complete
    job.json           the job that made it (a restart with the same job resumes)
    adapter/           the LoRA adapter alone (PEFT format), when the method trains one
    model/             full weights: full fine-tuning, continued pre-training, or --merge
    checkpoints/       transformers checkpoints (checkpoint-STEP)
    evaluation/        the automatic comparison against the base (comparison.json)
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from fmops.core.errors import BadInputError
from fmops.core.settings import fmops_home

META_FILE = "finetuned.json"
JOB_FILE = "job.json"


class FinetunedInfo(BaseModel):
    """What `finetuned/NAME` is: a base plus an adapter, or full weights of its own."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    base: str
    base_folder: str
    base_fingerprint: str
    method: str
    run_id: str
    #: Folder of the adapter (relative to the model folder), or None for full weights.
    adapter: str | None = None
    #: Folder of full weights (relative), for full fine-tuning or a merged adapter.
    merged: str | None = None
    created_at: str
    fmops_version: str
    #: Prompted as its base is: plain prompts through the chat template, scoring after `start_token`.
    chat: bool = False
    start_token: str | None = None

    def model_folder(self, root: Path) -> Path | None:
        return root / self.merged if self.merged else None

    def adapter_folder(self, root: Path) -> Path | None:
        return root / self.adapter if self.adapter else None


def finetuned_root() -> Path:
    return fmops_home() / "finetuned"


def model_dir(name: str) -> Path:
    return finetuned_root() / name


def read_finetuned(name: str) -> FinetunedInfo:
    """The `finetuned.json` of model `name`, or a one-line error saying it does not exist (yet)."""
    path = model_dir(name) / META_FILE
    if not path.is_file():
        known = ", ".join(list_finetuned()) or "none yet"
        raise BadInputError(f"no fine-tuned model {name!r} (known: {known}); make one with `fmops finetune`")
    try:
        return FinetunedInfo.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise BadInputError(f"{path}: not a valid {META_FILE} ({str(exc).splitlines()[0]})") from None


def write_finetuned(folder: Path, meta: FinetunedInfo) -> None:
    tmp = folder / f".{META_FILE}.tmp"
    tmp.write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
    tmp.replace(folder / META_FILE)


def list_finetuned() -> list[str]:
    root = finetuned_root()
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / META_FILE).is_file())
