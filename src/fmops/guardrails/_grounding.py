"""Contextual grounding, offline (grounding scorer `lexical`, the default): is an answer supported by its
source, and does it address the query?

A simple, documented scorer (no NLI model, no judge: for those see `_judge.py`):

* grounding = the share of the answer's content words (lowercase, light suffix stemming, stop words left
  out; numbers count as words) that occur in the grounding source. An answer that states facts absent from
  the source scores low; one that restates the source scores near 1.
* relevance = the cosine similarity of the query's and the answer's MiniLM (static) embeddings, clipped to
  [0, 1], raised to the share of the query's content words the answer uses when that is higher.

Both are in [0, 1]; the policy's thresholds block an answer below them (Bedrock's semantics).
"""

from __future__ import annotations

import re

import numpy as np

from fmops.guardrails._embed import get_encoder

_WORD = re.compile(r"[^\W_]+(?:[.,][0-9]+)*", re.UNICODE)
_STOP = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "also",
        "yes",
        "may",
        "might",
        "must",
        "shall",
        "one",
    ]
)


def _stem(word: str) -> str:
    for suffix in ("ing", "edly", "ed", "es", "s", "ly"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> list[str]:
    return [_stem(w) for w in (m.group(0).lower() for m in _WORD.finditer(text)) if w not in _STOP]


def grounding_score(answer: str, source: str) -> float:
    words = content_words(answer)
    if not words:
        return 1.0  # nothing claimed
    known = set(content_words(source))
    return sum(w in known for w in words) / len(words)


def relevance_score(answer: str, query: str, encoder: str = "minilm-static") -> float:
    query_words = set(content_words(query))
    lexical = len(query_words & set(content_words(answer))) / len(query_words) if query_words else 1.0
    rows = get_encoder(encoder).encode([query, answer])
    semantic = float(np.clip(rows[0] @ rows[1], 0.0, 1.0))
    return max(lexical, semantic)


class LexicalGrounding:
    """The offline scorer above, as a registered grounding scorer (`GROUNDING_SCORERS`)."""

    def __init__(self, encoder: str = "minilm-static") -> None:
        self.name = "lexical"
        self.encoder = encoder

    def grounding(self, answer: str, source: str) -> float:
        return grounding_score(answer, source)

    def relevance(self, answer: str, query: str) -> float:
        return relevance_score(answer, query, self.encoder)
