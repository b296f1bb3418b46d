"""`fmops guard`: check texts against a guardrail policy, serve ApplyGuardrail, evaluate a policy."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fmops.cli._common import DelayedProgress, user_errors
from fmops.cli.guard_policies import app as policies_app

app = typer.Typer(
    help="Guardrails: Bedrock-Guardrails-style policies (content, topics, words, PII, grounding), offline.",
    no_args_is_help=True,
)
app.add_typer(policies_app, name="policies")

_SHIPPED_SETS = {
    "content": "content_eval.jsonl",
    "pii": "pii_eval.jsonl",
    "grounding": "grounding_eval.jsonl",
}


def _source(value: str) -> str:
    upper = value.upper()
    if upper not in ("INPUT", "OUTPUT"):
        raise typer.BadParameter("expected INPUT or OUTPUT")
    return upper


@app.command("check", no_args_is_help=True)
@user_errors
def check_command(
    policy: Annotated[
        Path,
        typer.Argument(help="Policy YAML (Bedrock CreateGuardrail field names), or registry:NAME@ALIAS."),
    ],
    text: Annotated[str | None, typer.Option("--text", "-t", help="Text to check ('-': read stdin).")] = None,
    source: Annotated[
        str, typer.Option(help="INPUT (a prompt) or OUTPUT (a model's answer).", callback=_source)
    ] = "INPUT",
    grounding_source: Annotated[
        str | None, typer.Option(help="OUTPUT only: the context the answer must be grounded in.")
    ] = None,
    query: Annotated[
        str | None, typer.Option(help="OUTPUT only: the question the answer must address.")
    ] = None,
) -> None:
    """Apply POLICY to a text and print ApplyGuardrail-shaped JSON (action, outputs, assessments)."""
    from fmops.core.errors import BadInputError
    from fmops.guardrails import load_policy

    if text is None:
        raise BadInputError("give the text to check with --text TEXT (or --text - to read stdin)")
    if text == "-":
        text = sys.stdin.read()
    loaded = load_policy(policy)
    for warning in loaded.warnings:
        typer.echo(f"warning: {policy}: {warning}", err=True)
    result = loaded.apply(text, source, grounding_source=grounding_source, query=query)
    typer.echo(json.dumps(result.response(), indent=2, ensure_ascii=False))


@app.command("serve", no_args_is_help=True)
@user_errors
def serve_command(
    policies: Annotated[
        list[Path], typer.Argument(help="Policy YAML files (or registry:NAME@ALIAS), served by their `name`.")
    ],
    host: Annotated[
        str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8100,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve Bedrock's ApplyGuardrail API for POLICIES:
    POST /guardrail/NAME/version/VERSION/apply (VERSION: the policy's version, a registry version's
    number, or DRAFT)."""
    from fmops.core.errors import BadInputError, MissingDependencyError
    from fmops.guardrails import create_app, load_policy

    loaded = [load_policy(p) for p in policies]
    names = [p.name for p in loaded]
    if len(set(names)) != len(names):
        raise BadInputError(f"two policies share a name ({', '.join(names)}): names identify guardrails")
    for policy, path in zip(loaded, policies, strict=True):
        for warning in policy.warnings:
            typer.echo(f"warning: {path}: {warning}", err=True)
        typer.echo(f"guardrail {policy.name} version {policy.version} from {path}", err=True)
    try:
        import uvicorn
    except ImportError:
        raise MissingDependencyError("uvicorn", "serve", "fmops guard serve") from None
    import logging

    # Every intervention is logged (policy name, version, side, kinds of findings; never the text).
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    interventions = logging.getLogger("fmops.guardrails")
    interventions.addHandler(handler)
    interventions.setLevel(logging.INFO)
    uvicorn.run(create_app(loaded), host=host, port=port, log_level=log_level)


@app.command("eval", no_args_is_help=True)
@user_errors
def eval_command(
    policy: Annotated[Path, typer.Argument(help="Policy YAML (or registry:NAME@ALIAS) to evaluate.")],
    dataset: Annotated[
        str,
        typer.Option(
            help="Labelled JSON Lines (text, labels, entities, source), or a shipped set: content, pii, grounding."
        ),
    ],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the figures as JSON.")] = None,
) -> None:
    """Score POLICY on labelled texts: precision, recall, F1, FPR (95% CIs) per category and entity type,
    and the latency it adds (p50, p95)."""
    run_guard_eval(policy, dataset, output)


def run_guard_eval(policy: Path, dataset: str | None, output: Path | None) -> None:
    """`fmops guard eval` (and `fmops eval guardrail POLICY`, which dispatches here)."""
    from fmops.core.errors import BadInputError
    from fmops.guardrails import evaluate_policy, load_policy, read_dataset, shipped_file, write_evaluation

    if dataset is None:
        raise BadInputError(
            "give the labelled texts with --dataset FILE (or a shipped set: content, pii, grounding)"
        )
    path = shipped_file(_SHIPPED_SETS[dataset]) if dataset in _SHIPPED_SETS else Path(dataset)
    loaded = load_policy(policy)
    for warning in loaded.warnings:
        typer.echo(f"warning: {policy}: {warning}", err=True)
    records = read_dataset(path)
    with DelayedProgress("guardrail eval") as progress:
        evaluation = evaluate_policy(loaded, records, dataset_name=str(path), on_progress=progress)
    _print(evaluation)
    if output is not None:
        write_evaluation(evaluation, output)
        typer.echo(f"wrote {output}", err=True)


