"""The base model of a job: its local folder and fingerprint, and the defaults that work for its family.

Defaults were measured: the zoo's GPT-2s learn new facts with LoRA r=32 on c_attn,c_fc,c_proj at lr 3e-3
with their own corpus mixed back in; SmolLM2 (a Llama) with r=16 on all seven linear projections at
lr 1e-3, loss on the answer tokens only, replaying its own earlier completions of general prompts
(whole-sentence loss with foreign replay text taught the facts but broke what it knew).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fmops.core.errors import BadInputError

Family = Literal["zoo", "llama", "gpt2", "other"]
_LLAMA_LINEAR = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_GPT2_LINEAR = ["c_attn", "c_fc", "c_proj"]


class BaseInfo(BaseModel):
    """A resolved base model."""

    model_config = ConfigDict(frozen=True)

    spec: str
    folder: Path
    fingerprint: str
    family: Family
    model_type: str | None = None


class BaseDefaults(BaseModel):
    """Hyperparameters a job takes from its base's family unless it sets them."""

    model_config = ConfigDict(frozen=True)

    learning_rate: float
    lora_r: int
    lora_alpha: int
    target_modules: list[str] | str
    completion_only_loss: bool = True
    replay_source: str = "none"
    replay_ratio: float = 0.0


_DEFAULTS: dict[Family, BaseDefaults] = {
    "zoo": BaseDefaults(
        learning_rate=3e-3,
        lora_r=32,
        lora_alpha=64,
        target_modules=_GPT2_LINEAR,
        replay_source="zoo-corpus",
        replay_ratio=1.0,
    ),
    "llama": BaseDefaults(
        learning_rate=1e-3,
        lora_r=16,
        lora_alpha=32,
        target_modules=_LLAMA_LINEAR,
        replay_source="self-completions",
        replay_ratio=1.0,
    ),
    "gpt2": BaseDefaults(learning_rate=1e-3, lora_r=16, lora_alpha=32, target_modules=_GPT2_LINEAR),
    "other": BaseDefaults(learning_rate=2e-4, lora_r=16, lora_alpha=32, target_modules="all-linear"),
}


def defaults_for(base: BaseInfo) -> BaseDefaults:
    return _DEFAULTS[base.family]


def resolve_base(spec: str) -> BaseInfo:
    """The local Hugging Face folder behind `spec` (zoo/..., hf/PATH, the packaged default, ...)."""
    from fmops.models import get_model

    model = get_model(spec, store=False)
    try:
        api = model.api
        folder = getattr(api, "path", None)
        if folder is None or not Path(folder).is_dir():
            raise BadInputError(
                f"base model {spec!r}: fine-tuning needs a local model (zoo/NAME, hf/PATH or a merged finetuned/NAME)"
            )
        if getattr(api, "adapter", None):
            raise BadInputError(
                f"base model {spec!r} is an adapter on {folder}: fine-tune its merged model "
                "(train it with --merge) or its base instead"
            )
        fingerprint = model.fingerprint
    finally:
        model.close()
    folder = Path(folder).resolve()
    model_type = _model_type(folder)
    family: Family
    if spec.startswith("zoo/"):
        family = "zoo"
    elif model_type in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"):
        family = "llama"
    elif model_type == "gpt2":
        family = "gpt2"
    else:
        family = "other"
    return BaseInfo(spec=spec, folder=folder, fingerprint=fingerprint, family=family, model_type=model_type)


def _model_type(folder: Path) -> str | None:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError):
        return None
