"""A pipeline gate on human review: a run passes when its reviewers' score reaches a threshold.

The `human_review` step type, registered through fmops' own `fmops.pipeline_steps` entry point
(`human_review = "fmops.web._gate:HumanReviewGate"` in pyproject.toml): pipelines sit below the console and
never import it. After changing its parameters, regenerate the published schema
(`fmops.pipelines._schema.write_published_schema()`; a test compares them):

    - id: people
      type: human_review
      with: {run: runs/candidate, queue: helpful, min_value: 0.7, min_answers: 20}
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fmops.pipelines import Step, StepContext, StepResult


class HumanReviewParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    run: str = Field(description="The evaluation run folder the review queue was built from.")
    queue: str = Field(description="The review queue's name.")
    min_value: float = Field(ge=0.0, le=1.0, description="Lowest passing score (ratings scaled to 0..1).")
    min_answers: int = Field(default=1, ge=1, description="Fewer answers than this: inconclusive.")
    store: str | None = Field(default=None, description="The fmops database (default: the usual one).")


class HumanReviewGate(Step):
    """Pass when the queue's human score reaches `min_value` on at least `min_answers` answers; fail below
    it; inconclusive with too few answers or no such queue."""

    Params = HumanReviewParams
    file_params = ("run",)

    def run(self, params: HumanReviewParams, ctx: StepContext) -> StepResult:
        score = self._score(params)
        if score is None:
            return StepResult(
                gate="inconclusive", summary=f"no review queue {params.queue!r} on {params.run}"
            )
        value, n = score["value"], score["n"]
        outputs = {"score": score["name"], "value": value, "answers": n}
        if value is None or n < params.min_answers:
            summary = f"{score['name']}: {n} answers, {params.min_answers} needed"
            return StepResult(outputs=outputs, gate="inconclusive", summary=summary)
        passed = value >= params.min_value
        summary = f"{score['name']} {value:.3f} {'≥' if passed else '<'} {params.min_value} ({n} answers)"
        return StepResult(outputs=outputs, gate="pass" if passed else "fail", summary=summary)

    def key_extras(self, params: HumanReviewParams) -> dict[str, Any]:
        # New answers change the outcome: they are part of what the step's result depends on.
        return {"score": self._score(params)}

    def reusable(self, result: StepResult) -> bool:
        return result.gate != "inconclusive"  # more answers may come

    @staticmethod
    def _score(params: HumanReviewParams) -> dict[str, Any] | None:
        from fmops.web import human_scores

        for score in human_scores(params.run, params.store):
            if score.name.split(":", 1)[1] == params.queue:
                return score.model_dump()
        return None
