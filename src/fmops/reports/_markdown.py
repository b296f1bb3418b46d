"""The Markdown summary: the same verdicts and ranking as the HTML report, as GitHub-renderable tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from fmops.reports import _analysis as analysis
from fmops.reports import _format as fmt
from fmops.reports._data import ReportData


def md(value: Any) -> str:
    """Text safe in a table cell, escaped for Markdown (a reader of the file sees the text, not HTML entities):
    no pipes, no line breaks, and no tag, entity, link or emphasis from user data."""
    text = "" if value is None else str(value)
    for raw, escaped in (
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("`", "\\`"),
        ("*", "\\*"),
        ("[", "\\["),
        ("]", "\\]"),
    ):
        text = text.replace(raw, escaped)
    # Only what could open a tag (`<b`, `</`, `<!`, `<?`) or an entity (`&amp;`, `&#60;`) is escaped, so
    # `p < 0.001` and `a & b` stay as they read.
    text = _TAG_OR_ENTITY.sub(lambda m: "\\" + m.group(0), text)
    return " ".join(text.split())


_TAG_OR_ENTITY = re.compile(r"<(?=[A-Za-z/!?])|&(?=[A-Za-z#])")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    nums = set(numeric)
    lines = ["| " + " | ".join(headers) + " |"]
    lines.append("|" + "|".join("---:" if i in nums else "---" for i in range(len(headers))) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(data: ReportData, html_name: str = "report.html") -> str:
    out: list[str] = []
    kind = "model comparison" if data.is_comparison else "evaluation run"
    out.append(f"# fmops report: {md(data.name)}")
    meta = [kind]
    if data.is_comparison:
        meta.append(f"{len(data.models)} models × {len(data.evaluations)} evaluations")
    else:
        meta.append(f"model {md(data.models[0])}")
    if data.created_at:
        meta.append(f"created {md(data.created_at)}")
    if data.fmops_version:
        meta.append(f"fmops {md(data.fmops_version)}")
    out.append(
        "_" + " · ".join(meta) + f"_. Charts, categories and examples: [{md(html_name)}]({html_name})."
    )
    for warning in data.warnings:
        out.append(f"> ⚠ {md(warning)}")
    out.append("## Summary")
    out.append(_summary(data))
    if data.is_comparison:
        out.append("## Ranking")
        out.append(_ranking(data))
    out.append("## Scores")
    out.append(_scores(data))
    out.append("## Latency and cost")
    out.append(_performance(data))
    if data.is_comparison and data.selection:
        out.append("## Selection")
        out.append(_selection(data))
    out.append("## What was run")
    out.append(_runs(data))
    return "\n\n".join(part for part in out if part) + "\n"


def _summary(data: ReportData) -> str:
    won = analysis.winners(data)
    lines = []
    if not data.is_comparison:
        model = data.models[0]
        run = next(iter(data.runs.values()))
        for key, by_model in data.scores.items():
            v = by_model[model]
            interval = fmt.ci(v.ci_low, v.ci_high)
            lines.append(f"- **{md(key.score)}**: {fmt.num(v.value)} {interval}".rstrip())
        for output in run.outputs:
            table = analysis.category_table(run, output.dataset_name)
            weak = [
                f"{md(s.name)} in **{md(w[0])}** ({fmt.num(w[1])})"
                for s in output.dataset_scores or []
                if (w := analysis.weakest_category(table, s.name))
            ]
            if weak:
                lines.append("- Lowest category: " + "; ".join(weak))
        return "\n".join(lines)
    if data.selection and data.selection.get("selected"):
        lines.append(
            f"**Selected: {md(data.selection['selected'])}.** {md(data.selection.get('explanation') or '')}"
        )
        lines.append("")
    total = len([w for w in won if w.runner_up is not None])
    for head in analysis.headlines(data, won):
        if head.leads:
            lines.append(
                f"- **{md(head.model)}** is best on {head.leads} of {total} scores, {head.significant_leads} of them beyond noise."
            )
    noise = sum(1 for w in won if w.significant is False)
    if noise:
        lines.append(f"- {noise} lead(s) are within noise: the data cannot separate those models there.")
    for metric, title, show in (
        ("latency_p95_s", "Fastest (p95 latency)", fmt.seconds),
        ("cost_per_1k_records", "Cheapest per 1k records", fmt.money),
    ):
        values = {m: p[metric] for m, p in data.performance.items() if p.get(metric) is not None}
        if len(values) > 1:
            best = min(values, key=lambda m: values[m])
            lines.append(f"- {title}: **{md(best)}** ({show(values[best])})")
    rows = [
        [
            md(w.key.evaluation),
            md(analysis.row_label(data, w.key)),
            md(w.best),
            fmt.num(w.value),
            md(w.verdict) or fmt.DASH,
        ]
        for w in won
    ]
    if rows:
        lines.append("")
        lines.append(
            _table(["evaluation", "score", "best", "value", "against the runner-up"], rows, numeric=[3])
        )
    return "\n".join(lines)


def _ranking(data: ReportData) -> str:
    rows, source = analysis.ranking(data)
    if source == "selection":
        intro = "By `fmops select` (weighted priorities and constraints)."
        headers = ["place", "model", "utility", "quality index", "meets constraints", "why"]
        body = [
            [
                str(r.place),
                md(r.model),
                fmt.num(r.utility),
                fmt.num(r.quality),
                "yes"
                if r.meets_constraints
                else ("no: " + md("; ".join(r.violations)) if r.meets_constraints is False else fmt.DASH),
                md("; ".join(r.reasons)),
            ]
            for r in rows
        ]
        return intro + "\n\n" + _table(headers, body, numeric=[0, 2, 3])
    intro = "By mean quality index (each score mapped to 0–1, 1 = best; lower-is-better scores inverted, stereotyping by distance from 0.5)."
    body = []
    for r in rows:
        perf = data.performance.get(r.model) or {}
        body.append(
            [
                str(r.place),
                md(r.model),
                fmt.num(r.quality),
                fmt.seconds(perf.get("latency_p95_s")),
                fmt.money(perf.get("cost_per_1k_records")),
            ]
        )
    return (
        intro
        + "\n\n"
        + _table(
            ["place", "model", "quality index", "p95 latency", "cost / 1k records"],
            body,
            numeric=[0, 2, 3, 4],
        )
    )


def _scores(data: ReportData) -> str:
    rows = []
    for key, by_model in data.scores.items():
        meaning = analysis.info(key.score)
        best = analysis.unique_best(key.score, {m: v.value for m, v in by_model.items()})
        cells = [
            md(key.evaluation),
            md(analysis.row_label(data, key)),
            fmt.direction(meaning.direction, meaning.ideal),
        ]
        for model in data.models:
            v = by_model.get(model)
            if v is None or v.value is None:
                cells.append(fmt.DASH)
                continue
            text = fmt.num(v.value)
            text = f"**{text}**" if model == best else text
            interval = fmt.ci(v.ci_low, v.ci_high)
            cells.append(f"{text} {interval}".rstrip())
        rows.append(cells)
    headers = ["evaluation", "score", "better", *[md(m) for m in data.models]]
    note = (
        "Value [95% bootstrap interval]; the best model per score in bold."
        if data.is_comparison
        else "Value [95% bootstrap interval]."
    )
    return note + "\n\n" + _table(headers, rows, numeric=range(3, 3 + len(data.models)))


def _performance(data: ReportData) -> str:
    if not data.performance:
        return "No model calls (outputs came with the dataset)."
    rows = []
    for model in data.models:
        p = data.performance.get(model)
        if not p:
            continue
        rows.append(
            [
                md(model),
                fmt.count(p.get("records")),
                fmt.count(p.get("calls")),
                fmt.count(p.get("errors")),
                fmt.seconds(p.get("latency_p50_s")),
                fmt.seconds(p.get("latency_p95_s")),
                f"{fmt.count(p.get('input_tokens'))} / {fmt.count(p.get('output_tokens'))}",
                fmt.money(p.get("cost")),
                fmt.money(p.get("cost_per_1k_records")),
            ]
        )
    headers = [
        "model",
        "records",
        "calls",
        "errors",
        "p50 latency",
        "p95 latency",
        "tokens in / out",
        "cost",
        "cost / 1k records",
    ]
    return _table(headers, rows, numeric=range(1, 9))


def _selection(data: ReportData) -> str:
    selection = data.selection or {}
    lines = []
    priorities = [p for p in selection.get("priorities") or [] if isinstance(p, dict)]
    if priorities:
        lines.append(
            "Priorities: "
            + ", ".join(
                f"{md(p.get('metric'))} (weight {fmt.num(_f(p.get('weight')), 2)})" for p in priorities
            )
            + "."
        )
    constraints = [c for c in selection.get("constraints") or [] if isinstance(c, dict)]
    if constraints:
        lines.append(
            "Constraints: "
            + ", ".join(f"{md(c.get('metric'))} {md(c.get('op'))} {md(c.get('value'))}" for c in constraints)
            + "."
        )
    if selection.get("pareto_front"):
        axes = ", ".join(md(a) for a in selection.get("pareto_axes") or [])
        lines.append(f"Pareto front ({axes}): " + ", ".join(md(m) for m in selection["pareto_front"]) + ".")
    return "\n\n".join(lines)


def _f(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _runs(data: ReportData) -> str:
    rows = []
    for (model, evaluation), run in data.runs.items():
        for entry in run.manifest.datasets:
            helpers = ", ".join(
                f"{k}: {md(fmt.compact_json(v))}" for k, v in fmt.helper_models(entry).items()
            )
            rows.append(
                [
                    md(model),
                    md(evaluation),
                    md(entry.name),
                    f"`{fmt.short_hash(entry.sha256)}`" if entry.sha256 else fmt.DASH,
                    f"{fmt.count(fmt.sampled_rows(entry))} of {fmt.count(entry.total_rows)}",
                    md(fmt.compact_json({k: v for k, v in run.manifest.config.items() if v is not None})),
                    helpers or fmt.DASH,
                ]
            )
    if not rows:
        return "No run folders found."
    return _table(
        ["model", "evaluation", "dataset", "sha256", "sampled rows", "config", "helper models"],
        rows,
        numeric=[4],
    )
