"""Denied topics: similarity of a text to a topic's definition and examples, with a calibrated threshold.

A text's score for a topic is its highest cosine similarity (over its windows) to the definition and the
examples, with embeddings centred on the mean of ordinary text (the shipped benign and content texts), so
that what every English sentence shares does not count as similarity.

Calibration, per topic, when the policy is loaded: positives are the leave-one-out scores of the examples
(each against the definition and the other examples); negatives are the shipped texts (none of which is
about a user's topic). The threshold sits halfway between the negatives' 98th percentile and the
positives' median; when the examples do not clear the negatives, it is the negatives' 98th percentile and
the policy check warns that the topic needs more (or more distinct) examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fmops.guardrails._content import read_labelled, shipped_file, windows
from fmops.guardrails._embed import get_encoder
from fmops.guardrails._policy import Topic


@dataclass(frozen=True)
class TopicScore:
    name: str
    score: float
    threshold: float

    @property
    def detected(self) -> bool:
        return self.score >= self.threshold


class TopicMatcher:
    """Scores texts against a policy's denied topics."""

    def __init__(self, topics: list[Topic], encoder: str = "minilm-static") -> None:
        self._encoder = get_encoder(encoder)
        negatives_text = [t for t, _ in read_labelled(shipped_file("content_train.jsonl"))]
        raw_negatives = self._encoder.encode(negatives_text)
        self._centre = raw_negatives.mean(axis=0)
        negatives = self._centred(raw_negatives)
        self.topics: list[tuple[str, np.ndarray, float]] = []
        self.warnings: list[str] = []
        for topic in topics:
            anchors = self._centred(self._encoder.encode([topic.definition, *topic.examples]))
            similarity = anchors @ anchors.T
            np.fill_diagonal(similarity, -1.0)
            positives = similarity.max(axis=1)[1:] if topic.examples else similarity.max(axis=1)
            noise = float(np.quantile((negatives @ anchors.T).max(axis=1), 0.98))
            middle = float(np.median(positives)) if len(anchors) > 1 else noise
            if middle > noise:
                threshold = (noise + middle) / 2
            else:
                threshold = noise
                self.warnings.append(
                    f"denied topic {topic.name!r}: its examples are not more alike than ordinary text; "
                    "add more (and more distinct) examples"
                )
            self.topics.append((topic.name, anchors, threshold))

    def _centred(self, rows: np.ndarray) -> np.ndarray:
        rows = rows - self._centre
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        return rows / np.where(norms == 0, 1.0, norms)

    def score(self, text: str) -> list[TopicScore]:
        if not self.topics:
            return []
        pieces = self._centred(self._encoder.encode(windows(text)))
        return [
            TopicScore(name, float((pieces @ anchors.T).max()), threshold)
            for name, anchors, threshold in self.topics
        ]
