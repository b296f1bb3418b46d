"""What the server needs to know about the model's tokens: prompt lengths, the context window, and the
text of each generated token (OpenAI's logprobs and stream chunks are per token).

The model protocol does not expose a tokenizer, so this looks for one the way a reader would: a provider
with a `tokenizer` attribute (the hf and zoo providers) is measured exactly, as it tokenizes; any other
provider falls back to its `count_tokens` or an estimate, and its context window is unknown unless given.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

from fmops.models import GenerateRequest, Model

#: config.json keys that hold a model's context window, most specific first.
_WINDOW_KEYS = ("max_position_embeddings", "n_positions", "n_ctx", "seq_length", "max_seq_len")
_WORD = re.compile(r"\s*\S+")


class TokenInfo:
    """Token facts about one served model (duck-typed on its provider; see the module docstring)."""

    def __init__(self, model: Model, context_window: int | None = None) -> None:
        self.model = model
        api = model.api
        tok = getattr(api, "tokenizer", None)
        self.tokenizer: Any = _own_copy(tok) if callable(tok) else None
        self.context_window = context_window or detect_context_window(api, self.tokenizer)
        default = getattr(api, "max_new_tokens", None)
        #: Tokens the provider generates when a request does not say (None: not known).
        self.default_max_tokens: int | None = default if isinstance(default, int) else None
        bos = getattr(self.tokenizer, "bos_token_id", None) if self.tokenizer is not None else None
        #: Tokens a scoring call adds in front of the text (the BOS token, when there is one).
        self.score_overhead = 1 if bos is not None else 0

    # -- counting -----------------------------------------------------------------------------
    def prompt_tokens(self, request: GenerateRequest) -> int:
        """Tokens the model reads for `request`, as the hf provider builds them (chat template included)."""
        tok = self.tokenizer
        if tok is None:
            return self.count(request.input_text())
        templated = getattr(tok, "chat_template", None) is not None and (
            request.is_chat or request.system is not None
        )
        if templated:
            messages = [{"role": m.role, "content": m.content} for m in request.chat_messages()]
            text = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
            return len(tok(text, add_special_tokens=False)["input_ids"])
        return len(tok(request.input_text(), add_special_tokens=True)["input_ids"])

    def count(self, text: str) -> int:
        """Tokens in a plain text (no special tokens)."""
        if self.tokenizer is not None:
            return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        counted = self.model.api.count_tokens([text])
        return counted[0] if counted else math.ceil(len(text) / 4)  # the model layer's estimate

    # -- pieces -------------------------------------------------------------------------------
    def pieces(self, text: str, n: int | None = None) -> list[str]:
        """`text` cut into token texts that join back into it; exactly `n` pieces when `n` is given.

        The model's own tokens when its tokenizer reproduces them (the usual case), else words; with a
        count to meet and no tokenizer that meets it, words are merged or padded with empty pieces so
        that every log-probability keeps a place.
        """
        if not text:
            return [""] * n if n else []
        found = self._tokenizer_pieces(text)
        if found is not None and (n is None or len(found) == n):
            return found
        words = word_pieces(text)
        if n is None or len(words) == n:
            return words
        if n <= 0:
            return [text]
        if len(words) > n:
            return [*words[: n - 1], "".join(words[n - 1 :])]
        return words + [""] * (n - len(words))

    def _tokenizer_pieces(self, text: str) -> list[str] | None:
        tok = self.tokenizer
        if tok is None:
            return None
        try:
            ids = tok(text, add_special_tokens=False)["input_ids"]
            decoded = [tok.decode([i], clean_up_tokenization_spaces=False) for i in ids]
        except Exception:  # a tokenizer without a plain decode: fall back to words
            return None
        return decoded if "".join(decoded) == text else None


def _own_copy(tokenizer: Any) -> Any:
    """A private copy: the provider tokenizes batches in its worker thread while the server counts
    prompts on the event loop, and a Rust tokenizer refuses concurrent use ("Already borrowed")."""
    try:
        return copy.deepcopy(tokenizer)
    except Exception:  # not copyable: share it (the provider may then serialize its own use)
        return tokenizer


def word_pieces(text: str) -> list[str]:
    """Runs of non-spaces with the spaces before them; trailing spaces form a last piece."""
    words = _WORD.findall(text)
    tail = text[sum(len(w) for w in words) :]
    return [*words, tail] if tail else words


def detect_context_window(api: Any, tokenizer: Any = None) -> int | None:
    """The model's context window from the provider, its config.json, or its tokenizer; None if unknown."""
    explicit = getattr(api, "context_window", None)
    if isinstance(explicit, int) and explicit > 0:
        return explicit
    path = getattr(api, "path", None)
    if isinstance(path, Path) and (path / "config.json").is_file():
        try:
            config = json.loads((path / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            config = {}
        sources = [config, config.get("text_config") or {}] if isinstance(config, dict) else []
        for source in sources:
            for key in _WINDOW_KEYS:
                value = source.get(key) if isinstance(source, dict) else None
                if isinstance(value, int) and value > 0:
                    return value
    limit = getattr(tokenizer, "model_max_length", None) if tokenizer is not None else None
    if isinstance(limit, int) and 0 < limit < 10_000_000:  # transformers uses ~1e30 for "not set"
        return limit
    return None
