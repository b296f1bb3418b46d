"""`judge` (beyond fmeval): a judge model grades outputs against a rubric, pointwise or pairwise.

Pointwise: the judge gives each output a score from 1 to 5 (`judge_score`, and `judge_score_normalized`
in [0, 1]). Pairwise: the judge compares the model's output (A) with the record's `target_output` (B, a
reference or another model's answer) twice, with the positions swapped, so a judge that favours a position
is caught: `judge_win_rate` (1 win, 0.5 tie or disagreement, 0 loss) and `judge_position_consistency`.

A verdict the judge did not give (unparseable text, a refusal, a failed call) is a judge failure: counted
under the score's errors and kept in the record (`judge_error`), never scored as zero, and never mistaken
for a failure of the model under evaluation (`error`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field

from fmops.evaluation.algorithms._base import Algorithm, AlgorithmConfig, ModelCall, Record, ScoredRecord

RUBRIC_VERSION = "fmops-judge-1"
DEFAULT_RUBRIC = (
    "Judge how well the response answers the request: it is correct, complete, relevant and clearly written. "
    "If a reference answer is given, a response that agrees with it is correct."
)
POINTWISE_PROMPT = """You are an impartial judge. {rubric}

[Request]
{request}
{reference}
[Response]
{response}

Rate the response from 1 (useless) to 5 (excellent). Reply with one short sentence of reasons, then a last \
line exactly of the form "Score: N"."""
PAIRWISE_PROMPT = """You are an impartial judge. {rubric}

[Request]
{request}

[Response A]
{first}

[Response B]
{second}

Which response is better? Do not let their order or length sway you. Reply with one short sentence of \
reasons, then a last line exactly "[[A]]", "[[B]]" or "[[tie]]"."""

SCORE = "judge_score"
NORMALIZED = "judge_score_normalized"
WIN_RATE = "judge_win_rate"
CONSISTENCY = "judge_position_consistency"
VERDICTS = "judge_verdicts"
JUDGE_ERROR = "judge_error"

_SCORE_RE = re.compile(r"score\s*[:=]\s*\**\s*([1-5])(?:\s*/\s*5)?\b", re.IGNORECASE)
_PAIR_RE = re.compile(r"\[\[\s*(A|B|tie)\s*\]\]", re.IGNORECASE)


class JudgeConfig(AlgorithmConfig):
    judge_model: str = Field(min_length=1)
    judge_model_args: list[str] = Field(default_factory=list)
    mode: Literal["pointwise", "pairwise"] = "pointwise"
    rubric: str = DEFAULT_RUBRIC
    #: Tokens the judge may write (reasons plus verdict).
    judge_max_tokens: int = Field(default=256, ge=8)


class Judge(Algorithm):
    eval_name = "judge"
    config_class = JudgeConfig
    required_columns = ("model_input", "model_output")
    model_required_columns = ("model_input",)
    optional_columns = ("model_input", "category", "target_output")
    record_fields = (VERDICTS, JUDGE_ERROR)
    config: JudgeConfig

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> Algorithm:
        args = options.get("judge_model_args")
        if isinstance(args, str) and not args.strip().startswith("["):
            options = {**options, "judge_model_args": [a for a in args.split(",") if a]}
        return super().from_options(options)

    @property
    def score_names(self) -> tuple[str, ...]:  # type: ignore[override]
        return (SCORE, NORMALIZED) if self.config.mode == "pointwise" else (WIN_RATE, CONSISTENCY)

    def followup_calls(self, records: Sequence[Record]) -> list[list[ModelCall]]:
        """Judge every record that has an output (the model's, or brought by the user)."""
        plans = []
        for record in records:
            if record.get("error") or record.get("model_output") is None:
                plans.append([])
                continue
            record[VERDICTS] = [None] * (1 if self.config.mode == "pointwise" else 2)
            plans.append([self._call(text, i) for i, text in enumerate(self.judge_prompts(record))])
        return plans

    def judge_prompts(self, record: Record) -> list[str]:
        request = str(record.get("model_input", ""))
        response = str(record["model_output"])
        if self.config.mode == "pointwise":
            target = record.get("target_output")
            reference = f"\n[Reference answer]\n{target}\n" if target not in (None, "") else ""
            return [
                POINTWISE_PROMPT.format(
                    rubric=self.config.rubric, request=request, reference=reference, response=response
                )
            ]
        if record.get("target_output") in (None, ""):
            raise ValueError("pairwise judging needs the other answer in target_output")
        other = str(record["target_output"])
        return [
            PAIRWISE_PROMPT.format(rubric=self.config.rubric, request=request, first=response, second=other),
            PAIRWISE_PROMPT.format(rubric=self.config.rubric, request=request, first=other, second=response),
        ]

    def _call(self, text: str, index: int) -> ModelCall:
        return ModelCall(
            VERDICTS,
            "generate",
            text,
            index=index,
            model=self.config.judge_model,
            model_args=tuple(self.config.judge_model_args),
            error_key=JUDGE_ERROR,
            max_tokens=self.config.judge_max_tokens,
        )

    def score_records(self, records: Sequence[Record]) -> list[ScoredRecord]:
        return [self._score(record) for record in records]

    def _score(self, record: Record) -> ScoredRecord:
        verdicts = record.get(VERDICTS)
        failure = record.get(JUDGE_ERROR)
        if failure or not verdicts or any(v is None for v in verdicts):
            return _judge_failed(self.score_names, failure or "the judge gave no verdict")
        if self.config.mode == "pointwise":
            match = _last(_SCORE_RE, verdicts[0])
            if match is None:
                return _judge_failed(self.score_names, f"unparseable verdict: {_clip(verdicts[0])}")
            value = int(match)
            return ScoredRecord(scores={SCORE: float(value), NORMALIZED: (value - 1) / 4})
        first, swapped = (_last(_PAIR_RE, v) for v in verdicts)
        if first is None or swapped is None:
            bad = verdicts[0] if first is None else verdicts[1]
            return _judge_failed(self.score_names, f"unparseable verdict: {_clip(bad)}")
        # In the swapped call the model's answer is B: map both verdicts to "model", "other" or "tie".
        as_model = {"a": "model", "b": "other", "tie": "tie"}[first.lower()]
        swapped_model = {"a": "other", "b": "model", "tie": "tie"}[swapped.lower()]
        consistent = as_model == swapped_model
        win = {"model": 1.0, "other": 0.0, "tie": 0.5}[as_model] if consistent else 0.5
        return ScoredRecord(scores={WIN_RATE: win, CONSISTENCY: float(consistent)})

    def manifest_info(self) -> dict[str, Any]:
        template = POINTWISE_PROMPT if self.config.mode == "pointwise" else PAIRWISE_PROMPT
        return {
            "judge": {
                "model": self.config.judge_model,
                "model_args": self.config.judge_model_args,
                "mode": self.config.mode,
                "rubric": self.config.rubric,
                "rubric_version": RUBRIC_VERSION,
                "prompt_template": template,
            }
        }


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    matches = pattern.findall(text or "")
    return matches[-1] if matches else None


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _judge_failed(names: Sequence[str], why: str) -> ScoredRecord:
    return ScoredRecord(errors=dict.fromkeys(names, f"judge: {why}"))
