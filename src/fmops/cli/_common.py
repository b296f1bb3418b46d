"""What every command shares: user-facing error handling, KEY=VALUE options, a progress bar that waits."""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer

from fmops.core.errors import BadInputError, FieldError, FmopsError

P = ParamSpec("P")
R = TypeVar("R")

#: How the CLI spells the engines' fields: an engine's FieldError names fields, the CLI shows its flags.
FIELD_FLAGS = {
    "dataset": "--dataset",
    "data_config": "--data-config",
    "model": "--model",
    "model_args": "-M",
    "prompt_template": "--prompt-template",
    "num_records": "--num-records",
    "on_bad_record": "--on-bad-record",
    "executor": "--executor",
    "ray_address": "--ray-address",
}


def user_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Show an FmopsError as one line on stderr and exit with its code (2 bad input, 1 failed run)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except FmopsError as exc:
            message = exc.spelled(FIELD_FLAGS) if isinstance(exc, FieldError) else str(exc)
            typer.echo(f"error: {message}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def parse_key_values(pairs: list[str] | None, option: str) -> dict[str, str]:
    """`["a=1", "b=x=y"]` -> `{"a": "1", "b": "x=y"}`; a pair without '=' is bad input."""
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise BadInputError(f"{option} expects KEY=VALUE, got '{pair}'")
        parsed[key.strip()] = value
    return parsed


def split_model_args(raw: list[str] | None, models: list[str]) -> dict[str, list[str]]:
    """`-M` options by model: `KEY=VALUE` applies to every model in `models`, `MODEL:KEY=VALUE` to one.

    The model is what precedes the last ':' before the first '=': model ids may hold ':' (Bedrock's
    ...-v1:0) and so may values (URLs); keys never do.
    """
    args: dict[str, list[str]] = {name: [] for name in models}
    for item in raw or []:
        head, equals, value = item.partition("=")
        name, sep, key = head.rpartition(":")
        if not equals or not key.strip() or (sep and not name):
            raise BadInputError(f"-M expects KEY=VALUE or MODEL:KEY=VALUE, got '{item}'")
        pair = f"{key.strip()}={value}"
        if not sep:
            if not models:
                raise BadInputError(
                    f"-M {item}: KEY=VALUE applies to every --model and none is given; "
                    "use MODEL:KEY=VALUE for one of the suite's models"
                )
            for target in models:
                args[target].append(pair)
            continue
        if models and name not in models:
            raise BadInputError(f"-M {item}: model '{name}' is not among --model {', '.join(models)}")
        args.setdefault(name, []).append(pair)
    return args


class DelayedProgress:
    """A rich progress bar that appears only once a task has run longer than `delay_s` (quiet fast runs)."""

    def __init__(self, description: str, delay_s: float = 1.0) -> None:
        self._description = description
        self._delay_s = delay_s
        self._started = time.perf_counter()
        self._progress: Any = None
        self._task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if self._progress is None:
            if time.perf_counter() - self._started < self._delay_s or not sys.stderr.isatty():
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self._progress = Progress(
                "[progress.description]{task.description}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()

    def __enter__(self) -> DelayedProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
