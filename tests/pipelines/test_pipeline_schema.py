"""Pipeline files: the published JSON Schema, and errors that name the YAML line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.core.errors import BadInputError
from fmops.pipelines import load_pipeline, pipeline_schema
from fmops.pipelines._schema import PUBLISHED_SCHEMA

GOOD = """\
name: demo
params:
  dataset: qa.jsonl
steps:
  - id: base
    type: evaluate
    with:
      model: echo/base
      dataset: ${params.dataset}
  - id: gate
    type: condition
    with:
      candidate: ${steps.base.outputs.run}
      baseline: ${steps.base.outputs.run}
      min_records: ${params.dataset}
      rules: [{metric: factual_knowledge}]
  - id: register
    type: register
    needs: [gate]
    with: {name: qa, model: echo/base}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_the_published_schema_is_the_one_the_steps_define() -> None:
    assert json.loads(PUBLISHED_SCHEMA.read_text()) == json.loads(
        json.dumps(pipeline_schema(), sort_keys=True)
    )


def test_a_valid_pipeline_loads_in_dependency_order(tmp_path: Path) -> None:
    pipeline = load_pipeline(_write(tmp_path, GOOD))
    assert pipeline.order() == ["base", "gate", "register"]
    assert pipeline.step("gate").references() == {"base"}
    assert pipeline.downstream("base") == {"gate", "register"}


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    type: condition",
            "    type: conditon",
            r"pipeline.yaml:11: steps.1.type: 'conditon' is not one of",
        ),
        (
            "      model: echo/base\n",
            "      model: echo/base\n      modle: x\n",
            r"pipeline.yaml:8: steps.0.with:.*'modle'",
        ),
        (
            "      min_records: ${params.dataset}",
            "      min_records: many",
            r"pipeline.yaml:15: steps.1.with.min_records: 'many' is not of type 'integer'",
        ),
        (
            "      rules: [{metric: factual_knowledge}]",
            "      rules: [{metric: f, must: grow}]",
            r":16: steps.1.with.rules.0.must: 'grow' is not one of improve, not_worsen",
        ),
        ("  - id: register", "  - id: 9register", r":17: steps.2.id: '9register' does not match"),
        (
            "${steps.base.outputs.run}\n      baseline",
            "${steps.nope.outputs.run}\n      baseline",
            r":10: step 'gate' refers to unknown step 'nope'",
        ),
        (
            "${params.dataset}\n  - id: gate",
            "${params.data}\n  - id: gate",
            r":5: step 'base' uses undefined parameter\(s\) data",
        ),
        (
            "    needs: [gate]",
            "    needs: [gate, register]",
            r":17: step 'register' refers to its own outputs",
        ),
        (
            "name: demo",
            "nam: demo",
            r":1: \(top level\): .*'nam' was unexpected\); allowed: description, name",
        ),
    ],
)
def test_schema_errors_name_the_yaml_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    assert old in GOOD
    with pytest.raises(BadInputError, match=expected):
        load_pipeline(_write(tmp_path, GOOD.replace(old, new)))


def test_cycles_and_duplicate_ids_are_refused(tmp_path: Path) -> None:
    cyclic = GOOD.replace(
        "      model: echo/base\n      dataset", "      model: ${steps.gate.outputs.outcome}\n      dataset"
    )
    with pytest.raises(BadInputError, match="cycle"):
        load_pipeline(_write(tmp_path, cyclic))
    duplicate = GOOD.replace("  - id: register", "  - id: base")
    with pytest.raises(BadInputError, match=r":17: step id 'base' is used twice"):
        load_pipeline(_write(tmp_path, duplicate))
    with pytest.raises(BadInputError, match=r"pipeline.yaml:4: not valid YAML"):
        load_pipeline(_write(tmp_path, "name: x\nsteps:\n  - id: [unclosed\n"))


def test_validate_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["pipeline", "validate", str(_write(tmp_path, GOOD))])
    assert ok.exit_code == 0 and "base -> gate -> register" in ok.stdout
    bad = runner.invoke(
        app, ["pipeline", "validate", str(_write(tmp_path, GOOD.replace("type: condition", "type: x")))]
    )
    assert bad.exit_code == 2 and "pipeline.yaml:11:" in bad.output
