"""Sensitive information: Microsoft Presidio's recognizers and validators, run offline, plus the ones it lacks.

Offline set-up (measured with presidio 2.2.366): the NLP engine is a blank spaCy English pipeline saved
once to FMOPS_HOME and named by path (Presidio's default model would be downloaded); tldextract, which
the email recognizer uses, is told to use the suffix list bundled in its package. A blank pipeline has no
named-entity recognizer, so NAME and ADDRESS work only when a spaCy pipeline with NER is installed as a
package (`en_core_web_sm` or larger): `ner_model()` says which, and the policy check says when none is.

Presidio lacks AWS keys: `AwsAccessKeyRecognizer` (the documented key-id prefixes) and
`AwsSecretKeyRecognizer` (40 base64 characters after a secret-key name, or beside a key id) are Presidio
custom recognizers. Scores below a type's threshold are dropped: at 0.5 Presidio's "very weak" candidates
(any 9-digit number as SSN, passport or bank number) go; phone numbers, which Presidio scores 0.4 without
context words (context needs a lemmatizer), are kept at 0.4.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from fmops.core.errors import MissingDependencyError
from fmops.core.settings import fmops_home

# Bedrock PII type -> (Presidio entity, minimum score).
PII_TYPES: dict[str, tuple[str, float]] = {
    "EMAIL": ("EMAIL_ADDRESS", 0.5),
    "PHONE": ("PHONE_NUMBER", 0.4),
    "CREDIT_DEBIT_CARD_NUMBER": ("CREDIT_CARD", 0.5),
    "US_SOCIAL_SECURITY_NUMBER": ("US_SSN", 0.5),
    "IP_ADDRESS": ("IP_ADDRESS", 0.5),
    "URL": ("URL", 0.5),
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER": ("IBAN_CODE", 0.5),
    "AWS_ACCESS_KEY": ("AWS_ACCESS_KEY", 0.5),
    "AWS_SECRET_KEY": ("AWS_SECRET_KEY", 0.5),
    "MAC_ADDRESS": ("MAC_ADDRESS", 0.5),
    "US_PASSPORT_NUMBER": ("US_PASSPORT", 0.5),
    "US_BANK_ACCOUNT_NUMBER": ("US_BANK_NUMBER", 0.5),
    "US_INDIVIDUAL_TAX_IDENTIFICATION_NUMBER": ("US_ITIN", 0.5),
    "DRIVER_ID": ("US_DRIVER_LICENSE", 0.5),
    "UK_NATIONAL_HEALTH_SERVICE_NUMBER": ("UK_NHS", 0.5),
    "NAME": ("PERSON", 0.5),
    "ADDRESS": ("LOCATION", 0.5),
}
# Phone numbers are parsed for these regions (each costs time; Presidio's default adds IL, CA (= US), BR).
PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN")
NER_TYPES = frozenset({"NAME", "ADDRESS"})
_NER_PACKAGES = ("en_core_web_trf", "en_core_web_lg", "en_core_web_md", "en_core_web_sm")
_FROM_PRESIDIO = {entity: bedrock for bedrock, (entity, _) in PII_TYPES.items()}


@dataclass(frozen=True)
class Finding:
    """One detected value: the Bedrock type (or regex name), its span and score."""

    type: str
    start: int
    end: int
    score: float


def ner_model() -> str | None:
    """The installed spaCy pipeline with NER that names and addresses use, or None."""
    return next((name for name in _NER_PACKAGES if importlib.util.find_spec(name) is not None), None)


def _recognizers() -> list[Any]:
    from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult

    access_key = PatternRecognizer(
        supported_entity="AWS_ACCESS_KEY",
        name="AwsAccessKeyRecognizer",
        patterns=[
            Pattern(
                "aws key id",
                r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA|ASCA)[A-Z0-9]{16}\b",
                0.9,
            )
        ],
    )

    class AwsSecretKeyRecognizer(EntityRecognizer):
        """40 base64 characters named as a secret key, or in a text that also holds a key id."""

        _named = re.compile(
            r"(?i:secret[_ ]?(?:access[_ ]?)?key|aws[_ ]?secret\w*|secret)[\"']?\s*[:=]?\s*[\"']?"
            r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        )
        _bare = re.compile(r"(?<![A-Za-z0-9/+])([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")
        _key_id = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")

        def __init__(self) -> None:
            super().__init__(supported_entities=["AWS_SECRET_KEY"], name="AwsSecretKeyRecognizer")

        def load(self) -> None:
            return None

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            found = {m.span(1): 0.85 for m in self._named.finditer(text)}
            if self._key_id.search(text):
                for m in self._bare.finditer(text):
                    value = m.group(1)
                    mixed = any(c.islower() for c in value) and any(c.isupper() for c in value)
                    if mixed and any(c.isdigit() for c in value):
                        found.setdefault(m.span(1), 0.6)
            return [RecognizerResult("AWS_SECRET_KEY", s, e, score) for (s, e), score in found.items()]

    return [access_key, AwsSecretKeyRecognizer()]


class PiiAnalyzer:
    """Presidio's analyzer with the offline NLP engine and fmops' extra recognizers; one per process."""

    def __init__(self) -> None:
        _offline_tldextract()  # before presidio imports tldextract, which reads these at import
        try:
            import spacy
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer.nlp_engine import NlpEngineProvider
            from presidio_analyzer.predefined_recognizers import PhoneRecognizer
        except ImportError:
            raise MissingDependencyError(
                "presidio-analyzer", "guardrails", "Sensitive-information filters"
            ) from None
        self.ner = ner_model()
        model = self.ner or str(_blank_pipeline(spacy))
        provider = NlpEngineProvider(
            nlp_configuration={
                "nlp_engine_name": "spacy",
                "models": [{"lang_code": "en", "model_name": model}],
            }
        )
        engine = provider.create_engine()
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.load_predefined_recognizers(nlp_engine=engine, languages=["en"])
        registry.remove_recognizer("PhoneRecognizer")
        for recognizer in [*_recognizers(), PhoneRecognizer(supported_regions=PHONE_REGIONS)]:
            registry.add_recognizer(recognizer)
        self._engine = AnalyzerEngine(
            nlp_engine=engine,
            registry=registry,
            supported_languages=["en"],
            # Context words need lemmas, which a blank pipeline lacks: skip the pass (a quarter of the time).
            context_aware_enhancer=None if self.ner else _no_context_enhancer(),
        )
        self._lock = threading.Lock()

    def analyze(self, text: str, types: list[str]) -> list[Finding]:
        """Findings of the Bedrock `types` in `text`, each at or above its type's minimum score."""
        wanted = [PII_TYPES[t][0] for t in types if t not in NER_TYPES or self.ner]
        if not wanted or not text:
            return []
        with self._lock:  # spaCy pipelines are not documented as thread-safe
            results = self._engine.analyze(text=text, entities=wanted, language="en")
        out = []
        for r in results:
            bedrock = _FROM_PRESIDIO.get(r.entity_type)
            if bedrock is not None and r.score >= PII_TYPES[bedrock][1]:
                end = r.end
                if bedrock == "URL":  # Presidio keeps a sentence's final period in the URL
                    while end > r.start and text[end - 1] in ".,;:!?)'\"":
                        end -= 1
                out.append(Finding(bedrock, r.start, end, float(r.score)))
        return out


