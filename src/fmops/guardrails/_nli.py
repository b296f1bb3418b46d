"""Grounding scorer `nli`: a natural-language-inference model from a local Hugging Face folder.

grounding = P(entailment) of the premise (the grounding source) and the hypothesis (the answer), from a
sequence-classification model whose config names an "entailment" label (MNLI-style cross-encoders such
as DeBERTa or RoBERTa fine-tuned on MNLI; none ships with fmops, so the folder must be given). NLI says
nothing about whether an answer addresses a question: relevance stays with the lexical scorer.
Long sources are cut at the model's maximum length (`truncation="only_first"`: the source, not the
answer, loses its end). Needs the hf extra (torch, transformers), imported on first use.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, MissingDependencyError
from fmops.guardrails._grounding import LexicalGrounding


class NliGrounding:
    """P(entailment | source, answer) from a local NLI model; relevance from the lexical scorer."""

    def __init__(self, model: str, device: str = "cpu", encoder: str = "minilm-static") -> None:
        try:
            import torch  # noqa: F401
            from transformers import AutoModelForSequenceClassification, AutoTokenizer
        except ImportError:
            raise MissingDependencyError("transformers", "hf", "The nli grounding scorer") from None
        folder = Path(model).expanduser()
        if not (folder / "config.json").is_file():
            raise BadInputError(f"nli: {model!r} is not a local Hugging Face model folder (no config.json)")
        self.name = "nli"
        self._tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
        self._model = AutoModelForSequenceClassification.from_pretrained(folder, local_files_only=True)
        self._model.to(device).eval()
        self._device = device
        labels = {int(i): str(name).lower() for i, name in self._model.config.id2label.items()}
        entail = [i for i, name in labels.items() if name.startswith("entail")]
        if len(entail) != 1:
            raise BadInputError(
                f"nli: {model}: the model's labels {sorted(labels.values())} do not name one entailment label"
            )
        self.entailment = entail[0]
        self._lexical = LexicalGrounding(encoder)
        self._lock = threading.Lock()  # one forward pass at a time (gateway threads share the model)

    def grounding(self, answer: str, source: str) -> float:
        import torch

        batch: Any = self._tokenizer(
            source, answer, return_tensors="pt", truncation="only_first", max_length=self._max_length()
        ).to(self._device)
        with self._lock, torch.inference_mode():
            logits = self._model(**batch).logits[0]
        return float(torch.softmax(logits.float(), dim=-1)[self.entailment])

    def relevance(self, answer: str, query: str) -> float:
        return self._lexical.relevance(answer, query)

    def _max_length(self) -> int:
        limit = getattr(self._tokenizer, "model_max_length", 512)
        return min(int(limit), 512) if limit else 512
