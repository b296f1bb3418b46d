"""Pipeline files: YAML validated against the published JSON Schema, errors pointing at the YAML line.

    name: release-qa
    params: {dataset: data/qa.jsonl}
    steps:
      - id: base
        type: evaluate
        with: {model: zoo/tiny, dataset: "${params.dataset}"}
      - id: gate
        type: condition
        with: {candidate: "${steps.tuned.outputs.run}", baseline: "${steps.base.outputs.run}", ...}

A step runs after the steps it references (`${steps.X.outputs.Y}`) and those it `needs`.
"""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from fmops.core.errors import BadInputError

STEP_ID = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
#: `${steps.ID.outputs.NAME}` or `${params.NAME}`, anywhere in a string.
REFERENCE = re.compile(
    r"\$\{\s*(steps\.([A-Za-z_][A-Za-z0-9_-]*)\.outputs\.([A-Za-z0-9_-]+)|params\.([A-Za-z0-9_-]+))\s*\}"
)
#: A value that is one reference and nothing else (keeps the referenced value's type).
WHOLE_REFERENCE = (
    r"^\$\{\s*(steps\.[A-Za-z_][A-Za-z0-9_-]*\.outputs\.[A-Za-z0-9_-]+|params\.[A-Za-z0-9_-]+)\s*\}$"
)


class StepSpec(BaseModel):
    """One step as written: its id, type, parameters (`with`, references unresolved) and extra ordering."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str
    type: str
    params: dict[str, Any] = Field(default_factory=dict, alias="with")
    needs: list[str] = Field(default_factory=list)
    description: str | None = None
    line: int = Field(default=0, exclude=True)

    def references(self) -> set[str]:
        """Ids of the steps whose outputs this step reads."""
        return {m.group(2) for text in _strings(self.params) for m in REFERENCE.finditer(text) if m.group(2)}

    def upstream(self) -> set[str]:
        return self.references() | set(self.needs)


class PipelineSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    steps: list[StepSpec]
    #: The file it came from (relative paths in steps resolve against its folder).
    path: Path | None = Field(default=None, exclude=True)

    @property
    def base_dir(self) -> Path:
        return self.path.parent if self.path is not None else Path.cwd()

    def step(self, step_id: str) -> StepSpec:
        return next(s for s in self.steps if s.id == step_id)

    def order(self) -> list[str]:
        """Step ids in a topological order that keeps file order among independent steps."""
        graph = {s.id: s.upstream() for s in self.steps}
        position = {s.id: i for i, s in enumerate(self.steps)}
        sorter = TopologicalSorter(graph)
        sorter.prepare()
        order: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            for step_id in ready:
                order.append(step_id)
                sorter.done(step_id)
        return order

    def downstream(self, step_id: str) -> set[str]:
        """Every step that depends, directly or not, on `step_id`."""
        out: set[str] = set()
        frontier = {step_id}
        while frontier:
            frontier = {s.id for s in self.steps if s.upstream() & frontier} - out
            out |= frontier
        return out


def load_pipeline(path: str | Path, overrides: dict[str, str] | None = None) -> PipelineSpec:
    """Read and validate a pipeline file (schema, step types, references, cycles); errors name the line.

    `overrides` replace declared `params` (`--set KEY=VALUE`; values read as YAML scalars).
    """
    from fmops.pipelines._schema import validate_document

    file = Path(path)
    if not file.is_file():
        raise BadInputError(f"{file}: no such pipeline file")
    text = file.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise BadInputError(f"{file}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    validate_document(data, file, root)
    steps = [
        StepSpec.model_validate({**step, "line": yaml_line(root, ["steps", i])})
        for i, step in enumerate(data["steps"])
    ]
    pipeline = PipelineSpec(
        name=data["name"],
        description=data.get("description"),
        params=_override(data.get("params") or {}, overrides or {}, file),
        steps=steps,
        path=file.resolve(),
    )
    _check_graph(pipeline, file)
    return pipeline


def _override(params: dict[str, Any], overrides: dict[str, str], file: Path) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(params))
    if unknown:
        known = ", ".join(sorted(params)) or "none"
        raise BadInputError(f"{file}: --set {unknown[0]}: not a parameter of this pipeline (params: {known})")
    return {**params, **{k: yaml.safe_load(v) if v else v for k, v in overrides.items()}}


def _check_graph(pipeline: PipelineSpec, file: Path) -> None:
    ids = [s.id for s in pipeline.steps]
    for i, step in enumerate(pipeline.steps):
        if step.id in ids[:i]:
            raise BadInputError(f"{file}:{step.line}: step id {step.id!r} is used twice")
    for step in pipeline.steps:
        for ref in sorted(step.upstream()):
            if ref not in ids:
                raise BadInputError(f"{file}:{step.line}: step {step.id!r} refers to unknown step {ref!r}")
            if ref == step.id:
                raise BadInputError(f"{file}:{step.line}: step {step.id!r} refers to its own outputs")
        missing = {
            m.group(4) for text in _strings(step.params) for m in REFERENCE.finditer(text) if m.group(4)
        }
        missing -= set(pipeline.params)
        if missing:
            raise BadInputError(
                f"{file}:{step.line}: step {step.id!r} uses undefined parameter(s) {', '.join(sorted(missing))}"
            )
    try:
        TopologicalSorter({s.id: s.upstream() for s in pipeline.steps}).prepare()
    except CycleError as exc:
        cycle = " -> ".join(exc.args[1])
        raise BadInputError(f"{file}: steps depend on each other in a cycle: {cycle}") from None


def _strings(value: Any) -> list[str]:
    """Every string inside `value` (nested lists and mappings included)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def yaml_line(node: yaml.Node | None, path: list[Any]) -> int:
    """1-based line of the YAML node at `path` (the deepest node found along it; 0 without a node)."""
    line = node.start_mark.line + 1 if node is not None else 0
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line
