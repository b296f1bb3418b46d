"""The offline content detector: logistic regressions over MiniLM sentence embeddings.

Trained when first used (about half a second) on labelled texts that fmops wrote and ships
(`data/content_train.jsonl`: several hundred texts over HATE, INSULTS, SEXUAL, VIOLENCE, MISCONDUCT and
PROMPT_ATTACK, plus benign texts with hard negatives such as "kill the process"), or on the user's own file
with the same fields (`train_file`). One binary logistic regression per category (C=64, unweighted:
balanced class weights raised false positives on hard negatives). Texts are scored per sentence (short
ones joined; a short text also whole) and a category takes its highest window, so one bad sentence in a
long message is not averaged away. How good it is: `bench/bench_guardrails.py` and docs/guardrails.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from fmops.core.errors import BadInputError
from fmops.guardrails._embed import get_encoder

CATEGORIES = ("HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK")
WINDOW_CHARS = 300
MIN_WINDOW_CHARS = 15
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")


def shipped_file(name: str) -> Path:
    """A data file shipped in fmops.guardrails (training and evaluation sets)."""
    return Path(str(resources.files("fmops.guardrails").joinpath("data", name)))


def read_labelled(path: str | Path) -> list[tuple[str, list[str]]]:
    """(text, labels) from a JSON Lines file with `text` and `labels` (categories; [] for benign)."""
    out = []
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read ({exc.strerror or exc})") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as exc:
            raise BadInputError(f"{file}:{number}: not valid JSON ({exc})") from None
        text, labels = record.get("text") if isinstance(record, dict) else None, None
        if isinstance(record, dict):
            labels = record.get("labels", [])
        if not isinstance(text, str) or not isinstance(labels, list):
            raise BadInputError(f"{file}:{number}: expected {{'text': str, 'labels': [category, ...]}}")
        unknown = [x for x in labels if x not in CATEGORIES]
        if unknown:
            raise BadInputError(f"{file}:{number}: labels: unknown {unknown}; known: {', '.join(CATEGORIES)}")
        out.append((text, labels))
    return out


def windows(text: str) -> list[str]:
    """The text's sentences (fragments under MIN_WINDOW_CHARS joined to the next, each at most
    WINDOW_CHARS), and the whole text too when it is short: a sentence is judged alone and in context."""
    pieces: list[str] = [text] if len(text) <= WINDOW_CHARS else []
    current = ""
    for sentence in _SENTENCE_END.split(text):
        current = f"{current} {sentence}" if current else sentence
        while len(current) > WINDOW_CHARS:  # a long run without sentence ends
            pieces.append(current[:WINDOW_CHARS])
            current = current[WINDOW_CHARS:]
        if len(current) >= MIN_WINDOW_CHARS:
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return list(dict.fromkeys(pieces)) or [text]


class EmbeddingClassifier:
    """Per-category probabilities from a MiniLM encoder and one logistic regression per category."""

    def __init__(
        self, encoder: str = "minilm-static", train_file: str | None = None, C: float = 64.0
    ) -> None:
        from sklearn.linear_model import LogisticRegression

        self.name = encoder
        self._encoder = get_encoder(encoder)
        examples = read_labelled(train_file or shipped_file("content_train.jsonl"))
        features = self._encoder.encode([t for t, _ in examples])
        self.categories: list[str] = []
        weights, biases = [], []
        for category in CATEGORIES:
            target = np.array([category in labels for _, labels in examples])
            if target.all() or not target.any():
                continue  # a user file without examples (or without negatives) of this category
            model = LogisticRegression(C=C, max_iter=3000).fit(features, target)
            self.categories.append(category)
            weights.append(model.coef_[0])
            biases.append(model.intercept_[0])
        self._weights = np.array(weights, dtype=np.float32).T
        self._biases = np.array(biases, dtype=np.float32)

    def score(self, texts: Sequence[str], source: str = "INPUT") -> list[dict[str, float]]:
        """For each text, the probability of each category (its most likely window's)."""
        cut = [windows(t) for t in texts]
        flat = [w for pieces in cut for w in pieces]
        if not flat:
            return []
        probs = 1.0 / (1.0 + np.exp(-(self._encoder.encode(flat) @ self._weights + self._biases)))
        out, at = [], 0
        for pieces in cut:
            best = probs[at : at + len(pieces)].max(axis=0)
            out.append({c: float(p) for c, p in zip(self.categories, best, strict=True)})
            at += len(pieces)
        return out
