"""`fmops registry ...`: registered models, their versions, approvals, aliases and audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fmops.cli._common import user_errors

if TYPE_CHECKING:
    from fmops.registry import AuditEvent, EntryInfo, VersionedCatalog

app = typer.Typer(
    name="registry",
    help="The model registry: versions, lineage, approval status, aliases (promote, rollback), audit log.",
    no_args_is_help=True,
)


class Format(StrEnum):
    text = "text"
    json = "json"


FormatOption = Annotated[Format, typer.Option("--format", help="text or json.")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who is acting (default: $FMOPS_USER, else the login name).")
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why: kept in the audit log.")]
AliasOption = Annotated[str, typer.Option("--alias", help="Alias to move, e.g. production or staging.")]


def _models() -> VersionedCatalog:
    from fmops.registry import model_registry

    return model_registry()


def add_catalog_commands(
    app: typer.Typer,
    catalog: Callable[[], VersionedCatalog],
    *,
    noun: str,
    plural: str | None = None,
    label: str = "",
    approvals: bool = True,
) -> None:
    """Add the commands every versioned catalog shares (models, prompts, guardrail policies): list,
    promote, rollback, history, and approve/reject where versions need approval. `label` starts the
    one-line confirmations ("policy qa@production: 1 → 2")."""

    @app.command("list", help=f"Registered {plural or noun + 's'}: latest version, its status, and aliases.")
    @user_errors
    def list_command(output_format: FormatOption = Format.text) -> None:
        render_list(catalog().list(), output_format)

    if approvals:

        @app.command("approve", no_args_is_help=True, help="Mark a version Approved.")
        @user_errors
        def approve_command(
            name: str, version: int, reason: ReasonOption = None, actor: ActorOption = None
        ) -> None:
            info = catalog().approve(name, version, reason=reason, actor=actor)
            typer.echo(f"{label}{name} version {info.version}: {info.status}")

        @app.command(
            "reject", no_args_is_help=True, help="Mark a version Rejected (it can no longer be promoted)."
        )
        @user_errors
        def reject_command(
            name: str, version: int, reason: ReasonOption = None, actor: ActorOption = None
        ) -> None:
            info = catalog().reject(name, version, reason=reason, actor=actor)
            typer.echo(f"{label}{name} version {info.version}: {info.status}")

    @app.command(
        "promote",
        no_args_is_help=True,
        help="Point ALIAS at VERSION (exit code 3 when a concurrent promotion won).",
    )
    @user_errors
    def promote_command(
        name: str, version: int, alias: AliasOption, reason: ReasonOption = None, actor: ActorOption = None
    ) -> None:
        event = catalog().promote(name, version, alias, reason=reason, actor=actor)
        typer.echo(f"{label}{name}@{alias}: {_arrow(event.from_version, event.to_version)}")

    @app.command(
        "rollback",
        no_args_is_help=True,
        help="Move ALIAS back to the version it pointed at before its latest promotion.",
    )
    @user_errors
    def rollback_command(
        name: str, alias: AliasOption, reason: ReasonOption = None, actor: ActorOption = None
    ) -> None:
        event = catalog().rollback(name, alias, reason=reason, actor=actor)
        typer.echo(f"{label}{name}@{alias}: {_arrow(event.from_version, event.to_version)} (rollback)")

    @app.command(
        "history", no_args_is_help=True, help=f"The audit log of {noun} NAME: who did what, when, and why."
    )
    @user_errors
    def history_command(name: str, output_format: FormatOption = Format.text) -> None:
        render_audit(catalog().audit(name), output_format)


add_catalog_commands(app, _models, noun="model")


@app.command("show", no_args_is_help=True)
@user_errors
def show_command(name: str, output_format: FormatOption = Format.text) -> None:
    """One model: every version (spec, status, lineage) and where its aliases point."""
    render_entry(_models().show(name), output_format)


@app.command("register", no_args_is_help=True)
@user_errors
def register_command(
    name: str,
    model: Annotated[str, typer.Option("--model", help="Model spec, e.g. zoo/tiny-qa or finetuned/NAME.")],
    model_arg: Annotated[list[str] | None, typer.Option("-M", help="Model argument KEY=VALUE.")] = None,
    description: Annotated[str | None, typer.Option(help="One line about this version.")] = None,
    base_model: Annotated[str | None, typer.Option(help="Lineage: the base model spec.")] = None,
    training_data: Annotated[
        Path | None, typer.Option(help="Lineage: the training data file (its sha256 is stored).")
    ] = None,
    experiment_run: Annotated[str | None, typer.Option(help="Lineage: the experiment run id.")] = None,
    eval_run: Annotated[list[str] | None, typer.Option(help="Lineage: an evaluation run folder.")] = None,
    comparison: Annotated[list[str] | None, typer.Option(help="Lineage: a comparison folder.")] = None,
    card: Annotated[Path | None, typer.Option(help="A model card (YAML or JSON) to attach.")] = None,
    actor: ActorOption = None,
) -> None:
    """Register the next version of NAME; prints the new version number."""
    from fmops.models import parse_model_args
    from fmops.registry import Lineage, register_model

    lineage = Lineage(
        base_model=base_model,
        training_data_sha256=_sha256(training_data) if training_data else None,
        experiment_run=experiment_run,
        evaluation_runs=list(eval_run or []),
        comparisons=list(comparison or []),
    )
    version = register_model(
        name,
        model,
        args=parse_model_args(model_arg or []),
        lineage=lineage,
        card=_read_card(card) if card else None,
        description=description,
        actor=actor,
    )
    typer.echo(f"registered {name} version {version.version} ({version.status})", err=True)
    typer.echo(str(version.version))


MlflowOption = Annotated[
    str, typer.Option("--mlflow", help="MLflow tracking/registry URI, e.g. http://127.0.0.1:5000.")
]


@app.command("export", no_args_is_help=True)
@user_errors
def export_command(
    mlflow: MlflowOption,
    name: Annotated[list[str] | None, typer.Argument(help="Models to export (default: all).")] = None,
) -> None:
    """Register fmops's model versions, status, lineage and aliases in an MLflow model registry."""
    from fmops.registry import export_to_mlflow

    report = export_to_mlflow(mlflow, list(name or []) or None)
    for model, versions in sorted(report.versions.items()):
        typer.echo(f"{model}: exported versions {', '.join(map(str, versions))}")
    for model, versions in sorted(report.skipped.items()):
        typer.echo(f"{model}: already there: {', '.join(map(str, versions))}")
    for model, aliases in sorted(report.aliases.items()):
        typer.echo(f"{model}: aliases {', '.join(f'{a}→{v}' for a, v in sorted(aliases.items()))}")


