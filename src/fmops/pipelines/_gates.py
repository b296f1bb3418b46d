"""Noise-aware gates: candidate against baseline on the same records, with a paired test.

Each rule compares per-record scores of two evaluation runs, paired by record, in "goodness" (higher is
better; lower-is-better metrics such as toxicity are flipped). With d the mean paired goodness difference
and [lo, hi] its (1 - alpha) bootstrap interval:

- `improve` by more than `margin`: pass when lo > margin; fail when hi <= margin; otherwise inconclusive.
- `not_worsen` (lose no more than `margin`): pass when lo >= -margin; fail when hi < -margin; otherwise
  inconclusive.
- fewer than `min_records` pairs: inconclusive, whatever the means say.

The gate passes only when every rule passes; any fail makes it fail; inconclusive is never a pass.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from fmops.core.errors import BadInputError
from fmops.pipelines._step import GateOutcome

#: Scores where lower is better, unless a rule says otherwise.
LOWER_IS_BETTER = {
    "toxicity",
    "severe_toxicity",
    "obscene",
    "threat",
    "insult",
    "identity_attack",
    "sexual_explicit",
    "is_biased",
    "log_probability_difference",
}


class GateRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str = Field(
        description="A per-record score name, e.g. factual_knowledge, exact_match_score, toxicity."
    )
    must: Literal["improve", "not_worsen"] = "improve"
    margin: float = Field(
        default=0.0, ge=0, description="improve: by more than this; not_worsen: lose at most this."
    )
    higher_is_better: bool | None = Field(
        default=None, description="Default: by metric name (toxicity: lower)."
    )

    def direction(self) -> float:
        higher = self.higher_is_better
        if higher is None:
            higher = self.metric not in LOWER_IS_BETTER and not self.metric.startswith("delta_")
        return 1.0 if higher else -1.0


class RuleEvidence(BaseModel):
    """What one rule saw and decided."""

    metric: str
    must: str
    margin: float
    higher_is_better: bool
    n: int
    candidate_mean: float | None
    baseline_mean: float | None
    #: Mean paired goodness difference (candidate better > 0) and its interval.
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    outcome: GateOutcome
    reason: str


class GateEvidence(BaseModel):
    outcome: GateOutcome
    alpha: float
    min_records: int
    candidate: str
    baseline: str
    rules: list[RuleEvidence]


def evaluate_gate(
    candidate: Path, baseline: Path, rules: list[GateRule], *, alpha: float = 0.05, min_records: int = 30
) -> GateEvidence:
    """Judge `candidate` (an evaluation run folder) against `baseline` under `rules`."""
    cand, base = _record_scores(candidate), _record_scores(baseline)
    judged = [_judge(rule, cand, base, alpha, min_records) for rule in rules]
    outcomes = {r.outcome for r in judged}
    outcome: GateOutcome = (
        "fail" if "fail" in outcomes else "inconclusive" if "inconclusive" in outcomes else "pass"
    )
    return GateEvidence(
        outcome=outcome,
        alpha=alpha,
        min_records=min_records,
        candidate=str(candidate),
        baseline=str(baseline),
        rules=judged,
    )


def _judge(
    rule: GateRule,
    cand: dict[str, dict[tuple[str, int], float]],
    base: dict[str, dict[tuple[str, int], float]],
    alpha: float,
    min_records: int,
) -> RuleEvidence:
    from fmops.evaluation.statistics import bootstrap_ci, paired_test

    if rule.metric not in cand or rule.metric not in base:
        known = ", ".join(sorted(set(cand) & set(base))) or "none"
        raise BadInputError(
            f"gate rule metric {rule.metric!r} is not a score of both runs; both have: {known}"
        )
    keys = sorted(set(cand[rule.metric]) & set(base[rule.metric]))
    sign = rule.direction()
    c = [cand[rule.metric][k] for k in keys]
    b = [base[rule.metric][k] for k in keys]
    common = {
        "metric": rule.metric,
        "must": rule.must,
        "margin": rule.margin,
        "higher_is_better": sign > 0,
        "n": len(keys),
        "candidate_mean": sum(c) / len(c) if c else None,
        "baseline_mean": sum(b) / len(b) if b else None,
    }
    if len(keys) < max(min_records, 2):
        return RuleEvidence(
            **common,
            difference=None,
            ci_low=None,
            ci_high=None,
            p_value=None,
            outcome="inconclusive",
            reason=f"only {len(keys)} paired records; at least {min_records} are needed to tell",
        )
    goodness = [sign * (x - y) for x, y in zip(c, b, strict=True)]
    test = paired_test([sign * x for x in c], [sign * y for y in b])
    low, high = bootstrap_ci(goodness, confidence=1 - alpha) or (test.difference, test.difference)
    if rule.must == "improve":
        if low > rule.margin:
            outcome, why = (
                "pass",
                f"better by {test.difference:+.4f} (interval {low:+.4f}..{high:+.4f} > {rule.margin})",
            )
        elif high <= rule.margin:
            outcome, why = "fail", f"not better by more than {rule.margin} (interval {low:+.4f}..{high:+.4f})"
        else:
            outcome, why = (
                "inconclusive",
                f"difference {test.difference:+.4f} is within the noise ({low:+.4f}..{high:+.4f})",
            )
    elif low >= -rule.margin:
        outcome, why = "pass", f"loses at most {rule.margin} (interval {low:+.4f}..{high:+.4f})"
    elif high < -rule.margin:
        outcome, why = "fail", f"loses more than {rule.margin} (interval {low:+.4f}..{high:+.4f})"
    else:
        outcome, why = (
            "inconclusive",
            f"a loss of more than {rule.margin} is within the noise ({low:+.4f}..{high:+.4f})",
        )
    return RuleEvidence(
        **common,
        difference=test.difference,
        ci_low=low,
        ci_high=high,
        p_value=test.p_value,
        outcome=outcome,
        reason=why,
    )


def _record_scores(run_dir: Path) -> dict[str, dict[tuple[str, int], float]]:
    """score name -> (records file, dataset row) -> value, from an evaluation run folder."""
    from fmops.evaluation.output import read_run_records

    files = sorted((run_dir / "records").glob("*.jsonl")) if run_dir.is_dir() else []
    if not files:
        raise BadInputError(f"{run_dir}: not an evaluation run folder (no records/*.jsonl)")
    out: dict[str, dict[tuple[str, int], float]] = {}
    for file in files:
        for i, row in enumerate(read_run_records(file)):
            key = (file.name, int(row.get("row", i)))
            for score in row.get("scores", []):
                value = score.get("value")
                if isinstance(value, int | float):
                    out.setdefault(score["name"], {})[key] = float(value)
    return out
