"""`evaluate_policy`: figures per category and entity type, intervals, latency from an injected clock."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.guardrails import Policy
from fmops.guardrails._eval import LabelledText, evaluate_policy, read_dataset, wilson


def test_wilson_interval_known_values() -> None:
    interval = wilson(8, 10)
    assert (interval.value, interval.low, interval.high) == (0.8, 0.4902, 0.9433)
    assert wilson(0, 0).value is None


def test_scores_count_hits_misses_and_false_alarms(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(
        name="words",
        version="7",
        wordPolicyConfig={"wordsConfig": [{"text": "banana"}]},
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL", "action": "ANONYMIZE"}]},
    )
    records = [
        LabelledText(text="I like banana bread", labels=["WORDS"]),
        LabelledText(text="b a n a n a split", labels=["WORDS"]),
        LabelledText(text="an apple a day", labels=["WORDS"]),  # a miss
        LabelledText(text="bananas are not listed", labels=[]),
        LabelledText(text="banana again", labels=[]),  # a false alarm
        LabelledText(
            text="write to a@example.com or b@example.org",
            entities=[{"type": "EMAIL", "text": "a@example.com"}, {"type": "EMAIL", "text": "b@example.org"}],
        ),
        LabelledText(text="no mail here", entities=[]),
    ]
    ticks = itertools.count()
    evaluation = evaluate_policy(policy, records, dataset_name="tiny", clock=lambda: next(ticks) * 0.002)
    words = next(s for s in evaluation.scores if s.name == "WORDS")
    assert (words.support, words.tp, words.fp, words.fn) == (3, 2, 1, 1)
    assert words.precision.value == pytest.approx(2 / 3, abs=1e-4)
    assert words.recall.value == pytest.approx(2 / 3, abs=1e-4)
    assert words.fpr.value == pytest.approx(1 / 4, abs=1e-4)
    email = next(s for s in evaluation.scores if s.name == "EMAIL")
    assert (email.kind, email.support, email.tp, email.fp, email.fn) == ("entity", 2, 2, 0, 0)
    assert evaluation.latency_ms_p50 == pytest.approx(2.0) and evaluation.latency_ms_p95 == pytest.approx(2.0)
    assert (evaluation.policy, evaluation.policy_version, evaluation.records) == ("words", "7", 7)


def test_dataset_mistakes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "ok"}) + "\n" + json.dumps({"txt": "typo"}) + "\n")
    with pytest.raises(BadInputError, match=r"d.jsonl:2: text: Field required"):
        read_dataset(path)
    path.write_text("")
    with pytest.raises(BadInputError, match="no labelled texts"):
        read_dataset(path)
