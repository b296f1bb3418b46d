"""Issue 15, item 8: BERTScore never tokenises more than the encoder's window of a text (a 5 MB record
used to take 2 GB), and cutting changes no score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fmops.metrics.bertscore import clip_to_window, get_bert_scorer
from tests.support.tiny_encoders import build_tiny_bert


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_bert(tmp_path_factory.mktemp("enc") / "tiny-bert")


def test_clip_keeps_every_word_the_window_can_hold() -> None:
    assert clip_to_window("a b c", 512) == "a b c"
    assert clip_to_window("w1 w2 w3 w4 w5 w6", 3) == "w1 w2 w3 w4"
    assert clip_to_window("x" * 10_000, 4) == "x" * 512  # one huge word: 128 characters per token
    assert clip_to_window("  a   b  ", 1) == "  a   b"


def test_a_huge_text_is_tokenised_only_up_to_the_window(
    tiny_bert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scorer = get_bert_scorer(str(tiny_bert))
    window = scorer._max_length
    huge = " ".join(f"word{i % 97}" for i in range(600_000))  # ~5 MB
    head = " ".join(huge.split()[: window + 1])
    seen: list[int] = []
    real = scorer._tokenizer

    def spy(texts: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(max((len(t) for t in ([texts] if isinstance(texts, str) else texts)), default=0))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(scorer, "_tokenizer", spy)
    spy.cls_token_id, spy.sep_token_id = real.cls_token_id, real.sep_token_id  # type: ignore[attr-defined]
    clipped = scorer.score(["word1 word2 word3"], [huge])
    assert max(seen) <= len(head) < 20 * window
    monkeypatch.setattr(scorer, "_tokenizer", real)
    assert clipped == pytest.approx(scorer.score(["word1 word2 word3"], [head]), abs=1e-6)
