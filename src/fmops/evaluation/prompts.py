"""Prompt templates: fmeval's `$model_input` placeholder, plus any `$field` of the record."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from fmops.core.errors import BadInputError

DEFAULT_TEMPLATE = "$model_input"


class PromptTemplate:
    """A `string.Template` over a record's columns; unknown placeholders fail before any model call."""

    def __init__(self, template: str | None = None) -> None:
        #: `prompt:NAME@ALIAS` (or `prompt:NAME/VERSION`) when the template comes from the prompt catalog.
        self.reference: str | None = None
        if template is not None and template.strip().startswith("prompt:"):
            from fmops.registry import resolve_prompt_template

            self.reference = template.strip()
            template = resolve_prompt_template(self.reference)
        self.text = template if template is not None else DEFAULT_TEMPLATE
        self._template = string.Template(self.text)
        if not self._template.is_valid():
            raise BadInputError(
                f"prompt template {self.text!r}: invalid placeholder (use $name or ${{name}})"
            )
        self.placeholders = tuple(dict.fromkeys(self._template.get_identifiers()))
        if not self.placeholders:
            raise BadInputError(f"prompt template {self.text!r} has no placeholder such as $model_input")

    def check_columns(self, available: set[str], source: str) -> None:
        missing = [p for p in self.placeholders if p not in available]
        if missing:
            raise BadInputError(
                f"prompt template {self.text!r}: {source} has no column for "
                f"{', '.join('$' + m for m in missing)}; available: {', '.join(sorted(available))}"
            )

    def render(self, record: Mapping[str, Any], **overrides: str) -> str:
        values = {name: str(overrides.get(name, record.get(name, ""))) for name in self.placeholders}
        return self._template.substitute(values)

    def __repr__(self) -> str:
        return f"PromptTemplate({self.text!r})"
