"""ROUGE as fmeval computes it: HF evaluate's "rouge" metric on one (target, output) pair.

HF evaluate wraps `rouge_score.RougeScorer` with its default tokenizer and reports the
bootstrap "mid" F-measure, which for a single pair is that pair's F-measure. We call
`RougeScorer` directly with a tokenizer that runs rouge_score's own `tokenize` function
and only memoises the Porter stemming, the hot spot.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from fmops.core.errors import BadInputError
from fmops.metrics.text import CachedPorterStemmer

ROUGE_TYPES: tuple[str, ...] = ("rouge1", "rouge2", "rougeL")


class _RougeTokenizer:
    """rouge_score's default tokenizer (lower, non-alphanumerics to spaces, stem tokens > 3 chars)."""

    def __init__(self, use_stemmer: bool) -> None:
        self._stemmer = CachedPorterStemmer() if use_stemmer else None

    def tokenize(self, text: str) -> list[str]:
        from rouge_score import tokenize

        return tokenize.tokenize(text, self._stemmer)


@cache
def _scorer(rouge_type: str, use_stemmer: bool) -> Any:  # a rouge_scorer.RougeScorer
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(
        [rouge_type], use_stemmer=use_stemmer, tokenizer=_RougeTokenizer(use_stemmer)
    )


def rouge_scores(
    targets: Sequence[str], outputs: Sequence[str], rouge_type: str = "rouge2", use_stemmer: bool = True
) -> list[float]:
    """ROUGE F-measure of each (target, output) pair; ROUGE-2 with stemming by default, as fmeval."""
    if rouge_type not in ROUGE_TYPES:
        raise BadInputError(f"rouge_type must be one of {', '.join(ROUGE_TYPES)}, not {rouge_type!r}")
    if len(targets) != len(outputs):
        raise BadInputError(f"got {len(targets)} targets but {len(outputs)} outputs")
    scorer = _scorer(rouge_type, bool(use_stemmer))
    return [
        float(scorer.score(target, output)[rouge_type].fmeasure)
        for target, output in zip(targets, outputs, strict=True)
    ]