def _no_context_enhancer() -> Any:
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer

    class NoContext(ContextAwareEnhancer):
        def __init__(self) -> None:
            super().__init__(
                context_similarity_factor=0,
                min_score_with_context_similarity=0,
                context_prefix_count=0,
                context_suffix_count=0,
            )

        def enhance_using_context(self, text: str, raw_results: list[Any], *args: Any, **kwargs: Any) -> Any:
            return raw_results

    return NoContext()


def _offline_tldextract() -> None:
    """tldextract (email recognizer) uses the suffix list bundled in its package, never the network."""
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    os.environ.setdefault("TLDEXTRACT_CACHE", str(fmops_home() / "cache" / "tldextract"))


def _blank_pipeline(spacy: Any) -> Any:
    """A blank English spaCy pipeline saved under FMOPS_HOME (tokenizer only: no download, no NER)."""
    folder = fmops_home() / "models" / "spacy-blank-en"
    if not (folder / "config.cfg").is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = folder.with_name(f"{folder.name}.{os.getpid()}.tmp")
        spacy.blank("en").to_disk(tmp)
        try:
            tmp.rename(folder)
        except OSError:  # another process saved it first
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    return folder


_ANALYZER: PiiAnalyzer | None = None
_LOAD_LOCK = threading.Lock()


def get_pii_analyzer() -> PiiAnalyzer:
    """The process-wide analyzer, built on first use."""
    global _ANALYZER
    if _ANALYZER is None:
        with _LOAD_LOCK:
            if _ANALYZER is None:
                _ANALYZER = PiiAnalyzer()
    return _ANALYZER
