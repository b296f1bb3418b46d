"""The shipped example pipelines are valid, and their parameter overrides are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.pipelines import load_pipeline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "pipelines"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_pipelines_are_valid(path: Path) -> None:
    pipeline = load_pipeline(path)
    assert pipeline.order()


def test_the_release_loop_has_every_stage_in_order() -> None:
    pipeline = load_pipeline(EXAMPLES / "release.yaml")
    types = [pipeline.step(i).type for i in pipeline.order()]
    assert types == [
        "compare",
        "select",
        "evaluate",
        "finetune",
        "evaluate",
        "condition",
        "register",
        "approve",
        "promote",
        "deploy",
    ]
    assert (EXAMPLES / pipeline.params["train"]).is_file()
    worse = load_pipeline(EXAMPLES / "release.yaml", {"train": "data/newdomain_train_shuffled.jsonl"})
    assert (EXAMPLES / worse.params["train"]).is_file()
    assert load_pipeline(EXAMPLES / "release.yaml", {"eval_records": "8"}).params["eval_records"] == 8
    with pytest.raises(BadInputError, match="--set epochs: not a parameter of this pipeline"):
        load_pipeline(EXAMPLES / "release.yaml", {"epochs": "3"})