@app.command("compare", no_args_is_help=True)
@user_errors
def compare_command(
    policies: Annotated[
        list[Path],
        typer.Argument(help="Two or more policy YAML files (e.g. versions) or registry:NAME@ALIAS."),
    ],
    dataset: Annotated[
        str,
        typer.Option(
            help="Labelled JSON Lines (text, labels, entities, source), or a shipped set: content, pii, grounding."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write policy_comparison.json into this folder.")
    ] = None,
) -> None:
    """Compare POLICIES on the same labelled texts: each one's precision, recall, F1, FPR (95% CIs) per
    category, entity type and micro-averaged, and for each pair the paired differences, beyond the noise
    or not."""
    from fmops.core.errors import BadInputError
    from fmops.evaluation.statistics import paired_test
    from fmops.guardrails import compare_policies, read_dataset, shipped_file, write_policy_comparison

    if len(policies) < 2:
        raise BadInputError("give at least two policies to compare")
    path = shipped_file(_SHIPPED_SETS[dataset]) if dataset in _SHIPPED_SETS else Path(dataset)
    records = read_dataset(path)
    with DelayedProgress("guardrail compare") as progress:
        comparison = compare_policies(
            policies, records, paired_test=paired_test, dataset_name=str(path), on_progress=progress
        )
    _print_comparison(comparison)
    if output is not None:
        typer.echo(f"wrote {write_policy_comparison(comparison, output)}", err=True)


def _show(i: object) -> str:
    from fmops.guardrails import Interval

    assert isinstance(i, Interval)
    return "-" if i.value is None else f"{i.value:.2f} [{i.low:.2f}, {i.high:.2f}]"


def _print_comparison(comparison: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from fmops.guardrails import Difference, PolicyComparison

    assert isinstance(comparison, PolicyComparison)
    console = Console(width=160)
    # Policies are lettered A, B, C... so the pairs table stays narrow.
    letters = {p.path: chr(ord("A") + i) for i, p in enumerate(comparison.policies)}
    labels = {
        p.path: f"{letters[p.path]}: {p.name} {p.version} ({Path(p.path).name})" for p in comparison.policies
    }
    table = Table(
        title=f"{len(comparison.policies)} policies on {Path(comparison.dataset).name} "
        f"({comparison.records} texts)"
    )
    for column in ("", "policy", "support", "precision", "recall", "F1", "FPR"):
        table.add_column(column)
    names = [s.name for s in next(iter(comparison.scores.values()))]
    for index, name in enumerate(names):
        for path, scores in comparison.scores.items():
            s = scores[index]
            table.add_row(
                name,
                labels[path],
                str(s.support),
                _show(s.precision),
                _show(s.recall),
                _show(s.f1),
                _show(s.fpr),
            )
        table.add_section()
    console.print(table)

    def diff(d: Difference | None) -> str:
        if d is None:
            return "-"
        if d.difference == 0 and d.p_value == 1:
            return "0"
        interval = "" if d.low is None or d.high is None else f" [{d.low:+.2f}, {d.high:+.2f}]"
        return f"{d.difference:+.2f}{interval}{' *' if d.beyond_noise else ''}"

    pairs = Table(
        title=f"paired differences, a minus b, 95% intervals (* beyond the noise: p < {comparison.alpha}; "
        "p-values in the JSON)"
    )
    for column in ("", "a - b", "recall", "FPR", "per-text correct", "F1", "verdict"):
        pairs.add_column(column)
    for d in comparison.differences:
        pairs.add_row(
            d.name,
            f"{letters[d.a]} - {letters[d.b]}",
            diff(d.recall),
            diff(d.fpr),
            diff(d.correctness),
            "-" if d.f1 is None else f"{d.f1:+.2f}",
            "BEYOND NOISE" if d.beyond_noise else "within noise",
        )
    console.print(pairs)


def _print(evaluation: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from fmops.guardrails import GuardrailEvaluation, Interval

    assert isinstance(evaluation, GuardrailEvaluation)

    def show(i: Interval) -> str:
        return "-" if i.value is None else f"{i.value:.2f} [{i.low:.2f}, {i.high:.2f}]"

    table = Table(
        title=f"{evaluation.policy} {evaluation.policy_version} on {Path(evaluation.dataset).name} "
        f"({evaluation.records} texts)"
    )
    for column in ("", "kind", "support", "precision", "recall", "F1", "FPR"):
        table.add_column(column)
    for s in evaluation.scores:
        table.add_row(
            s.name, s.kind, str(s.support), show(s.precision), show(s.recall), show(s.f1), show(s.fpr)
        )
    console = Console(width=130)
    console.print(table)
    console.print(
        f"latency added per text: p50 {evaluation.latency_ms_p50:.2f} ms, p95 {evaluation.latency_ms_p95:.2f} ms"
    )
