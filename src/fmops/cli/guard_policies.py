"""`fmops guard policies ...`: guardrail policy versions in the fmops registry, promoted like models.

A version holds the policy file's text (immutable) and, as evidence, what `fmops guard compare` found;
aliases move (promote, roll back) and every change is audited. `registry:NAME@ALIAS` then works wherever
a policy path goes: `fmops guard check`, `fmops guard serve`, `fmops guard compare`, the gateway.
"""

from __future__ import annotations

import hashlib
import json
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
    from fmops.registry import PolicyEvidence, VersionedCatalog

app = typer.Typer(
    name="policies",
    help="Guardrail policy versions in the registry: register with compare results as evidence, approve, "
    "promote, roll back; use them anywhere a policy goes as registry:NAME@ALIAS.",
    no_args_is_help=True,
)


def _policies() -> VersionedCatalog:
    from fmops.registry import policy_registry

    return policy_registry()


add_catalog_commands(app, _policies, noun="policy", plural="policies", label="policy ")


@app.command("show", no_args_is_help=True)
@user_errors
def show_command(
    reference: Annotated[str, typer.Argument(help="NAME (all versions), NAME@ALIAS or NAME/VERSION (one).")],
    output_format: FormatOption = Format.text,
) -> None:
    """A policy's versions, or one version's evidence and text."""
    from fmops.registry import parse_reference

    name, ref = parse_reference(reference)
    if ref is None:
        render_entry(_policies().show(name), output_format)
        return
    version = _policies().get(name, ref)
    if output_format is Format.json:
        typer.echo(json.dumps(version.model_dump(mode="json"), indent=2))
        return
    spec = version.policy_spec()
    aliases = ", ".join(version.aliases) or "no alias"
    typer.echo(f"policy {name} version {version.version} ({version.status}; {aliases}); sha256 {spec.sha256}")
    for e in spec.evidence:
        micro = ", ".join(f"{k} {'-' if v is None else f'{v:.3f}'}" for k, v in e.micro.items())
        typer.echo(f"evidence: {e.comparison} ({e.records} texts of {Path(e.dataset).name}): {micro}")
        for other, names in e.beyond_noise.items():
            typer.echo(f"  vs {other}: beyond the noise on {', '.join(names) or 'nothing'}")
    typer.echo(spec.text.rstrip("\n"))


@app.command("register", no_args_is_help=True)
@user_errors
def register_command(
    name: str,
    policy: Annotated[Path, typer.Argument(help="The policy YAML to register (validated first).")],
    evidence: Annotated[
        list[Path] | None,
        typer.Option(
            "--evidence",
            help="A `fmops guard compare -o DIR` result (DIR or its policy_comparison.json) that includes "
            "this policy; repeatable.",
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="One line about this version.")] = None,
    actor: ActorOption = None,
) -> None:
    """Register the next version of policy NAME; prints the new version number."""
    from fmops.core.errors import BadInputError
    from fmops.guardrails import read_policy
    from fmops.registry import register_policy

    read_policy(policy)  # the same validation (file, line, field) as every other policy command
    try:
        text = policy.read_bytes().decode("utf-8")  # as is: no newline translation, the sha256 is the file's
    except OSError as exc:
        raise BadInputError(f"{policy}: cannot read the policy ({exc.strerror or exc})") from None
    version = register_policy(
        name,
        text,
        evidence=[_evidence(policy, e) for e in evidence or []],
        source=str(policy),
        description=description,
        actor=actor,
    )
    typer.echo(f"registered policy {name} version {version.version} ({version.status})", err=True)
    typer.echo(str(version.version))


def _evidence(policy: Path, comparison: Path) -> PolicyEvidence:
    """The comparison's figures for `policy`, tied to the comparison file by its sha256."""
    from fmops.guardrails import policy_evidence, read_policy_comparison
    from fmops.registry import PolicyEvidence

    file = comparison / "policy_comparison.json" if comparison.is_dir() else comparison
    found = policy_evidence(read_policy_comparison(file), policy)
    digest = hashlib.sha256(file.read_bytes()).hexdigest()
    return PolicyEvidence(comparison=str(file), sha256=digest, **found)  # type: ignore[arg-type]
