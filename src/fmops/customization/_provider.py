"""`finetuned/NAME`: a model made by `fmops finetune`, usable wherever a model spec is (eval, compare,
serve, models generate). An adapter loads on its base at run time (the adapter alone is stored); full or
merged weights load as they are. It is prompted as its base was when it trained (chat template, scoring
start token). Built on the models layer's public local-folder provider; registered through the
`fmops.providers` entry-point group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError
from fmops.customization._artifacts import model_dir, read_finetuned
from fmops.models import local_folder_provider


def _folder(name: str) -> Path:
    meta = read_finetuned(name)
    return meta.model_folder(model_dir(name)) or Path(meta.base_folder)


def _options(name: str) -> dict[str, Any]:
    meta = read_finetuned(name)
    options: dict[str, Any] = {}
    if meta.model_folder(model_dir(name)) is None:
        options["adapter"] = str(meta.adapter_folder(model_dir(name)))
    if meta.chat:
        options["chat"] = True
    if meta.start_token:
        options["start_token"] = meta.start_token
    return options


def _identity(name: str) -> dict[str, Any]:
    meta = read_finetuned(name)
    return {"finetuned": meta.name, "run_id": meta.run_id}


def _unknown(name: str) -> str | None:
    try:
        read_finetuned(name)
    except BadInputError as exc:
        return str(exc)
    return None


finetuned_provider = local_folder_provider(
    _folder, provider="finetuned", unknown=_unknown, options=_options, identity=_identity
)
