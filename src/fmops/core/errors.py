"""Errors with user-facing messages and the exit codes the CLI maps them to."""

from __future__ import annotations

from collections.abc import Mapping


class FmopsError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""

    exit_code = 1


class BadInputError(FmopsError):
    """The user gave something we cannot use (file, field, option). Exit code 2."""

    exit_code = 2


class FieldError(BadInputError):
    """Bad input to an engine, about named fields: the message names them as `{field}` placeholders,
    which each face spells its own way (the Python API by field name, the CLI by its flags)."""

    def __init__(self, template: str, *fields: str) -> None:
        self.template = template
        self.fields = fields
        super().__init__(self.spelled({}))

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each field written as `names` has it (else its own name)."""
        text = self.template
        for field in self.fields:
            text = text.replace("{" + field + "}", names.get(field, field))
        return text


class RunError(FmopsError):
    """The run itself failed (model unreachable, helper model missing...). Exit code 1."""

    exit_code = 1


class MissingDependencyError(FmopsError):
    """An optional extra is not installed; the message says which one to install."""

    exit_code = 1

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{package}': install it with `pip install 'fmops[{extra}]'`"
        )
