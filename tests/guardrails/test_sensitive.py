"""Sensitive information: Presidio's recognizers offline, fmops' AWS recognizers, BLOCK/ANONYMIZE, masking."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fmops.guardrails import Policy
from fmops.guardrails._mask import mask, resolve_overlaps
from fmops.guardrails._pii import Finding

ALL_TYPES = [
    "EMAIL",
    "PHONE",
    "CREDIT_DEBIT_CARD_NUMBER",
    "US_SOCIAL_SECURITY_NUMBER",
    "IP_ADDRESS",
    "URL",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER",
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
]


@pytest.fixture
def anonymizer(make_policy: Callable[..., Policy]) -> Policy:
    return make_policy(
        name="pii",
        sensitiveInformationPolicyConfig={
            "piiEntitiesConfig": [{"type": t, "action": "ANONYMIZE"} for t in ALL_TYPES],
            "regexesConfig": [{"name": "TICKET", "pattern": r"\bTK-\d{4}\b", "action": "ANONYMIZE"}],
        },
    )


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mail jane.doe@example.com now", "mail {EMAIL} now"),
        ("call (415) 867-2310 today", "call {PHONE} today"),
        ("card 4111 1111 1111 1111, thanks", "card {CREDIT_DEBIT_CARD_NUMBER}, thanks"),
        ("my SSN is 371-28-4409.", "my SSN is {US_SOCIAL_SECURITY_NUMBER}."),
        ("ssh to 10.20.30.40 please", "ssh to {IP_ADDRESS} please"),
        ("see https://docs.python.org/3/library.", "see {URL}."),
        ("IBAN GB82 WEST 1234 5698 7654 32 ok", "IBAN {INTERNATIONAL_BANK_ACCOUNT_NUMBER} ok"),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "key {AWS_ACCESS_KEY} leaked"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = {AWS_SECRET_KEY}",
        ),
        ("ticket TK-1234 is open", "ticket {TICKET} is open"),
    ],
)
def test_each_type_is_masked_in_place(anonymizer: Policy, text: str, masked: str) -> None:
    result = anonymizer.apply(text)
    assert result.action == "GUARDRAIL_INTERVENED" and not result.blocked
    assert result.text == masked
    assert result.response()["outputs"] == [{"text": masked}]


@pytest.mark.parametrize(
    "text",
    [
        "The number 4111 1111 1111 1112 fails the Luhn check.",
        "Wrong IBAN: GB83 WEST 1234 5698 7654 32 has a bad checksum.",
        "Order 134515008 shipped on Monday.",
        "Upgrade to version 3.11.7 before Friday.",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b fixed the bug",
        "AWS access keys should be rotated every 90 days.",
        "ISBN 978-0-13-468599-1 is on the back cover.",
        "Send an email to the team when you are done.",
    ],
)
def test_hard_negatives_pass_untouched(anonymizer: Policy, text: str) -> None:
    result = anonymizer.apply(text)
    assert (result.action, result.text, result.outputs) == ("NONE", text, [])


def test_block_and_anonymize_per_direction(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(
        name="p",
        blockedInputMessaging="input blocked",
        blockedOutputsMessaging="output blocked",
        sensitiveInformationPolicyConfig={
            "piiEntitiesConfig": [
                {"type": "EMAIL", "action": "ANONYMIZE", "outputAction": "BLOCK"},
                {"type": "CREDIT_DEBIT_CARD_NUMBER", "action": "BLOCK"},
            ]
        },
    )
    email = "write to a.b@example.org"
    assert policy.apply(email, "INPUT").text == "write to {EMAIL}"
    out = policy.apply(email, "OUTPUT")
    assert out.blocked and out.text == "output blocked"
    card = policy.apply("pay with 5500 0000 0000 0004", "INPUT")
    assert card.blocked and card.response()["outputs"] == [{"text": "input blocked"}]
    entity = card.response()["assessments"][0]["sensitiveInformationPolicy"]["piiEntities"][0]
    assert entity == {
        "match": "5500 0000 0000 0004",
        "type": "CREDIT_DEBIT_CARD_NUMBER",
        "action": "BLOCKED",
        "detected": True,
    }


def test_names_without_an_ner_model_are_reported_not_pretended(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(
        name="p",
        sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "NAME", "action": "ANONYMIZE"}]},
    )
    assert any("NAME: not detected: no named-entity model is installed" in w for w in policy.warnings)
    assert policy.apply("My name is John Smith").action == "NONE"


# --- masking keeps every other byte -------------------------------------------------------------------

# Filler that cannot itself look like PII (no digits, "@", "." or "/"), with any letters, marks and spaces.
_FILLER = st.text(
    alphabet=st.characters(
        whitelist_categories=("Ll", "Lu", "Lo", "Mn", "Zs", "Po", "So"), blacklist_characters="@./:#%&"
    ),
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 80), st.integers(1, 10), st.floats(0, 1)), max_size=8),
    st.text(alphabet=st.characters(blacklist_characters="{", blacklist_categories=("Cs",)), max_size=80),
)
def test_mask_replaces_exactly_the_kept_spans(raw: list[tuple[int, int, float]], text: str) -> None:
    spans = [Finding("T", s, min(s + n, len(text)), score) for s, n, score in raw if s < len(text)]
    kept = resolve_overlaps(spans)
    assert all(a.end <= b.start for a, b in itertools.pairwise(kept))
    assert all(any(k.start < s.end and s.start < k.end for k in kept) for s in spans)  # every span covered
    pieces = mask(text, kept).split("{T}")
    assert len(pieces) == len(kept) + 1
    rebuilt = pieces[0]
    for span, piece in zip(kept, pieces[1:], strict=True):
        rebuilt += text[span.start : span.end] + piece
    assert rebuilt == text


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_FILLER, min_size=2, max_size=4))
def test_policy_masking_leaves_the_rest_of_the_text_byte_identical(
    anonymizer: Policy, fillers: list[str]
) -> None:
    text, expected = fillers[0], fillers[0]
    for i, filler in enumerate(fillers[1:]):
        text += f" user{i}@example.com " + filler
        expected += " {EMAIL} " + filler
    assert anonymizer.apply(text).text == expected
