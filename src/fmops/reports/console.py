"""Comparison summaries for the terminal (rich tables)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fmops.comparison import Comparison


def print_comparison(comparison: Comparison, output: Path, console: Console | None = None) -> None:
    """Scores with intervals, then speed and cost, then how many differences are beyond the noise."""
    console = console or Console()
    models = [m.name for m in comparison.models]
    table = Table(title=f"suite {comparison.suite.name}: scores (95% CI)")
    table.add_column("evaluation / score")
    for name in models:
        table.add_column(name, justify="right")
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for s in comparison.scores:
        cell = "-" if s.value is None else f"{s.value:.3f}"
        if s.ci_low is not None and s.ci_high is not None:
            cell += f" [{s.ci_low:.2f}, {s.ci_high:.2f}]"
        rows.setdefault((s.evaluation, s.score), {})[s.model] = cell
    for (evaluation, score), cells in rows.items():
        table.add_row(f"{evaluation} · {score}", *(cells.get(m, "") for m in models))
    console.print(table)
    perf = Table(title="latency, throughput and cost")
    for column in ("model", "records", "calls", "p50 s", "p95 s", "records/s", "tokens in/out", "cost"):
        perf.add_column(column, justify="right" if column != "model" else "left")
    for p in comparison.performance:
        perf.add_row(
            p.model,
            str(p.records),
            f"{p.calls} ({p.cached_calls} reused)",
            _num(p.latency_p50_s),
            _num(p.latency_p95_s),
            _num(p.throughput_rps, 1),
            f"{p.input_tokens}/{p.output_tokens}",
            "-" if p.cost is None else f"{p.cost:.4f}",
        )
    console.print(perf)
    for p in comparison.performance:
        if p.errors:
            style = "red" if p.errors >= p.records else "yellow"
            first = _first_error(output, comparison.runs.get(p.model, {}))
            console.print(
                f"[{style}]{p.model}: {p.errors} of {p.records} records failed a model call"
                f"{'; first: ' + first if first else ''}[/{style}]"
            )
    significant = [c for c in comparison.comparisons if c.significant]
    console.print(
        f"{len(significant)} of {len(comparison.comparisons)} paired differences are beyond the noise (p < 0.05)"
    )
    console.print(
        f"wrote {output}/comparison.json and {output}/runs/; next: `fmops select {output} ...`, "
        f"`fmops report {output}`"
    )


def _first_error(output: Path, run_dirs: Mapping[str, str]) -> str | None:
    """The first failed record's error in a model's run folders, cut to one line."""
    for run_dir in run_dirs.values():
        for path in sorted((output / run_dir / "records").glob("*.jsonl")):
            with path.open(encoding="utf-8") as lines:
                for line in lines:
                    error = json.loads(line).get("error")
                    if error:
                        return str(error).splitlines()[0][:300]
    return None


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
