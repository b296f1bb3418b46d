"""Compare policies like models: every policy on the same labelled texts, paired differences and tests.

Each policy's figures per category, per entity type and micro-averaged over all of them come from the
same scoring as `fmops guard eval` (Wilson intervals; a bootstrap over texts for F1). For each pair the
differences are paired: the same units are scored under both policies and a paired test says whether a
difference is beyond the noise (p < 0.05). The test is passed in (`paired_test=`): the one fmops uses,
`fmops.evaluation.statistics.paired_test` (a sign-flip permutation test with a bootstrap interval), lives
a layer above guardrails (evaluation imports guardrails), so guardrails cannot import it. The units: recall — each positive (a text labelled with the category, or a
listed entity value); FPR — each negative text; correctness — each text (right when the policy caught what
the labels say and nothing else). Micro-averaged recall and FPR pool the units of every category and
entity type; a text is micro-correct when it is right on all of them.
F1 and precision are ratios, not means of units: their differences are reported without a test.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from fmops.core.errors import BadInputError
from fmops.guardrails._apply import Policy, load_policy
from fmops.guardrails._content import shipped_file
from fmops.guardrails._eval import (
    Interval,
    LabelledText,
    Score,
    _f1_interval,
    _overlaps,
    _score,
    caught_categories,
    found_entities,
    read_dataset,
    wilson,
)
from fmops.guardrails._policy import read_policy

MICRO = "micro"
_SHIPPED_SETS = {
    "content": "content_eval.jsonl",
    "pii": "pii_eval.jsonl",
    "grounding": "grounding_eval.jsonl",
}
ALPHA = 0.05


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyInfo(_Frozen):
    path: str
    name: str
    version: str


class Difference(_Frozen):
    """Policy a minus policy b on the same units, with a 95% bootstrap interval and a permutation p."""

    difference: float
    low: float | None
    high: float | None
    p_value: float
    units: int
    beyond_noise: bool


class PairDifference(_Frozen):
    """One category (or entity type, or `micro`) compared between two policies."""

    name: str
    a: str  # a policy's path, as in `policies`
    b: str
    precision: float | None  # point difference only
    f1: float | None
    recall: Difference | None  # None when the set has no positives (or no negatives, for fpr)
    fpr: Difference | None
    correctness: Difference
    beyond_noise: bool


class PolicyComparison(_Frozen):
    """`fmops guard compare`'s result (also written as JSON with --output DIR)."""

    dataset: str
    records: int
    alpha: float
    policies: list[PolicyInfo]
    scores: dict[str, list[Score]]  # policy path -> its scores, the micro average last
    differences: list[PairDifference]


class PairedResult(Protocol):
    @property
    def difference(self) -> float: ...
    @property
    def ci_low(self) -> float | None: ...
    @property
    def ci_high(self) -> float | None: ...
    @property
    def p_value(self) -> float: ...
    @property
    def n(self) -> int: ...


#: `fmops.evaluation.statistics.paired_test`'s shape: (a's 0/1 outcomes, b's) -> a minus b, interval, p.
PairedTest = Callable[[Sequence[float], Sequence[float]], PairedResult]


class _Units:
    """0/1 outcomes of one category or entity type under one policy (aligned across policies)."""

    def __init__(self) -> None:
        self.hits: list[float] = []  # one per positive unit
        self.false_alarms: list[float] = []  # one per negative text
        self.correct: list[float] = []  # one per text
        self.tp: list[int] = []
        self.fp: list[int] = []
        self.fn: list[int] = []


