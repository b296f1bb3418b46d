"""`compare_policies` and `fmops guard compare`: policy versions on the same texts, paired differences."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from fmops.cli import app
from fmops.core.errors import BadInputError
from fmops.evaluation.statistics import paired_test
from fmops.guardrails import PolicyComparison, compare_policies, read_policy_comparison, shipped_file
from fmops.guardrails._eval import LabelledText

SHIPPED_PII = SHIPPED_POLICY_PII = (
    Path(__file__).resolve().parents[2] / "src" / "fmops" / "guardrails" / "policies" / "pii.yaml"
)
runner = CliRunner()


def _without(directory: Path, entity: str) -> Path:
    """A copy of the shipped pii policy, version 2, with one entity type's filter off."""
    config = yaml.safe_load(SHIPPED_PII.read_text(encoding="utf-8"))
    entities = config["sensitiveInformationPolicyConfig"]["piiEntitiesConfig"]
    config["sensitiveInformationPolicyConfig"]["piiEntitiesConfig"] = [
        e for e in entities if e["type"] != entity
    ]
    config["version"] = "2"
    path = directory / f"pii_without_{entity.lower()}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _pair(comparison: PolicyComparison, name: str):
    return next(d for d in comparison.differences if d.name == name)


@pytest.fixture(scope="module")
def iban_off(tmp_path_factory: pytest.TempPathFactory) -> PolicyComparison:
    # IBAN's filter off changes nothing else in the shipped set (EMAIL's would: see the URL test below).
    variant = _without(tmp_path_factory.mktemp("policies"), "INTERNATIONAL_BANK_ACCOUNT_NUMBER")
    return compare_policies([SHIPPED_PII, variant], "pii", paired_test=paired_test)


def test_a_filter_off_is_beyond_the_noise_and_the_rest_within(iban_off: PolicyComparison) -> None:
    assert iban_off.records == 253 and [p.version for p in iban_off.policies] == ["1", "2"]
    iban = _pair(iban_off, "INTERNATIONAL_BANK_ACCOUNT_NUMBER")
    assert iban.beyond_noise and iban.recall is not None and iban.recall.beyond_noise
    assert iban.recall.difference == 1.0 and iban.recall.units == 24 and iban.recall.p_value < 0.001
    others = [d for d in iban_off.differences if d.name not in ("INTERNATIONAL_BANK_ACCOUNT_NUMBER", "micro")]
    assert len(others) == 8 and not any(d.beyond_noise for d in others)
    assert _pair(iban_off, "micro").beyond_noise
    b_scores = {s.name: s for s in iban_off.scores[str(iban_off.policies[1].path)]}
    assert b_scores["INTERNATIONAL_BANK_ACCOUNT_NUMBER"].recall.value == 0.0
    assert b_scores["micro"].support == 222


def test_identical_policies_differ_nowhere(tmp_path: Path) -> None:
    copy = tmp_path / "same.yaml"
    copy.write_text(SHIPPED_PII.read_text(encoding="utf-8"), encoding="utf-8")
    comparison = compare_policies(
        [SHIPPED_PII, copy], shipped_file("pii_eval.jsonl"), paired_test=paired_test
    )
    assert comparison.differences and not any(d.beyond_noise for d in comparison.differences)
    assert all(d.correctness.difference == 0 and d.correctness.p_value == 1 for d in comparison.differences)


def test_paired_units_on_a_tiny_set(tmp_path: Path) -> None:
    words = {"name": "w", "wordPolicyConfig": {"wordsConfig": [{"text": "banana"}]}}
    a, b, c = tmp_path / "a.yaml", tmp_path / "b.yaml", tmp_path / "c.yaml"
    a.write_text(yaml.safe_dump(words), encoding="utf-8")
    b.write_text(yaml.safe_dump({**words, "wordPolicyConfig": {"wordsConfig": [{"text": "cherry"}]}}))
    c.write_text(yaml.safe_dump(words), encoding="utf-8")
    records = [
        LabelledText(text="banana", labels=["WORDS"]),
        LabelledText(text="banana split", labels=["WORDS"]),
        LabelledText(text="cherry pie", labels=[]),
        LabelledText(text="apple", labels=[]),
    ]
    comparison = compare_policies([a, b, c], records, paired_test=paired_test, dataset_name="tiny")
    assert [(d.a, d.b) for d in comparison.differences if d.name == "WORDS"] == [
        (str(a), str(b)),
        (str(a), str(c)),
        (str(b), str(c)),
    ]
    a_b = comparison.differences[0]
    assert a_b.recall is not None and a_b.fpr is not None
    assert (a_b.recall.difference, a_b.recall.units) == (1.0, 2)  # a catches both bananas, b neither
    assert (a_b.fpr.difference, a_b.fpr.units) == (-0.5, 2)  # b blocks the cherry pie
    assert a_b.correctness.difference == 0.75
    assert not a_b.beyond_noise  # four texts cannot tell the policies apart
    with pytest.raises(BadInputError, match="at least two"):
        compare_policies([a], records, paired_test=paired_test)
    with pytest.raises(BadInputError, match="listed twice"):
        compare_policies([a, a], records, paired_test=paired_test)


def test_cli_compares_and_writes_json(tmp_path: Path) -> None:
    # The first 120 shipped texts (11 e-mail addresses) keep this quick; EMAIL's filter off also lets URL flag the mail domains.
    lines = shipped_file("pii_eval.jsonl").read_text(encoding="utf-8").splitlines()[:120]
    dataset = tmp_path / "some.jsonl"
    dataset.write_text("\n".join(lines) + "\n", encoding="utf-8")
    variant = _without(tmp_path, "EMAIL")
    out = tmp_path / "out"
    args = ["guard", "compare", str(SHIPPED_PII), str(variant), "--dataset", str(dataset), "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "BEYOND NOISE" in result.stdout and "within noise" in result.stdout
    comparison = read_policy_comparison(out)
    email = _pair(comparison, "EMAIL")
    assert email.recall is not None and email.recall.difference == 1.0 and email.beyond_noise
    assert json.loads((out / "policy_comparison.json").read_text())["records"] == 120


def test_cli_bad_policy_path_exits_2_with_one_line(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["guard", "compare", str(SHIPPED_PII), str(tmp_path / "nope.yaml"), "--dataset", "pii"]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "nope.yaml: cannot read the policy" in result.stderr
