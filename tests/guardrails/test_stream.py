"""StreamGuard: a streamed answer is released window by window, masked, and cut off when blocked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmops.guardrails import Policy, StreamGuard

from .conftest import content_filters

SENTENCE = "The quarterly report covers revenue, hiring and the new office. "


@pytest.fixture
def policy(make_policy: Callable[..., Policy]) -> Policy:
    return make_policy(
        name="stream",
        blockedOutputsMessaging="answer withheld",
        contentPolicyConfig=content_filters("HIGH", "VIOLENCE"),
        wordPolicyConfig={"wordsConfig": [{"text": "Project Nightingale"}]},
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
    )


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=8))
def test_released_text_is_the_masked_answer_however_it_is_chunked(policy: Policy, size: int, at: int) -> None:
    answer = SENTENCE * at + "Write to jane.doe@example.com for details. " + SENTENCE * 6
    guard = StreamGuard(policy, window_chars=120, holdback_chars=40)
    released = "".join(guard.feed(c).release for c in _chunks(answer, size)) + guard.finish().release
    assert released == policy.apply(answer, "OUTPUT").text
    assert "{EMAIL}" in released


def test_a_blocked_window_ends_the_stream_before_its_text_is_released(policy: Policy) -> None:
    answer = SENTENCE * 8 + "I am going to kill you tomorrow. " + SENTENCE * 8
    guard = StreamGuard(policy, window_chars=120, holdback_chars=40)
    released = ""
    blocked = None
    for chunk in _chunks(answer, 7):
        step = guard.feed(chunk)
        released += step.release
        if step.blocked:
            blocked = step.blocked
            break
    assert blocked is not None and blocked.text == "answer withheld"
    assert "kill" not in released and released.startswith(SENTENCE)
    with pytest.raises(RuntimeError):
        guard.feed("more")


def test_a_phrase_split_across_the_cut_is_still_caught(policy: Policy) -> None:
    answer = SENTENCE * 2 + "the codename is Project " + "Nightingale and more " + SENTENCE
    guard = StreamGuard(policy, window_chars=60, holdback_chars=30)
    released = ""
    for chunk in _chunks(answer, 5):
        step = guard.feed(chunk)
        if step.blocked:
            break
        released += step.release
    else:
        step = guard.finish()
    assert step.blocked is not None
    assert "Nightingale" not in released


def test_a_clean_answer_is_checked_in_windows_not_per_chunk(policy: Policy) -> None:
    answer = SENTENCE * 20
    guard = StreamGuard(policy, window_chars=300, holdback_chars=60)
    released = "".join(guard.feed(c).release for c in _chunks(answer, 3)) + guard.finish().release
    assert released == answer
    assert guard.checks <= len(answer) // 240 + 2
