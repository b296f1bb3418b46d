"""LLM-as-judge: pointwise and pairwise verdicts, position swapping, judge failures kept apart."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest

from fmops.evaluation import evaluate
from fmops.models import Capabilities, GenerateRequest, ModelResult, register_provider
from fmops.models._api import ModelAPI


class ScriptedJudge(ModelAPI):
    """A judge whose verdict is decided by the prompt: it prefers responses containing 'Paris'.

    `-M biased=true` makes it always answer [[A]] (a position-biased judge); responses containing
    'refuse' get a refusal instead of a verdict.
    """

    provider: ClassVar[str] = "scripted"

    def __init__(self, model: str, **args: Any) -> None:
        super().__init__(model)
        self.biased = str(args.get("biased", "false")).lower() == "true"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(chat=True)

    def fingerprint_data(self) -> dict[str, Any]:
        return {"model": self.model, "biased": self.biased}

    async def generate(self, requests: Sequence[GenerateRequest]) -> list[ModelResult]:
        return [ModelResult(text=self._verdict(r.prompt or ""), finish_reason="stop") for r in requests]

    def _verdict(self, prompt: str) -> str:
        if "refuse" in prompt:
            return "I cannot help with judging this."
        if "[Response A]" in prompt:
            if self.biased:
                return "A reads better.\n[[A]]"
            a = re.search(r"\[Response A\]\n(.*?)\n\n\[Response B\]", prompt, re.S).group(1)
            b = re.search(r"\[Response B\]\n(.*?)\n\nWhich", prompt, re.S).group(1)
            if ("Paris" in a) == ("Paris" in b):
                return "Equally good.\n[[tie]]"
            return "Mentions Paris.\n[[A]]" if "Paris" in a else "Mentions Paris.\n[[B]]"
        response = prompt.split("[Response]\n", 1)[1]
        return "Correct.\nScore: 5" if "Paris" in response else "Wrong city.\nScore: 2"


register_provider("scripted", ScriptedJudge)


def _data(tmp_path: Path) -> Path:
    rows = [
        {"q": "Capital of France?", "ref": "Lyon", "out": "It is Paris."},
        {"q": "Capital of France?", "ref": "Paris", "out": "Marseille"},
        {"q": "Capital of France?", "ref": "Paris", "out": "Paris, of course"},
        {"q": "Capital of France?", "ref": "Paris", "out": "I refuse"},
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


LOC = {"model_input": "q", "model_output": "out", "target_output": "ref"}


def test_pointwise_scores_and_unparseable_verdicts_are_judge_failures(tmp_path: Path) -> None:
    run = evaluate(
        "judge",
        dataset=_data(tmp_path),
        locations=LOC,
        num_records="all",
        config={"judge_model": "scripted/j"},
        output=tmp_path / "run",
    )
    scores = [{s["name"]: s.get("value") for s in r["scores"]} for r in run.records]
    assert [s["judge_score"] for s in scores] == [5.0, 2.0, 5.0, None]
    assert scores[0]["judge_score_normalized"] == 1.0 and scores[1]["judge_score_normalized"] == 0.25
    refused = run.records[3]
    assert "judge: unparseable verdict" in refused["scores"][0]["error"]
    assert "error" not in refused  # the model under evaluation did not fail
    score = run.output.dataset_scores[0]
    assert score.value == pytest.approx(4.0) and score.num_errors == 1
    judge = run.manifest.datasets[0].judge
    assert (
        judge["model"] == "scripted/j"
        and judge["mode"] == "pointwise"
        and "Score: N" in judge["prompt_template"]
    )


def test_pairwise_swaps_positions_and_catches_a_biased_judge(tmp_path: Path) -> None:
    config = {"judge_model": "scripted/j", "mode": "pairwise"}
    run = evaluate("judge", dataset=_data(tmp_path), locations=LOC, num_records="all", config=config)
    wins = [{s["name"]: s.get("value") for s in r["scores"]} for r in run.records]
    assert [w["judge_win_rate"] for w in wins[:3]] == [1.0, 0.0, 0.5]
    assert all(w["judge_position_consistency"] == 1.0 for w in wins[:3])
    assert all(len(r["judge_verdicts"]) == 2 for r in run.records[:3])

    biased = evaluate(
        "judge",
        dataset=_data(tmp_path),
        locations=LOC,
        num_records="all",
        config={**config, "judge_model_args": ["biased=true"]},
    )
    values = {s.name: s.value for s in biased.output.dataset_scores}
    # Always "[[A]]": each answer wins once and loses once, so every verdict is inconsistent.
    assert values["judge_position_consistency"] == 0.0
    assert values["judge_win_rate"] == 0.5


def test_judge_on_a_model_under_evaluation(tmp_path: Path) -> None:
    run = evaluate(
        "judge",
        model="echo/m",
        dataset=_data(tmp_path),
        locations={"model_input": "q"},
        num_records="all",
        config={"judge_model": "scripted/j"},
    )
    # The echo model repeats the question, which never mentions Paris.
    assert [r["model_output"] for r in run.records] == ["Capital of France?"] * 4
    assert run.output.score("judge_score") == 2.0
    assert all(r["usage"]["calls"] == 1 and r["judge_usage"]["calls"] == 1 for r in run.records)
