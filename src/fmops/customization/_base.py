"""The base model of a job: its local folder and fingerprint, and the defaults that work for its family.

Defaults were measured: the zoo's GPT-2s learn new facts with LoRA r=32 on c_attn,c_fc,c_proj at lr 3e-3
with 1.5 records of their own corpus mixed back in per training record (250 steps of batch 16 on the
new domain: facts 0.00 -> 0.95 with held-in facts -0.04 and classification +0.00; with 1 replayed record,
200 steps: 0.65 and -0.04; lr 5e-3 with 2: 0.30 at 200 steps). SmolLM2 (a Llama) with r=16 on all
seven linear projections at lr 2e-3, its prompts through its chat template as at evaluation, loss on the
answer tokens only, replaying its own earlier completions of general prompts (0.5 per training record):
45 steps of batch 8 taught 30 of 30 invented capitals, kept every real one it named, held-out text
loss +9.8% (40 steps: 26/30, +8.8%; 50: 30/30, +11.0%; 1 replayed record: 23/30 at 50 steps); at 20
steps it learned the answers' shape, not the facts (whole-sentence loss with foreign replay text taught
the facts but broke what it knew).
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
    #: Plain prompts go through its chat template (an instruct model's packaged default): training
    #: formats prompt/completion records the same way, and the fine-tuned model is prompted the same way.
    chat: bool = False
    #: The token scoring puts before a text (the hf provider's `start_token`), kept by the fine-tuned model.
    start_token: str | None = None


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
        replay_ratio=1.5,
    ),
    "llama": BaseDefaults(
        learning_rate=2e-3,
        lora_r=16,
        lora_alpha=32,
        target_modules=_LLAMA_LINEAR,
        replay_source="self-completions",
        replay_ratio=0.5,
    ),
    "gpt2": BaseDefaults(learning_rate=1e-3, lora_r=16, lora_alpha=32, target_modules=_GPT2_LINEAR),
    "other": BaseDefaults(learning_rate=2e-4, lora_r=16, lora_alpha=32, target_modules="all-linear"),
}


def defaults_for(base: BaseInfo) -> BaseDefaults:
    return _DEFAULTS[base.family]


def resolve_base(spec: str) -> BaseInfo:
    """The local Hugging Face folder behind `spec` (zoo/..., hf/PATH, the packaged default, a registry
    reference such as registry:NAME@production to one of them, ...)."""
    from fmops.models import get_model, parse_model_spec

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
        chat = bool(getattr(api, "chat", False))
        start_token = getattr(api, "start_token", None)
    finally:
        model.close()
    folder = Path(folder).resolve()
    model_type = _model_type(folder)
    family: Family
    if parse_model_spec(spec).provider == "zoo":  # registry references resolved to what they stand for
        family = "zoo"
    elif model_type in ("llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2"):
        family = "llama"
    elif model_type == "gpt2":
        family = "gpt2"
    else:
        family = "other"
    return BaseInfo(
        spec=spec,
        folder=folder,
        fingerprint=fingerprint,
        family=family,
        model_type=model_type,
        chat=chat,
        start_token=start_token,
    )


def _model_type(folder: Path) -> str | None:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError):
        return None
