"""The policy file: Bedrock's field names, one reader, errors that name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.guardrails import load_policy, parse_policy, read_policy

from .conftest import SHIPPED_POLICY


def test_shipped_policy_reads_with_bedrock_field_names() -> None:
    config, version = read_policy(SHIPPED_POLICY)
    assert version == "1"
    types = [f.type.value for f in config.contentPolicyConfig.filtersConfig]
    assert types == ["HATE", "INSULTS", "SEXUAL", "VIOLENCE", "MISCONDUCT", "PROMPT_ATTACK"]
    assert config.topicPolicyConfig.topicsConfig[0].type == "DENY"
    assert config.wordPolicyConfig.managedWordListsConfig[0].type == "PROFANITY"
    pii = {e.type: e.action.value for e in config.sensitiveInformationPolicyConfig.piiEntitiesConfig}
    assert pii["EMAIL"] == "ANONYMIZE" and pii["CREDIT_DEBIT_CARD_NUMBER"] == "BLOCK"
    assert config.sensitiveInformationPolicyConfig.regexesConfig[0].name == "BOOKING_REFERENCE"
    assert [f.type for f in config.contextualGroundingPolicyConfig.filtersConfig] == [
        "GROUNDING",
        "RELEVANCE",
    ]


def test_version_defaults_to_the_file_hash(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("name: p\n")
    first = read_policy(path)[1]
    path.write_text("name: p\nblockedInputMessaging: nope\n")
    second = read_policy(path)[1]
    assert first.startswith("sha256:") and second.startswith("sha256:") and first != second


@pytest.mark.parametrize(
    ("text", "where", "fragment"),
    [
        (
            "name: p\ncontentPolicyConfig:\n  filtersConfig:\n    - type: HATE\n      inputStrength: HUGE\n",
            ":5:",
            "contentPolicyConfig.filtersConfig.0.inputStrength: Input should be",
        ),
        (
            "name: p\nsensitiveInformationPolicyConfig:\n  piiEntitiesConfig:\n    - type: EMAIL\n"
            "    - type: SHOE_SIZE\n",
            ":5:",
            "piiEntitiesConfig.1.type: Value error, unknown PII type 'SHOE_SIZE'",
        ),
        ("name: p\nwordPolicy: {}\n", ":2:", "wordPolicy: Extra inputs are not permitted"),
        (
            "name: p\nsensitiveInformationPolicyConfig:\n  regexesConfig:\n    - {name: X, pattern: '(['}\n",
            ":4:",
            "regexesConfig.0.pattern: Value error, not a valid regular expression",
        ),
        ("name: p\n  bad: [\n", ":2:", "not valid YAML"),
        ("- a list\n", ":", "a policy is a mapping"),
    ],
)
def test_mistakes_name_file_line_and_field(tmp_path: Path, text: str, where: str, fragment: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    with pytest.raises(BadInputError) as error:
        load_policy(path)
    message = str(error.value)
    assert message.startswith(f"{path}{where}")
    assert fragment in message
    assert "\n" not in message


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read the policy"):
        load_policy(tmp_path / "nope.yaml")


def test_per_direction_pii_actions() -> None:
    config = parse_policy(
        "sensitiveInformationPolicyConfig:\n  piiEntitiesConfig:\n"
        "    - {type: EMAIL, action: ANONYMIZE, inputAction: NONE}\n"
    )
    entity = config.sensitiveInformationPolicyConfig.piiEntitiesConfig[0]
    assert entity.action_for("INPUT").value == "NONE"
    assert entity.action_for("OUTPUT").value == "ANONYMIZE"