def _outcomes(
    names: list[tuple[str, str]], records: list[LabelledText], caught: list[set[str]], found: list[list]
) -> tuple[dict[str, _Units], list[Score]]:
    units: dict[str, _Units] = {}
    scores = []
    for name, kind in names:
        u = units[name] = _Units()
        gold_any, pred_any = [], []
        for record, hit, finds in zip(records, caught, found, strict=True):
            if kind == "category":
                gold_values = [name] if name in record.labels else []
                predicted = [name] if name in hit else []
            else:
                gold_values = [e.text for e in record.entities if e.type == name]
                predicted = [m for t, m in finds if t == name]
            matched = [any(_overlaps(g, p) for p in predicted) for g in gold_values]
            extra = sum(not any(_overlaps(g, p) for g in gold_values) for p in predicted)
            u.hits += [float(m) for m in matched]
            if not gold_values:
                u.false_alarms.append(float(bool(predicted)))
            u.correct.append(float(all(matched) and extra == 0))
            u.tp.append(sum(matched))
            u.fn.append(len(matched) - sum(matched))
            u.fp.append(extra)
            gold_any.append(bool(gold_values))
            pred_any.append(bool(predicted))
        gold = np.array(gold_any, dtype=bool)
        scores.append(
            _score(name, kind, gold, np.array(pred_any, dtype=bool), *map(np.array, (u.tp, u.fp, u.fn)))
        )
    micro = _Units()
    for u in units.values():
        micro.hits += u.hits
        micro.false_alarms += u.false_alarms
    if units:
        per_text = np.array([u.correct for u in units.values()])
        micro.correct = [float(c) for c in per_text.all(axis=0)]
        tp, fp, fn = (
            np.array([getattr(u, f) for u in units.values()]).sum(axis=0) for f in ("tp", "fp", "fn")
        )
        scores.append(
            Score(
                name=MICRO,
                kind=MICRO,
                support=int(tp.sum() + fn.sum()),
                tp=int(tp.sum()),
                fp=int(fp.sum()),
                fn=int(fn.sum()),
                precision=wilson(int(tp.sum()), int(tp.sum() + fp.sum())),
                recall=wilson(int(tp.sum()), int(tp.sum() + fn.sum())),
                f1=_f1_interval(tp, fp, fn),
                fpr=wilson(int(sum(micro.false_alarms)), len(micro.false_alarms)),
            )
        )
    units[MICRO] = micro
    return units, scores


def _difference(paired_test: PairedTest, a: list[float], b: list[float]) -> Difference | None:
    if not a:
        return None
    test = paired_test(a, b)
    rounded = (None if v is None else round(v, 4) for v in (test.ci_low, test.ci_high))
    return Difference(
        difference=round(test.difference, 4),
        low=next(rounded),
        high=next(rounded),
        p_value=round(test.p_value, 4),
        units=test.n,
        beyond_noise=test.p_value < ALPHA,
    )


def _point(a: Interval, b: Interval) -> float | None:
    return None if a.value is None or b.value is None else round(a.value - b.value, 4)


