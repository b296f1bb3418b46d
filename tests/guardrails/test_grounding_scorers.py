"""Contextual grounding scorers are pluggable (`GROUNDING_SCORERS`): lexical by default, an LLM judge
through any fmops model spec, or one a user registers."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fmops.core.errors import BadInputError, RunError
from fmops.guardrails import Policy, evaluate_policy, load_policy, read_dataset, shipped_file
from fmops.guardrails._detectors import GROUNDING_SCORERS, get_grounding_scorer
from fmops.models._providers.echo import word_logprob

from .conftest import SHIPPED_POLICY

SOURCE = "The Model X kettle holds 1.7 litres and has a two-year warranty."
FILTERS = {
    "filtersConfig": [{"type": "GROUNDING", "threshold": 0.5}, {"type": "RELEVANCE", "threshold": 0.5}]
}


def _policy(make_policy: Callable[..., Policy], name: str, **args: Any) -> Policy:
    return make_policy(
        contextualGroundingPolicyConfig=FILTERS, detectors={"grounding": {"name": name, "args": args}}
    )


def _scores(result: Any) -> dict[str, float]:
    filters = result.response()["assessments"][0]["contextualGroundingPolicy"]["filters"]
    return {f["type"]: f["score"] for f in filters}


def test_the_default_is_the_lexical_scorer(make_policy: Callable[..., Policy]) -> None:
    policy = make_policy(contextualGroundingPolicyConfig=FILTERS)
    assert policy._grounding is not None and policy._grounding.name == "lexical"
    assert (
        _scores(policy.apply("It holds 1.7 litres.", "OUTPUT", grounding_source=SOURCE))["GROUNDING"] == 1.0
    )


def test_a_judge_that_says_yes_or_no(make_policy: Callable[..., Policy]) -> None:
    yes = _policy(make_policy, "judge", model="echo/judge", method="generate", model_args={"prefix": "Yes "})
    result = yes.apply("It holds 3 litres.", "OUTPUT", grounding_source=SOURCE, query="How much?")
    assert result.action == "NONE" and _scores(result) == {"GROUNDING": 1.0, "RELEVANCE": 1.0}
    no = _policy(make_policy, "judge", model="echo/judge", method="generate", model_args={"prefix": "No. "})
    result = no.apply("It holds 3 litres.", "OUTPUT", grounding_source=SOURCE)
    assert result.blocked and _scores(result) == {"GROUNDING": 0.0}


def test_the_judge_by_log_probabilities_is_p_yes(make_policy: Callable[..., Policy]) -> None:
    # echo scores each word with a fixed made-up log-probability, so P(Yes) is known exactly
    expected = 1 / (1 + math.exp(word_logprob("No") - word_logprob("Yes")))
    judge = get_grounding_scorer("judge", {"model": "echo/judge"})
    assert judge.method == "logprob"  # auto: echo can score texts
    assert judge.grounding("It holds 3 litres.", SOURCE) == pytest.approx(expected)
    policy = _policy(make_policy, "judge", model="echo/judge")
    assert _scores(policy.apply("x", "OUTPUT", query="q"))["RELEVANCE"] == pytest.approx(expected, abs=1e-4)


def test_judge_errors_are_loud() -> None:
    with pytest.raises(BadInputError, match="method 'vibes'"):
        get_grounding_scorer("judge", {"model": "echo/judge", "method": "vibes"})
    unreadable = get_grounding_scorer("judge", {"model": "echo/judge", "method": "generate"})
    with pytest.raises(RunError, match="does not start with Yes or No"):
        unreadable.grounding("It holds 3 litres.", SOURCE)  # echo answers with the prompt itself


def test_a_registered_scorer_is_used(make_policy: Callable[..., Policy]) -> None:
    class Strict:
        name = "strict"

        def __init__(self, minimum: int) -> None:
            self.minimum = minimum

        def grounding(self, answer: str, source: str) -> float:
            return 1.0 if len(answer) >= self.minimum else 0.0

        def relevance(self, answer: str, query: str) -> float:
            return 1.0

    GROUNDING_SCORERS.register("strict-test", Strict)
    policy = _policy(make_policy, "strict-test", minimum=10)
    assert policy.apply("short", "OUTPUT", grounding_source=SOURCE).blocked
    assert not policy.apply("long enough answer", "OUTPUT", grounding_source=SOURCE).blocked


def test_an_unknown_scorer_names_the_known_ones(make_policy: Callable[..., Policy]) -> None:
    with pytest.raises(BadInputError, match="unknown grounding scorer 'vibes'; known: judge, lexical, nli"):
        _policy(make_policy, "vibes")
    with pytest.raises(BadInputError, match="grounding scorer 'nli': .*missing 1 required .* 'model'"):
        _policy(make_policy, "nli")


def test_lexical_figures_on_the_shipped_grounding_set_are_the_documented_ones() -> None:
    """docs/guardrails.md quotes these; paraphrases and one-word contradictions defeat word overlap."""
    records = read_dataset(shipped_file("grounding_eval.jsonl"))
    assert len(records) == 48
    policy = load_policy(SHIPPED_POLICY.parent / "grounding.yaml")
    scores = {s.name: s for s in evaluate_policy(policy, records).scores}
    grounding, relevance = scores["GROUNDING"], scores["RELEVANCE"]
    assert (grounding.support, grounding.tp, grounding.fp, grounding.fn) == (18, 6, 7, 12)
    assert (relevance.support, relevance.tp, relevance.fp) == (6, 0, 0)


def _tiny_nli(folder: Path, labels: dict[int, str]) -> Path:
    """A real (randomly initialised, seeded) BERT sequence classifier with NLI labels, saved as a local
    Hugging Face folder: what the scorer reads is the model's own output, not a stand-in."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    words = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "the",
        "kettle",
        "holds",
        "1.7",
        "litres",
        "and",
        "has",
        "a",
        "two-year",
        "warranty",
        "3",
        "it",
    ]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )
    torch.manual_seed(0)
    config = transformers.BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        initializer_range=1.0,  # large random weights: outputs far from uniform, so order shows
        id2label=labels,
        label2id={v: k for k, v in labels.items()},
    )
    transformers.BertForSequenceClassification(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def test_nli_scores_p_entailment_of_source_then_answer(
    tmp_path: Path, make_policy: Callable[..., Policy]
) -> None:
    folder = _tiny_nli(tmp_path / "nli", {0: "CONTRADICTION", 1: "ENTAILMENT", 2: "NEUTRAL"})
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
    tokenizer = AutoTokenizer.from_pretrained(folder)

    def p_entail(premise: str, hypothesis: str) -> float:
        with torch.inference_mode():
            logits = model(**tokenizer(premise, hypothesis, return_tensors="pt")).logits[0]
        return float(torch.softmax(logits, -1)[1])

    answer, source = "it holds 3 litres", "the kettle holds 1.7 litres and has a two-year warranty"
    scorer = get_grounding_scorer("nli", {"model": str(folder)})
    assert scorer.entailment == 1
    score = scorer.grounding(answer, source)
    assert score == pytest.approx(p_entail(source, answer), abs=1e-6)
    assert score != pytest.approx(p_entail(answer, source), abs=1e-3)  # the source is the premise
    strict = make_policy(
        contextualGroundingPolicyConfig={
            "filtersConfig": [{"type": "GROUNDING", "threshold": min(score + 0.01, 0.99)}]
        },
        detectors={"grounding": {"name": "nli", "args": {"model": str(folder)}}},
    )
    assert strict.apply(answer, "OUTPUT", grounding_source=source).blocked
    lenient = make_policy(
        contextualGroundingPolicyConfig={
            "filtersConfig": [{"type": "GROUNDING", "threshold": max(score - 0.01, 0.0)}]
        },
        detectors={"grounding": {"name": "nli", "args": {"model": str(folder)}}},
    )
    assert not lenient.apply(answer, "OUTPUT", grounding_source=source).blocked


def test_nli_needs_a_folder_with_an_entailment_label(tmp_path: Path) -> None:
    folder = _tiny_nli(tmp_path / "sentiment", {0: "NEGATIVE", 1: "POSITIVE"})
    with pytest.raises(BadInputError, match="do not name one entailment label"):
        get_grounding_scorer("nli", {"model": str(folder)})
    with pytest.raises(BadInputError, match="not a local Hugging Face model folder"):
        get_grounding_scorer("nli", {"model": str(tmp_path / "missing")})
