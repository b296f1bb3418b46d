"""The pipeline JSON Schema, built from the registered step types' parameter models, and validation of a
parsed YAML document against it with errors that point at the YAML line.

The published copy is `fmops/pipelines/pipeline.schema.json` (editors and CI can use it); it is the schema
of the built-in steps, and a test keeps it equal to what `pipeline_schema()` builds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml

from fmops.core.errors import BadInputError
from fmops.pipelines._spec import STEP_ID, WHOLE_REFERENCE, yaml_line
from fmops.pipelines._step import STEPS

PUBLISHED_SCHEMA = Path(__file__).with_name("pipeline.schema.json")
SCHEMA_ID = "https://fmops.dev/schemas/pipeline.schema.json"


def pipeline_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a pipeline file with every registered step type."""
    defs: dict[str, Any] = {}
    branches = []
    for name in STEPS.names():
        params = STEPS.get(name).Params.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(params.pop("$defs", {}))
        branches.append(
            {
                "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                "then": {"properties": {"with": _allow_references(params)}},
            }
        )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "fmops pipeline",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "steps"],
        "properties": {
            "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9._-]*$"},
            "description": {"type": "string"},
            "params": {"type": "object", "description": "Values steps read as ${params.NAME}."},
            "steps": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["id", "type"],
                    "properties": {
                        "id": {"type": "string", "pattern": STEP_ID},
                        "type": {"enum": STEPS.names()},
                        "description": {"type": "string"},
                        "needs": {"type": "array", "items": {"type": "string"}},
                        "with": {"type": "object"},
                    },
                    "allOf": branches,
                },
            },
        },
        "$defs": {name: _allow_references(d) for name, d in sorted(defs.items())},
    }


def _allow_references(schema: dict[str, Any]) -> dict[str, Any]:
    """Let every typed property also take a whole `${...}` reference (resolved and re-checked at run time)."""
    out = copy.deepcopy(schema)
    for name, prop in out.get("properties", {}).items():
        if prop.get("type") == "string" or prop.get("const") is not None:
            continue
        out["properties"][name] = {"anyOf": [prop, {"type": "string", "pattern": WHOLE_REFERENCE}]}
    return out


def write_published_schema(path: Path = PUBLISHED_SCHEMA) -> Path:
    path.write_text(json.dumps(pipeline_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def validate_document(data: Any, file: Path, root: yaml.Node | None) -> None:
    """Raise BadInputError naming `file:LINE`, the field and what was expected, for the first problem."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match, relevance

    validator = Draft202012Validator(pipeline_schema())
    # "or a ${...} reference" is only the fallback branch: report what the typed branch expected.
    error = best_match(validator.iter_errors(data), key=lambda e: (_reference_branch(e), *relevance(e)))
    if error is None:
        return
    path = list(error.absolute_path)
    where = ".".join(str(p) for p in path) or "(top level)"
    line = yaml_line(root, path)
    raise BadInputError(f"{file}:{line}: {where}: {_message(error)}")


def _reference_branch(error: Any) -> bool:
    return error.validator == "pattern" and error.validator_value == WHOLE_REFERENCE


def _message(error: Any) -> str:
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        return f"{error.message}; allowed: {', '.join(allowed)}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}"
    return error.message
