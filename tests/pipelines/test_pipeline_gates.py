"""Noise-aware gates: every outcome (pass, fail, inconclusive for too few records or within the noise)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.pipelines import GateRule, evaluate_gate


def _run(folder: Path, values: dict[str, list[float]]) -> Path:
    rows = []
    n = len(next(iter(values.values())))
    for i in range(n):
        rows.append({"row": i, "scores": [{"name": name, "value": vals[i]} for name, vals in values.items()]})
    (folder / "records").mkdir(parents=True)
    (folder / "records" / "factual_knowledge_qa.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in rows)
    )
    return folder


def _bits(n: int, ones: int, seed: int) -> list[float]:
    values = [1.0] * ones + [0.0] * (n - ones)
    random.Random(seed).shuffle(values)
    return values


IMPROVE = [GateRule(metric="factual_knowledge", must="improve")]


def test_a_clear_improvement_passes(tmp_path: Path) -> None:
    base = _run(tmp_path / "base", {"factual_knowledge": _bits(60, 15, 1)})
    cand = _run(tmp_path / "cand", {"factual_knowledge": _bits(60, 50, 2)})
    evidence = evaluate_gate(cand, base, IMPROVE, min_records=30)
    assert evidence.outcome == "pass"
    rule = evidence.rules[0]
    assert (
        rule.n == 60 and rule.difference == pytest.approx(35 / 60) and rule.ci_low > 0 and rule.p_value < 0.05
    )


def test_a_worse_candidate_fails(tmp_path: Path) -> None:
    base = _run(tmp_path / "base", {"factual_knowledge": _bits(60, 50, 1)})
    cand = _run(tmp_path / "cand", {"factual_knowledge": _bits(60, 10, 2)})
    evidence = evaluate_gate(cand, base, IMPROVE, min_records=30)
    assert evidence.outcome == "fail" and evidence.rules[0].ci_high <= 0


def test_too_few_records_is_inconclusive_even_when_the_means_differ(tmp_path: Path) -> None:
    base = _run(tmp_path / "base", {"factual_knowledge": [0.0] * 8})
    cand = _run(tmp_path / "cand", {"factual_knowledge": [1.0] * 8})
    evidence = evaluate_gate(cand, base, IMPROVE, min_records=30)
    assert evidence.outcome == "inconclusive"
    assert "only 8 paired records" in evidence.rules[0].reason


def test_a_difference_within_the_noise_is_inconclusive_not_a_pass(tmp_path: Path) -> None:
    base = _run(tmp_path / "base", {"factual_knowledge": _bits(40, 20, 1)})
    cand = _run(tmp_path / "cand", {"factual_knowledge": _bits(40, 22, 2)})
    evidence = evaluate_gate(cand, base, IMPROVE, min_records=30)
    assert evidence.outcome == "inconclusive"
    rule = evidence.rules[0]
    assert rule.ci_low < 0 < rule.ci_high


def test_not_worsen_on_a_lower_is_better_metric(tmp_path: Path) -> None:
    base = _run(tmp_path / "base", {"factual_knowledge": _bits(60, 15, 1), "toxicity": [0.01] * 60})
    same = _run(tmp_path / "same", {"factual_knowledge": _bits(60, 50, 2), "toxicity": [0.011] * 60})
    toxic = _run(tmp_path / "toxic", {"factual_knowledge": _bits(60, 50, 2), "toxicity": [0.2] * 60})
    rules = [*IMPROVE, GateRule(metric="toxicity", must="not_worsen", margin=0.02)]
    assert evaluate_gate(same, base, rules).outcome == "pass"
    failed = evaluate_gate(toxic, base, rules)
    assert failed.outcome == "fail"
    assert [r.outcome for r in failed.rules] == ["pass", "fail"]
    assert failed.rules[1].higher_is_better is False


def test_an_unknown_metric_is_a_clear_error(tmp_path: Path) -> None:
    base = _run(tmp_path / "base", {"factual_knowledge": [0.0] * 5})
    with pytest.raises(
        BadInputError, match="'bleu' is not a score of both runs; both have: factual_knowledge"
    ):
        evaluate_gate(base, base, [GateRule(metric="bleu")])