@app.command("import", no_args_is_help=True)
@user_errors
def import_command(
    mlflow: MlflowOption,
    name: Annotated[list[str] | None, typer.Argument(help="Models to import (default: all).")] = None,
    actor: ActorOption = None,
) -> None:
    """Register MLflow model versions (with an fmops.spec tag or a model-spec source) in the fmops registry."""
    from fmops.registry import import_from_mlflow

    report = import_from_mlflow(mlflow, list(name or []) or None, actor=actor)
    for model, versions in sorted(report.versions.items()):
        typer.echo(f"{model}: imported as versions {', '.join(map(str, versions))}")
    for model, versions in sorted(report.skipped.items()):
        typer.echo(
            f"{model}: skipped MLflow versions {', '.join(map(str, versions))} (imported before or no spec)"
        )
    for model, aliases in sorted(report.aliases.items()):
        typer.echo(f"{model}: aliases {', '.join(f'{a}→{v}' for a, v in sorted(aliases.items()))}")
    if not report.versions and not report.skipped:
        typer.echo("nothing to import")


# -- rendering shared with `fmops prompts` --------------------------------------------------------------


def render_list(entries: list[EntryInfo], output_format: Format) -> None:
    if output_format is Format.json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], indent=2))
        return
    if not entries:
        typer.echo("nothing registered yet")
        return
    rows = [("name", "latest", "status", "aliases")]
    for entry in entries:
        latest = entry.versions[-1] if entry.versions else None
        aliases = ", ".join(f"{a}→{v}" for a, v in entry.aliases.items()) or "-"
        rows.append(
            (entry.name, str(latest.version) if latest else "-", latest.status if latest else "-", aliases)
        )
    _table(rows)


def render_entry(entry: EntryInfo, output_format: Format) -> None:
    if output_format is Format.json:
        typer.echo(json.dumps(entry.model_dump(mode="json"), indent=2))
        return
    aliases = ", ".join(f"{a}→{v}" for a, v in entry.aliases.items()) or "none"
    typer.echo(f"{entry.kind} {entry.name} (aliases: {aliases})")
    rows = [("version", "status", "aliases", "what", "by", "at")]
    for v in entry.versions:
        what = v.payload.get("spec") or _short(v.payload.get("template", "")) or _policy_what(v.payload)
        rows.append(
            (str(v.version), v.status, ",".join(v.aliases) or "-", what, v.created_by, v.created_at[:19])
        )
    _table(rows)


def _policy_what(payload: dict[str, Any]) -> str:
    """A guardrail policy version in a few words: its text's sha256 and how much evidence it carries."""
    if "sha256" not in payload:
        return ""
    return f"sha256 {payload['sha256'][:12]}, {len(payload.get('evidence', []))} comparison(s)"


def render_audit(events: list[AuditEvent], output_format: Format) -> None:
    if output_format is Format.json:
        typer.echo(json.dumps([e.model_dump(mode="json") for e in events], indent=2))
        return
    for e in events:
        version = f" v{e.version}" if e.version is not None else ""
        detail = _detail(e.detail)
        why = f" — {e.reason}" if e.reason else ""
        typer.echo(f"{e.at[:19]}  {e.actor:<10} {e.action}{version}{detail}{why}")


def _detail(detail: dict[str, Any]) -> str:
    if "alias" in detail:
        return f" {detail['alias']}: {_arrow(detail.get('from'), detail.get('to'))}"
    if "from" in detail and "to" in detail:
        return f" {detail['from']} → {detail['to']}"
    return ""


def _arrow(before: int | None, after: int) -> str:
    return f"{before if before is not None else '(none)'} → {after}"


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _sha256(path: Path) -> str:
    import hashlib

    from fmops.core.errors import BadInputError

    if not path.is_file():
        raise BadInputError(f"{path}: training data file not found")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_card(path: Path) -> dict[str, Any]:
    import yaml

    from fmops.core.errors import BadInputError

    if not path.is_file():
        raise BadInputError(f"{path}: model card not found")
    try:
        card = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BadInputError(f"{path}: not valid YAML/JSON: {exc}") from None
    if not isinstance(card, dict):
        raise BadInputError(f"{path}: a model card is a mapping of fields (the catalog's card format)")
    return card
