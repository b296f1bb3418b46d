"""The apply engine: one loaded policy checks a text from the INPUT (prompt) or OUTPUT (answer) side.

Every configured policy runs on every text (so the assessments say everything that was found); then a
block anywhere returns the configured blocked message, otherwise masked entities return the masked text,
otherwise nothing is done. Interventions are logged (logger `fmops.guardrails`) with the policy name and
version and the kinds of findings, never the text.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError
from fmops.guardrails._mask import mask, resolve_overlaps
from fmops.guardrails._pii import NER_TYPES, get_pii_analyzer, ner_model
from fmops.guardrails._policy import PiiAction, PolicyConfig, Strength, parse_policy, read_policy
from fmops.guardrails._result import (
    Assessment,
    ContentFilterAssessment,
    GroundingAssessment,
    GuardrailResult,
    ManagedWordAssessment,
    OutputText,
    PiiAssessment,
    RegexAssessment,
    Source,
    TopicAssessment,
    WordAssessment,
)

log = logging.getLogger("fmops.guardrails")

#: Detector probability at which each confidence level starts.
CONFIDENCE_LEVELS: tuple[tuple[str, float], ...] = (("HIGH", 0.9), ("MEDIUM", 0.7), ("LOW", 0.5))
#: Bedrock's strengths: LOW blocks HIGH-confidence content only, HIGH blocks from LOW confidence up.
_BLOCKS_FROM = {Strength.LOW: "HIGH", Strength.MEDIUM: "MEDIUM", Strength.HIGH: "LOW"}
_RANK = {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}


def confidence(probability: float) -> str:
    return next((level for level, start in CONFIDENCE_LEVELS if probability >= start), "NONE")


@dataclass(frozen=True)
class _Span:
    type: str
    start: int
    end: int
    score: float
    action: PiiAction
    regex: str | None = None  # the pattern, for custom regexes


class Policy:
    """A loaded policy: its configuration, version and the detectors it needs (built when loaded)."""

    def __init__(self, config: PolicyConfig, version: str, source: str = "<policy>") -> None:
        self.config = config
        self.version = version
        self.source = source
        self.warnings: list[str] = []
        self._content = None
        self._topics = None
        self._words = None
        self._pii_types: list[str] = []
        self._ner: str | None = None  # the spaCy NER pipeline, when the policy asks for names
        self._regexes = []
        self._grounding = None
        if config.contentPolicyConfig and any(
            f.inputStrength != Strength.NONE or f.outputStrength != Strength.NONE
            for f in config.contentPolicyConfig.filtersConfig
        ):
            from fmops.guardrails._detectors import get_detector

            choice = config.detectors.content
            self._content = get_detector(choice.name, choice.args)
        if config.topicPolicyConfig and config.topicPolicyConfig.topicsConfig:
            from fmops.guardrails._topics import TopicMatcher

            encoder = config.detectors.topics.name
            if encoder not in ("minilm-static", "minilm"):
                raise BadInputError(f"{source}: detectors.topics.name: expected minilm-static or minilm")
            self._topics = TopicMatcher(config.topicPolicyConfig.topicsConfig, encoder)
            self.warnings += self._topics.warnings
        words = config.wordPolicyConfig
        if words and (words.wordsConfig or words.managedWordListsConfig):
            from fmops.guardrails._words import WordMatcher, managed_profanity

            managed = list(managed_profanity()) if words.managedWordListsConfig else []
            self._words = WordMatcher([w.text for w in words.wordsConfig], managed)
        if config.contextualGroundingPolicyConfig and config.contextualGroundingPolicyConfig.filtersConfig:
            from fmops.guardrails._detectors import get_grounding_scorer

            grounder = config.detectors.grounding
            args = dict(grounder.args)
            if grounder.name.lower() == "lexical":
                args.setdefault("encoder", config.detectors.topics.name)
            self._grounding = get_grounding_scorer(grounder.name, args)
        sensitive = config.sensitiveInformationPolicyConfig
        if sensitive:
            self._pii_types = [e.type for e in sensitive.piiEntitiesConfig]
            self._regexes = [(r, re.compile(r.pattern)) for r in sensitive.regexesConfig]
            wants_ner = sorted(set(self._pii_types) & NER_TYPES)
            self._ner = ner_model() if wants_ner else None
            if wants_ner and self._ner is None:
                self.warnings.append(
                    f"{', '.join(wants_ner)}: not detected: no named-entity model is installed (install a "
                    "spaCy pipeline package with NER, e.g. en_core_web_sm, into this environment, or set "
                    "FMOPS_NER_MODEL to a pipeline folder)"
                )
            if self._pii_types:
                get_pii_analyzer(self._ner)

    @property
    def name(self) -> str:
        return self.config.name

    def apply(
        self,
        text: str,
        source: Source | str = "INPUT",
        *,
        grounding_source: str | None = None,
        query: str | None = None,
    ) -> GuardrailResult:
        """Check `text` as a prompt (INPUT) or an answer (OUTPUT); OUTPUT checks may carry the grounding
        source and the query for contextual grounding."""
        side = str(source).upper()
        if side not in ("INPUT", "OUTPUT"):
            raise BadInputError(f"source must be INPUT or OUTPUT, got {source!r}")
        return self._run(text, side, grounding_source, query)[0]

    def _run(
        self, text: str, side: str, grounding_source: str | None, query: str | None
    ) -> tuple[GuardrailResult, list[_Span]]:
        """The result, and the spans it masked (streaming releases text between them)."""
        found: dict[str, Any] = {}
        blocked = False
        for part, hit in (
            ("contentPolicy", self._check_content(text, side)),
            ("topicPolicy", self._check_topics(text)),
            ("wordPolicy", self._check_words(text)),
            ("contextualGroundingPolicy", self._check_grounding(text, side, grounding_source, query)),
        ):
            if hit is not None:
                found[part], part_blocked = hit
                blocked |= part_blocked
        spans = self._find_sensitive(text, side)
        masked_text = text
        masked_spans: list[_Span] = []
        if spans:
            kept = resolve_overlaps(spans)
            found["sensitiveInformationPolicy"] = _sensitive_assessment(text, kept)
            blocked |= any(s.action == PiiAction.BLOCK for s in kept)
            masked_spans = [s for s in kept if s.action == PiiAction.ANONYMIZE]
            masked_text = mask(text, masked_spans)
        masked = masked_text != text
        if blocked:
            message = (
                self.config.blockedInputMessaging if side == "INPUT" else self.config.blockedOutputsMessaging
            )
            outputs, reason = [OutputText(text=message)], "Guardrail blocked."
        elif masked:
            outputs, reason = [OutputText(text=masked_text)], "Guardrail masked."
        else:
            outputs, reason = [], "No action."
        intervened = blocked or masked
        if intervened:
            log.info(
                "guardrail %s %s intervened on %s (%s): %s",
                self.name,
                self.version,
                side,
                "blocked" if blocked else "masked",
                ", ".join(sorted(found)),
            )
        result = GuardrailResult(
            action="GUARDRAIL_INTERVENED" if intervened else "NONE",
            actionReason=reason,
            outputs=outputs,
            assessments=[Assessment(**found)] if found else [],
            blocked=blocked,
            policy_version=self.version,
            source=side,  # type: ignore[arg-type]
            usage=self._usage(text, grounding_source is not None or query is not None),
            text=outputs[0].text if outputs else text,
            warnings=self.warnings,
        )
        return result, masked_spans

    def _usage(self, text: str, grounded: bool) -> dict[str, int]:
        """Text units (1,000 characters each, as Bedrock bills them) per configured policy."""
        units = max(1, -(-len(text) // 1000))
        c = self.config
        return {
            "topicPolicyUnits": units if self._topics else 0,
            "contentPolicyUnits": units if self._content else 0,
            "wordPolicyUnits": units if self._words else 0,
            "sensitiveInformationPolicyUnits": units if self._regexes else 0,
            "sensitiveInformationPolicyFreeUnits": units if self._pii_types else 0,
            "contextualGroundingPolicyUnits": units if c.contextualGroundingPolicyConfig and grounded else 0,
        }

    def _check_content(self, text: str, side: str) -> tuple[dict[str, Any], bool] | None:
        if self._content is None or self.config.contentPolicyConfig is None:
            return None
        filters = []
        for f in self.config.contentPolicyConfig.filtersConfig:
            strength = f.inputStrength if side == "INPUT" else f.outputStrength
            if strength != Strength.NONE and not (f.type == "PROMPT_ATTACK" and side == "OUTPUT"):
                filters.append((f.type.value, strength))
        if not filters:
            return None
        scores = self._content.score([text], side)[0]
        out, blocked = [], False
        for kind, strength in filters:
            probability = scores.get(kind, 0.0)
            level = confidence(probability)
            hit = _RANK[level] >= _RANK[_BLOCKS_FROM[strength]]
            blocked |= hit
            if level != "NONE":
                out.append(
                    ContentFilterAssessment(
                        type=kind,
                        confidence=level,  # type: ignore[arg-type]
                        filterStrength=strength.value,  # type: ignore[arg-type]
                        action="BLOCKED" if hit else "NONE",
                        detected=True,
                        score=round(probability, 4),
                    )
                )
        return ({"filters": out}, blocked) if out else None

    def _check_topics(self, text: str) -> tuple[dict[str, Any], bool] | None:
        if self._topics is None:
            return None
        hits = [
            TopicAssessment(
                name=t.name,
                action="BLOCKED",
                detected=True,
                score=round(t.score, 4),
                threshold=round(t.threshold, 4),
            )
            for t in self._topics.score(text)
            if t.detected
        ]
        return ({"topics": hits}, True) if hits else None

    def _check_words(self, text: str) -> tuple[dict[str, Any], bool] | None:
        if self._words is None:
            return None
        matches = self._words.find(text)
        if not matches:
            return None
        custom = [WordAssessment(match=m.found) for m in matches if not m.managed]
        managed = [ManagedWordAssessment(match=m.found) for m in matches if m.managed]
        return {"customWords": custom, "managedWordLists": managed}, True

    def _check_grounding(
        self, text: str, side: str, grounding_source: str | None, query: str | None
    ) -> tuple[dict[str, Any], bool] | None:
        config = self.config.contextualGroundingPolicyConfig
        if config is None or side != "OUTPUT" or self._grounding is None:
            return None
        out, blocked = [], False
        for f in config.filtersConfig:
            if f.type == "GROUNDING" and grounding_source is not None:
                score = self._grounding.grounding(text, grounding_source)
            elif f.type == "RELEVANCE" and query is not None:
                score = self._grounding.relevance(text, query)
            else:
                continue  # Bedrock: a check without its qualifier does not run
            hit = score < f.threshold
            blocked |= hit
            out.append(
                GroundingAssessment(
                    type=f.type,
                    threshold=f.threshold,
                    score=round(score, 4),
                    action="BLOCKED" if hit else "NONE",
                    detected=hit,
                )
            )
        return ({"filters": out}, blocked) if out else None

    def _find_sensitive(self, text: str, side: str) -> list[_Span]:
        sensitive = self.config.sensitiveInformationPolicyConfig
        if sensitive is None:
            return []
        actions = {e.type: e.action_for(side) for e in sensitive.piiEntitiesConfig}
        spans = [
            _Span(f.type, f.start, f.end, f.score, actions[f.type])
            for f in (get_pii_analyzer(self._ner).analyze(text, self._pii_types) if self._pii_types else [])
        ]
        for config, pattern in self._regexes:
            for m in pattern.finditer(text):
                if m.end() > m.start():
                    # custom regexes win over a built-in type on the same text: the user asked for them
                    spans.append(
                        _Span(config.name, m.start(), m.end(), 1.01, config.action_for(side), config.pattern)
                    )
        return spans


def _sensitive_assessment(text: str, spans: list[_Span]) -> dict[str, Any]:
    word = {PiiAction.BLOCK: "BLOCKED", PiiAction.ANONYMIZE: "ANONYMIZED", PiiAction.NONE: "NONE"}
    pii = [
        PiiAssessment(match=text[s.start : s.end], type=s.type, action=word[s.action])  # type: ignore[arg-type]
        for s in spans
        if s.regex is None
    ]
    regexes = [
        RegexAssessment(name=s.type, match=text[s.start : s.end], regex=s.regex, action=word[s.action])  # type: ignore[arg-type]
        for s in spans
        if s.regex is not None
    ]
    return {"piiEntities": pii, "regexes": regexes}  # both keys: ApplyGuardrail's response requires them


def load_policy(path: str | Path) -> Policy:
    """Read, validate and load the policy file at `path`, or a policy source's reference such as
    `registry:NAME@production` (detectors built once per process)."""
    from fmops.guardrails._sources import is_policy_reference, resolve_policy_reference

    if is_policy_reference(str(path)):
        where = str(path).strip()
        text, version = resolve_policy_reference(where)
        return Policy(parse_policy(text, where), version, where)
    config, version = read_policy(path)
    return Policy(config, version, str(path))
