"""A fine-tuned model against its base: the same suite on the same records (the compare engine), and one
line per evaluation saying what changed: "new domain facts 0.02 -> 0.93 (+0.91, p<0.001)".

`fmops finetune` (and `run_finetune`) call it after training through customization's evaluator extension
point (`FINETUNE_EVALUATORS`, entry point `against-base`): it lives here, above the engines it compares.

The default suite is the job's own eval split (factual knowledge: does the answer appear in the output)
plus a general suite that shows forgetting: the invented world's held-in facts and review classification
for zoo bases, real-world facts (capitals) for pretrained ones. A user suite (`suite:`) replaces it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fmops.comparison._engine import compare
from fmops.comparison._suite import Suite, SuiteEvaluation
from fmops.customization import BaseInfo, FinetuneJob, TrainingData, read_training_data

#: Real-world facts a small pretrained model knows; what must survive a fine-tune on invented ones.
GENERAL_FACTS = [
    ("The capital of France is", "Paris"),
    ("The capital of Japan is", "Tokyo"),
    ("The capital of Italy is", "Rome"),
    ("The capital of Germany is", "Berlin"),
    ("The capital of Spain is", "Madrid"),
    ("The capital of England is", "London"),
    ("The capital of Russia is", "Moscow"),
    ("The capital of China is", "Beijing"),
    ("The capital of Egypt is", "Cairo"),
    ("The capital of Greece is", "Athens"),
    ("The capital of Portugal is", "Lisbon"),
    ("The capital of Austria is", "Vienna"),
    ("The capital of Ireland is", "Dublin"),
    ("The capital of Norway is", "Oslo"),
    ("The capital of Sweden is", "Stockholm"),
    ("The capital of Poland is", "Warsaw"),
    ("The capital of Thailand is", "Bangkok"),
    ("The capital of Kenya is", "Nairobi"),
    ("The capital of Argentina is", "Buenos Aires"),
    ("The capital of Peru is", "Lima"),
]
_EVAL_SAMPLE = 200
_MAIN_SCORE = {"classification_accuracy": "classification_accuracy_score"}


def evaluate_against_base(
    job: FinetuneJob, base: BaseInfo, out: Path, say: Callable[[str], None]
) -> tuple[Path, list[str]]:
    """Compare `job`'s new model with its base; (comparison.json path, summary lines)."""
    out.mkdir(parents=True, exist_ok=True)
    suite = Suite.from_file(job.suite) if job.suite else default_suite(job, base, out / "data")
    new = job.model_spec
    say(f"evaluating {new} against {base.spec} ({len(suite.evaluations)} evaluations)")
    comparison = compare(
        suite, [base.spec, new], out, num_records=job.eval_records, on_event=lambda m: say(f"  {m}")
    )
    lines = summary_lines(comparison, base.spec, new)
    (out / "summary.txt").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    for line in lines:
        say(line)
    return out / "comparison.json", lines


def default_suite(job: FinetuneJob, base: BaseInfo, data_dir: Path) -> Suite:
    data_dir.mkdir(parents=True, exist_ok=True)
    evaluations = []
    source = job.eval_data or job.data
    split = read_training_data(source, job.data_format, template=job.template)
    if split.kind != "text":
        label = _label(Path(source)) if job.eval_data else "training data"
        path = data_dir / "task.jsonl"
        _write_task(split, path)
        evaluations.append(_facts(path, label))
    if base.family == "zoo":
        evaluations.append(
            SuiteEvaluation(algorithm="factual_knowledge", dataset="world_trex", id="held-in facts")
        )
        evaluations.append(
            SuiteEvaluation(algorithm="classification_accuracy", dataset="world_reviews", id="classification")
        )
    else:
        path = data_dir / "general_facts.jsonl"
        path.write_text(
            "".join(json.dumps({"model_input": p, "target_output": a}) + "\n" for p, a in GENERAL_FACTS),
            encoding="utf-8",
        )
        evaluations.append(_facts(path, "general facts"))
    return Suite(
        name=f"finetune-{job.output}", generate={"max_tokens": 16, "temperature": 0}, evaluations=evaluations
    )


def _facts(path: Path, label: str) -> SuiteEvaluation:
    return SuiteEvaluation(
        algorithm="factual_knowledge",
        dataset=str(path),
        locations={"model_input": "model_input", "target_output": "target_output"},
        prompt_template="$model_input",
        id=label,
    )


def _label(path: Path) -> str:
    stem = re.sub(r"\.(jsonl|json)$", "", path.name)
    return re.sub(r"[_-]+", " ", stem).strip() or "eval split"


def _write_task(split: TrainingData, path: Path) -> None:
    """Prompt and expected answer per record: the answer is the completion without trailing punctuation."""
    rows = []
    for record in split.records[:_EVAL_SAMPLE]:
        if "messages" in record:
            prompt = next(
                (m["content"] for m in reversed(record["messages"][:-1]) if m["role"] == "user"), ""
            )
            answer = record["messages"][-1]["content"]
        else:
            prompt, answer = record["prompt"], record["completion"]
        answer = answer.strip().rstrip(".!?").strip()
        if prompt.strip() and answer:
            rows.append({"model_input": prompt, "target_output": answer})
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def summary_lines(comparison: Any, base: str, new: str) -> list[str]:
    """One line per evaluation: base score -> new score (difference, p-value or 'within noise')."""
    values = {(s.model, s.evaluation, s.score): s.value for s in comparison.scores if s.value is not None}
    lines = []
    for evaluation in comparison.suite.evaluations:
        score = _MAIN_SCORE.get(evaluation.algorithm or "", evaluation.algorithm or "")
        before, after = values.get((base, evaluation.id, score)), values.get((new, evaluation.id, score))
        if before is None or after is None:
            continue
        test = next(
            (c for c in comparison.comparisons if c.evaluation == evaluation.id and c.score == score), None
        )
        if test is None or not test.significant:
            verdict = "within noise"
        else:
            verdict = "p<0.001" if (test.p_value or 0) < 0.001 else f"p={test.p_value:.3f}"
        lines.append(f"{evaluation.id} {before:.2f} -> {after:.2f} ({after - before:+.2f}, {verdict})")
    return lines
