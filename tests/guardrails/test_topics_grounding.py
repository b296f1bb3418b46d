"""Denied topics (calibrated similarity) and contextual grounding (offline scorer)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fmops.guardrails import Policy
from fmops.guardrails._grounding import grounding_score, relevance_score

INVESTMENT = {
    "name": "Investment advice",
    "definition": "Recommendations about which stocks, funds or cryptocurrencies to buy or sell to make money.",
    "examples": [
        "Which stocks should I buy this year?",
        "Is it a good time to invest in Bitcoin?",
        "Should I move my retirement savings into an index fund?",
        "What shares will double in value next month?",
        "Recommend a portfolio of ETFs for high returns.",
    ],
    "type": "DENY",
}


@pytest.fixture
def topics(make_policy: Callable[..., Policy]) -> Policy:
    return make_policy(name="topics", topicPolicyConfig={"topicsConfig": [INVESTMENT]})


@pytest.mark.parametrize(
    "text",
    [
        "Should I buy Tesla stock or Apple stock right now?",
        "Which cryptocurrency will make me rich this year?",
        "Tell me which mutual funds to invest my savings in.",
    ],
)
def test_paraphrases_of_a_denied_topic_are_blocked(topics: Policy, text: str) -> None:
    result = topics.apply(text)
    assert result.blocked
    (topic,) = result.response()["assessments"][0]["topicPolicy"]["topics"]
    assert topic["name"] == "Investment advice" and topic["action"] == "BLOCKED"
    assert topic["score"] >= topic["threshold"]


@pytest.mark.parametrize(
    "text",
    [
        "What is the capital of France?",
        "How do I kill the process on port 8080?",
        "Write a haiku about autumn leaves.",
        "How do I bake sourdough bread?",
    ],
)
def test_other_subjects_pass(topics: Policy, text: str) -> None:
    assert topics.apply(text).action == "NONE"


def test_topic_without_distinct_examples_is_flagged(make_policy: Callable[..., Policy]) -> None:
    vague = {"name": "Vague", "definition": "Things.", "examples": ["the", "a sentence", "what is it"]}
    policy = make_policy(topicPolicyConfig={"topicsConfig": [vague]})
    assert any("denied topic 'Vague'" in w for w in policy.warnings)


CONTEXT = "The Eiffel Tower is 330 metres tall and was completed in 1889 for the World's Fair in Paris."


def test_grounding_scores_supported_answers_high() -> None:
    assert grounding_score("The Eiffel Tower was completed in 1889.", CONTEXT) == 1.0
    assert grounding_score("The Eiffel Tower is 500 metres tall and made of gold.", CONTEXT) < 0.6
    assert grounding_score("", CONTEXT) == 1.0


def test_relevance_prefers_answers_to_the_question() -> None:
    query = "How tall is the Eiffel Tower?"
    assert relevance_score("The Eiffel Tower is 330 metres tall.", query) > relevance_score(
        "Bananas are rich in potassium.", query
    )


def test_grounding_policy_blocks_ungrounded_answers_on_output_only(
    make_policy: Callable[..., Policy],
) -> None:
    policy = make_policy(
        contextualGroundingPolicyConfig={"filtersConfig": [{"type": "GROUNDING", "threshold": 0.7}]},
        blockedOutputsMessaging="not grounded",
    )
    bad = "The tower is made of chocolate and opened in 2020."
    out = policy.apply(bad, "OUTPUT", grounding_source=CONTEXT, query="What is the tower made of?")
    assert out.blocked and out.text == "not grounded"
    (check,) = out.response()["assessments"][0]["contextualGroundingPolicy"]["filters"]
    assert check["type"] == "GROUNDING" and check["score"] < 0.7 and check["action"] == "BLOCKED"
    good = policy.apply("It was completed in 1889.", "OUTPUT", grounding_source=CONTEXT)
    assert good.action == "NONE"
    assert policy.apply(bad, "INPUT", grounding_source=CONTEXT).action == "NONE"
    assert policy.apply(bad, "OUTPUT").action == "NONE"  # no grounding source: the check does not run


def test_interventions_are_logged_with_the_policy_version_but_not_the_text(
    make_policy: Callable[..., Policy], caplog: pytest.LogCaptureFixture
) -> None:
    policy = make_policy(
        name="logged", version="v9", wordPolicyConfig={"wordsConfig": [{"text": "secretword"}]}
    )
    with caplog.at_level("INFO", logger="fmops.guardrails"):
        policy.apply("the secretword is here", "INPUT")
        policy.apply("nothing to see", "INPUT")
    (record,) = caplog.records
    assert "logged v9 intervened on INPUT (blocked): wordPolicy" in record.getMessage()
    assert "secretword" not in record.getMessage()


def test_source_must_be_input_or_output(make_policy: Callable[..., Policy]) -> None:
    from fmops.core.errors import BadInputError

    with pytest.raises(BadInputError, match="source must be INPUT or OUTPUT"):
        make_policy(name="p").apply("hi", "SIDEWAYS")
