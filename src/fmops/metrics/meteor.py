"""METEOR as fmeval computes it: nltk's `single_meteor_score` on `word_tokenize` tokens.

nltk defaults throughout (str.lower, Porter stemmer, WordNet 3.0 synonyms, alpha 0.9,
beta 3, gamma 0.5). The stemmer, the WordNet look-ups and the tokenisation of repeated
texts are memoised; each is a pure function, so the scores are unchanged.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from fmops.core.errors import BadInputError
from fmops.metrics.nltk_data import ensure_nltk_data
from fmops.metrics.text import CachedPorterStemmer

_STEMMER = CachedPorterStemmer()


class _CachedWordNet:
    """The one WordNet method nltk's METEOR calls (`synsets(word)`), memoised.

    nltk's reader seeks and reads shared file handles, so misses are serialised for callers
    that score from several threads.
    """

    def __init__(self, wordnet: Any) -> None:
        lock = threading.Lock()

        def lookup(word: str) -> tuple[Any, ...]:
            with lock:
                return tuple(wordnet.synsets(word))

        self._synsets = lru_cache(maxsize=1 << 16)(lookup)

    def synsets(self, word: str) -> tuple[Any, ...]:
        return self._synsets(word)


@lru_cache(maxsize=1)
def _wordnet() -> _CachedWordNet:
    """Our own English WordNet 3.0 reader over the installed files.

    nltk's reader maps synset offsets of "wordnet" to the loaded version (3.0) for the
    multilingual OMW data, reading index.sense twice: seconds at every process start,
    for a map English look-ups never use. Skipping it leaves `synsets()` unchanged.
    """
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class EnglishWordNet(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> None:
            return None

    root = ensure_nltk_data() / "corpora" / "wordnet"
    with warnings.catch_warnings():
        # Without an OMW reader nltk warns that multilingual functions are unavailable.
        warnings.simplefilter("ignore")
        reader = EnglishWordNet(str(root), None)
    return _CachedWordNet(reader)


@lru_cache(maxsize=256)
def _tokenize(text: str) -> tuple[str, ...]:
    # Targets recur back to back (robustness runs score several outputs against one target);
    # a small cache catches that without holding many long documents.
    from nltk import word_tokenize

    return tuple(word_tokenize(text))


def meteor_scores(targets: Sequence[str], outputs: Sequence[str]) -> list[float]:
    """METEOR of each (target, output) pair: reference = target, hypothesis = output."""
    if len(targets) != len(outputs):
        raise BadInputError(f"got {len(targets)} targets but {len(outputs)} outputs")
    if not targets:
        return []
    ensure_nltk_data()
    from nltk.translate.meteor_score import single_meteor_score

    wordnet = _wordnet()
    return [
        float(
            single_meteor_score(
                reference=_tokenize(target), hypothesis=_tokenize(output), stemmer=_STEMMER, wordnet=wordnet
            )
        )
        for target, output in zip(targets, outputs, strict=True)
    ]
