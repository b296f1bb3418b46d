"""NAME and ADDRESS need a spaCy pipeline with entity recognition: used when one is at hand (installed
package or $FMOPS_NER_MODEL folder), reported by the policy check when none is, never pretended."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.guardrails import Policy
from fmops.guardrails._pii import NER_ENV, ner_model

NAMES = {
    "piiEntitiesConfig": [{"type": "NAME", "action": "ANONYMIZE"}, {"type": "ADDRESS", "action": "BLOCK"}]
}


@pytest.fixture
def ruler_pipeline(tmp_path: Path) -> Path:
    """A real spaCy English pipeline whose entities come from an entity ruler (the component a team would
    use for its own names), saved to a folder as any trained pipeline is."""
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns(
        [
            {"label": "PERSON", "pattern": [{"LOWER": "jane"}, {"LOWER": "doe"}]},
            {"label": "GPE", "pattern": "Springfield"},
        ]
    )
    folder = tmp_path / "names-pipeline"
    nlp.to_disk(folder)
    return folder


def test_a_pipeline_folder_detects_names_and_places(
    make_policy: Callable[..., Policy], ruler_pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NER_ENV, str(ruler_pipeline))
    assert ner_model() == str(ruler_pipeline)
    policy = make_policy(sensitiveInformationPolicyConfig=NAMES)
    assert not policy.warnings
    masked = policy.apply("Please forward this to Jane Doe before Friday.", "OUTPUT")
    assert masked.text == "Please forward this to {NAME} before Friday."
    assert policy.apply("She moved to Springfield last year.").blocked  # ADDRESS: BLOCK
    assert policy.apply("Please forward this to the team before Friday.").action == "NONE"


def test_policies_without_names_keep_the_blank_pipeline(
    make_policy: Callable[..., Policy], ruler_pipeline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NER_ENV, str(ruler_pipeline))
    emails = make_policy(sensitiveInformationPolicyConfig={"piiEntitiesConfig": [{"type": "EMAIL"}]})
    assert emails.apply("Jane Doe: jane@example.com").text == "Jane Doe: {EMAIL}"


def test_a_folder_without_entities_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spacy = pytest.importorskip("spacy")
    spacy.blank("en").to_disk(tmp_path / "blank")
    monkeypatch.setenv(NER_ENV, str(tmp_path / "blank"))
    with pytest.raises(BadInputError, match="no.*ner or entity_ruler component|with an ner or entity_ruler"):
        ner_model()


def test_without_any_ner_model_the_policy_check_says_so(
    make_policy: Callable[..., Policy], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(NER_ENV, raising=False)
    if ner_model() is not None:
        pytest.skip(f"this environment has an NER pipeline installed ({ner_model()})")
    policy = make_policy(sensitiveInformationPolicyConfig=NAMES)
    assert any(
        w.startswith("ADDRESS, NAME: not detected: no named-entity model is installed")
        for w in policy.warnings
    )
    assert policy.apply("Please forward this to Jane Doe in Springfield.").action == "NONE"
