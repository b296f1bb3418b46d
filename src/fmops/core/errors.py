"""Errors with user-facing messages and the exit codes the CLI maps them to."""

from __future__ import annotations


class FmopsError(Exception):
    """Base class: the message is shown to the user as is, without a traceback."""

    exit_code = 1


class BadInputError(FmopsError):
    """The user gave something we cannot use (file, field, option). Exit code 2."""

    exit_code = 2


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
