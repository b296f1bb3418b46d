"""The prompt catalog: immutable versions with aliases, and `prompt:NAME@ALIAS` wherever a template goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.core.errors import BadInputError
from fmops.evaluation.prompts import PromptTemplate
from fmops.evaluation.run import evaluate
from fmops.registry import prompt_catalog, register_prompt


def _dataset(tmp_path: Path) -> Path:
    rows = [
        {"question": "Capital of France?", "answer": "Paris"},
        {"question": "Capital of Italy?", "answer": "Rome"},
        {"question": "Capital of Spain?", "answer": "Madrid"},
    ]
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_versions_are_immutable_and_aliases_move() -> None:
    first = register_prompt("qa", "Q: $model_input", parameters={"max_tokens": 8}, owner="ana", tags=["qa"])
    second = register_prompt("qa", "Question: $model_input\nAnswer:", notes="clearer")
    catalog = prompt_catalog()
    catalog.promote("qa", 1, "production")
    assert PromptTemplate("prompt:qa@production").text == "Q: $model_input"
    catalog.promote("qa", 2, "production")
    assert PromptTemplate("prompt:qa@production").text == "Question: $model_input\nAnswer:"
    assert PromptTemplate("prompt:qa/1").text == "Q: $model_input"
    assert PromptTemplate("prompt:qa").text == second.prompt_spec().template  # the latest
    assert catalog.get("qa", 1).prompt_spec().parameters == {"max_tokens": 8}
    assert catalog.get("qa", 1).payload == first.payload  # a new version never changes an old one
    catalog.rollback("qa", "production")
    assert PromptTemplate("prompt:qa@production").reference == "prompt:qa@production"
    assert PromptTemplate("prompt:qa@production").text == "Q: $model_input"


def test_templates_are_checked_and_unknown_references_fail_clearly() -> None:
    with pytest.raises(BadInputError, match="placeholders"):
        register_prompt("qa", "no placeholder here")
    with pytest.raises(BadInputError, match="no registered prompt named 'nope'"):
        PromptTemplate("prompt:nope@production")


def test_a_prompt_version_is_evaluated_like_any_template(tmp_path: Path) -> None:
    data = _dataset(tmp_path)
    register_prompt("capitals", "$model_input")
    register_prompt("capitals", "$model_input The answer is $target_output")
    prompt_catalog().promote("capitals", 2, "staging")
    scores = {}
    for ref in ("prompt:capitals/1", "prompt:capitals@staging"):
        run = evaluate(
            "factual_knowledge",
            model="echo/parrot",
            dataset=data,
            locations={"model_input": "question", "target_output": "answer"},
            prompt_template=ref,
            num_records="all",
            generate_config={"max_tokens": 16},
        )
        scores[ref] = run.output.dataset_scores[0].value
        assert run.output.prompt_template == PromptTemplate(ref).text
    # The echo model repeats its prompt: only version 2 puts the answer in it.
    assert scores == {"prompt:capitals/1": 0.0, "prompt:capitals@staging": 1.0}


def test_prompts_cli() -> None:
    runner = CliRunner()
    out = runner.invoke(
        app, ["prompts", "register", "qa", "--template", "Q: $model_input", "-P", "max_tokens=8"]
    )
    assert out.exit_code == 0 and out.stdout.strip() == "1"
    assert runner.invoke(app, ["prompts", "promote", "qa", "1", "--alias", "production"]).exit_code == 0
    shown = runner.invoke(app, ["prompts", "show", "qa@production"])
    assert "template: Q: $model_input" in shown.stdout and "max_tokens" in shown.stdout
    listed = runner.invoke(app, ["prompts", "list", "--format", "json"])
    assert json.loads(listed.stdout)[0]["aliases"] == {"production": 1}
    bad = runner.invoke(app, ["prompts", "register", "qa", "--template", "static"])
    assert bad.exit_code == 2 and "placeholders" in bad.output
