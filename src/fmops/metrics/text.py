"""Text helpers shared by the metrics: fmeval's QuAC normalisation and a memoised Porter stemmer."""

from __future__ import annotations

import string
from functools import lru_cache

# str.translate with a deletion table is the fast way to drop characters; only ASCII
# punctuation is deleted, exactly as fmeval does (Unicode quotes and dashes survive).
_DELETE_ASCII_PUNCTUATION = str.maketrans("", "", string.punctuation)
_ARTICLES = frozenset({"a", "an", "the"})


def normalize_text_quac(text: str) -> str:
    """fmeval's `normalize_text_quac_protocol`.

    Lower-case, delete ASCII punctuation, split on the space character only (tabs and
    newlines stay inside tokens), drop empty tokens and the articles a/an/the, and join
    with one space.
    """
    words = text.lower().translate(_DELETE_ASCII_PUNCTUATION).split(" ")
    return " ".join([word for word in words if word and word not in _ARTICLES])


@lru_cache(maxsize=1)
def _porter() -> object:
    # Imported lazily: nltk's import is not free and most commands never stem.
    from nltk.stem.porter import PorterStemmer

    return PorterStemmer()  # default NLTK_EXTENSIONS mode, as rouge_score and nltk's METEOR use


@lru_cache(maxsize=1 << 18)
def porter_stem(word: str) -> str:
    """nltk's default `PorterStemmer().stem(word)`, memoised per process.

    Stemming is the hot spot of ROUGE and METEOR and is a pure function of the word,
    and natural text repeats a small vocabulary, so caching keeps values identical.
    """
    return _porter().stem(word)  # type: ignore[attr-defined]


class CachedPorterStemmer:
    """Duck-typed stand-in for nltk's `PorterStemmer` that memoises `stem`."""

    def stem(self, word: str) -> str:
        """Stem one token (same result as `PorterStemmer().stem(word)`)."""
        return porter_stem(word)