def compare_policies(
    paths: list[str | Path],
    dataset: list[LabelledText] | str | Path,
    *,
    paired_test: PairedTest,
    dataset_name: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> PolicyComparison:
    """Apply every policy in `paths` to every text of `dataset` (labelled texts, a JSON Lines file, or a
    shipped set: "content", "pii") and compare them pairwise with `paired_test` (give
    `fmops.evaluation.statistics.paired_test`)."""
    if not isinstance(dataset, list):
        file = shipped_file(_SHIPPED_SETS[dataset]) if dataset in _SHIPPED_SETS else Path(dataset)
        dataset, dataset_name = read_dataset(file), dataset_name or str(file)
    if len(paths) < 2:
        raise BadInputError("give at least two policies to compare")
    if len({str(p) for p in paths}) != len(paths):
        raise BadInputError("a policy is listed twice: give each file once")
    policies: list[Policy] = [load_policy(p) for p in paths]
    total = len(policies) * len(dataset)
    caught: list[list[set[str]]] = []
    found: list[list[list]] = []
    for i, policy in enumerate(policies):
        caught.append([])
        found.append([])
        for j, record in enumerate(dataset):
            response = policy.apply(
                record.text, record.source, grounding_source=record.grounding_source, query=record.query
            ).response()
            caught[-1].append(caught_categories(response))
            found[-1].append(found_entities(response))
            if on_progress:
                on_progress(i * len(dataset) + j + 1, total)
    # Every policy is scored on the union of names, so a category one policy lacks counts as all misses.
    categories = {c for r in dataset for c in r.labels} | {c for run in caught for hit in run for c in hit}
    types = {e.type for r in dataset for e in r.entities}
    types |= {t for run in found for finds in run for t, _ in finds}
    names = [(c, "category") for c in sorted(categories)] + [(t, "entity") for t in sorted(types)]
    keys = [str(p) for p in paths]
    outcomes = {key: _outcomes(names, dataset, caught[i], found[i]) for i, key in enumerate(keys)}
    differences = []
    for a, b in itertools.combinations(keys, 2):
        units_a, scores_a = outcomes[a]
        units_b, scores_b = outcomes[b]
        for score_a, score_b in zip(scores_a, scores_b, strict=True):
            ua, ub = units_a[score_a.name], units_b[score_b.name]
            recall = _difference(paired_test, ua.hits, ub.hits)
            fpr = _difference(paired_test, ua.false_alarms, ub.false_alarms)
            correctness = _difference(paired_test, ua.correct, ub.correct)
            assert correctness is not None  # the dataset is never empty
            differences.append(
                PairDifference(
                    name=score_a.name,
                    a=a,
                    b=b,
                    precision=_point(score_a.precision, score_b.precision),
                    f1=_point(score_a.f1, score_b.f1),
                    recall=recall,
                    fpr=fpr,
                    correctness=correctness,
                    beyond_noise=any(d is not None and d.beyond_noise for d in (recall, fpr, correctness)),
                )
            )
    return PolicyComparison(
        dataset=dataset_name or "dataset",
        records=len(dataset),
        alpha=ALPHA,
        policies=[
            PolicyInfo(path=k, name=p.name, version=p.version) for k, p in zip(keys, policies, strict=True)
        ],
        scores={key: outcomes[key][1] for key in keys},
        differences=differences,
    )


def policy_evidence(comparison: PolicyComparison, path: str | Path) -> dict[str, object]:
    """What `comparison` says about the policy file at `path` (found by its file, else by its name and
    version): its micro figures and, per other policy, the names that differ beyond the noise. The
    registry keeps this as a policy version's evidence (`fmops.registry.PolicyEvidence`)."""
    config, version = read_policy(path)
    same_file = [p for p in comparison.policies if _same_file(p.path, str(path))]
    same_version = [p for p in comparison.policies if (p.name, p.version) == (config.name, version)]
    found = same_file or same_version
    if len(found) != 1:
        compared = ", ".join(f"{p.name} {p.version} ({p.path})" for p in comparison.policies)
        why = "is not among" if not found else "matches more than one of"
        raise BadInputError(
            f"policy {config.name} {version} ({path}) {why} the compared policies: {compared}"
        )
    key = found[0].path
    micro = comparison.scores[key][-1]
    beyond: dict[str, list[str]] = {}
    for d in comparison.differences:
        if key in (d.a, d.b):
            other = d.b if d.a == key else d.a
            names = beyond.setdefault(other, [])
            if d.beyond_noise:
                names.append(d.name)
    return {
        "dataset": comparison.dataset,
        "records": comparison.records,
        "micro": {
            "precision": micro.precision.value,
            "recall": micro.recall.value,
            "f1": micro.f1.value,
            "fpr": micro.fpr.value,
        },
        "beyond_noise": beyond,
    }


def _same_file(a: str, b: str) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve() and Path(a).is_file()
    except OSError:
        return False


POLICY_COMPARISON_FILE = "policy_comparison.json"


def write_policy_comparison(comparison: PolicyComparison, directory: str | Path) -> Path:
    file = Path(directory) / POLICY_COMPARISON_FILE
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(json.dumps(comparison.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return file


def read_policy_comparison(path: str | Path) -> PolicyComparison:
    file = Path(path)
    if file.is_dir():
        file = file / POLICY_COMPARISON_FILE
    try:
        return PolicyComparison.model_validate_json(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInputError(f"{file}: cannot read the policy comparison ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise BadInputError(f"{file}: not a policy comparison ({str(exc).splitlines()[0]})") from None
