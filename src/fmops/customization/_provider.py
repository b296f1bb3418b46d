"""`finetuned/NAME`: a model made by `fmops finetune`, usable wherever a model spec is (eval, compare,
serve, models generate). An adapter loads on its base at run time (the adapter alone is stored); full or
merged weights load as they are. Registered through the `fmops.providers` entry-point group.
"""

from __future__ import annotations

import warnings
from typing import Any

from fmops.customization._artifacts import model_dir, read_finetuned
from fmops.models._providers.hf import HFModel


class FinetunedModel(HFModel):
    provider = "finetuned"

    def __init__(self, model: str, **args: Any) -> None:
        meta = read_finetuned(model)
        root = model_dir(model)
        folder = meta.model_folder(root)
        if folder is None:
            args.setdefault("adapter", str(meta.adapter_folder(root)))
            folder = meta.base_folder
        super().__init__(str(folder), **args)
        self.model = model
        self.finetuned = meta

    def _load_weights(self, transformers: Any, dtype: Any) -> Any:
        with warnings.catch_warnings():  # PEFT asks transformers a deprecated question while loading
            warnings.filterwarnings("ignore", category=FutureWarning)
            return super()._load_weights(transformers, dtype)

    def fingerprint_data(self) -> dict[str, Any]:
        return {
            **super().fingerprint_data(),
            "finetuned": self.finetuned.name,
            "run_id": self.finetuned.run_id,
        }

    @classmethod
    def availability(cls, model: str, args: dict[str, Any]) -> str | None:
        from fmops.core.errors import BadInputError

        try:
            read_finetuned(model)
        except BadInputError as exc:
            return str(exc)
        return HFModel.availability(".", {})
