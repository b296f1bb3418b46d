"""`fmops prompts ...`: the prompt catalog (versioned immutable templates with aliases)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from fmops.cli._common import user_errors
from fmops.cli.registry import (
    ActorOption,
    Format,
    FormatOption,
    add_catalog_commands,
    render_entry,
)

if TYPE_CHECKING:
    from fmops.registry import VersionedCatalog

app = typer.Typer(
    name="prompts",
    help="The prompt catalog: versioned templates ($placeholders, model parameters) with aliases; "
    "use them anywhere a template goes as prompt:NAME@ALIAS.",
    no_args_is_help=True,
)


def _prompts() -> VersionedCatalog:
    from fmops.registry import prompt_catalog

    return prompt_catalog()


add_catalog_commands(app, _prompts, noun="prompt", label="prompt ", approvals=False)


@app.command("show", no_args_is_help=True)
@user_errors
def show_command(
    reference: Annotated[str, typer.Argument(help="NAME (all versions), NAME@ALIAS or NAME/VERSION (one).")],
    output_format: FormatOption = Format.text,
) -> None:
    """A prompt's versions, or one version's template and parameters."""
    import json

    from fmops.registry import parse_reference

    name, ref = parse_reference(reference)
    if ref is None:
        render_entry(_prompts().show(name), output_format)
        return
    version = _prompts().get(name, ref)
    if output_format is Format.json:
        typer.echo(json.dumps(version.model_dump(mode="json"), indent=2))
        return
    spec = version.prompt_spec()
    typer.echo(f"prompt {name} version {version.version} ({', '.join(version.aliases) or 'no alias'})")
    typer.echo(f"template: {spec.template}")
    for label, value in (("parameters", spec.parameters), ("owner", spec.owner), ("tags", spec.tags)):
        if value:
            typer.echo(f"{label}: {value}")
    if spec.notes:
        typer.echo(f"notes: {spec.notes}")


@app.command("register", no_args_is_help=True)
@user_errors
def register_command(
    name: str,
    template: Annotated[
        str | None, typer.Option(help="The template, with $placeholders such as $model_input.")
    ] = None,
    template_file: Annotated[Path | None, typer.Option(help="Read the template from this file.")] = None,
    param: Annotated[
        list[str] | None, typer.Option("-P", "--param", help="Model parameter KEY=VALUE (max_tokens=64).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Who owns this prompt.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable).")] = None,
    notes: Annotated[str | None, typer.Option(help="Free notes.")] = None,
    actor: ActorOption = None,
) -> None:
    """Register the next version of prompt NAME; prints the new version number."""
    from fmops.core.errors import BadInputError
    from fmops.models import parse_model_args
    from fmops.registry import register_prompt

    if (template is None) == (template_file is None):
        raise BadInputError("give the template with exactly one of --template or --template-file")
    if template_file is not None:
        if not template_file.is_file():
            raise BadInputError(f"{template_file}: template file not found")
        template = template_file.read_text(encoding="utf-8").rstrip("\n")
    assert template is not None
    version = register_prompt(
        name,
        template,
        parameters=parse_model_args(param or []),
        owner=owner,
        tags=list(tag or []),
        notes=notes,
        actor=actor,
    )
    typer.echo(f"registered prompt {name} version {version.version}", err=True)
    typer.echo(str(version.version))
