"""The report's opening: summary cards, the ranking, and a single run's summary."""

from __future__ import annotations

from collections.abc import Sequence

from fmops.reports import _analysis as analysis
from fmops.reports import _format as fmt
from fmops.reports._data import ReportData, RunData
from fmops.reports._html_parts import (
    _best_perf,
    _card,
    _eval_anchor,
    _note,
    _Page,
    _score_name,
    _swatch,
    _table,
    e,
)


def _summary(page: _Page, won: Sequence[analysis.Winner]) -> str:
    data = page.data
    if not data.is_comparison:
        return _run_summary(data)
    parts = []
    if data.selection and data.selection.get("selected"):
        parts.append(
            f'<div class="callout"><div class="label">Selected</div><div class="big">{e(data.selection["selected"])}</div>'
            f'<p>{e(data.selection.get("explanation") or "")}</p><a href="#selection">why →</a></div>'
        )
    quality = analysis.mean_quality(data)
    cards = []
    best_quality = max(
        (m for m in data.models if quality.get(m) is not None), key=lambda m: quality[m] or 0, default=None
    )
    if best_quality:
        cards.append(
            _card(
                "Highest quality index",
                best_quality,
                f"{fmt.num(quality[best_quality])} (mean over {len(analysis.quality_basis(data) or analysis.quality_index(data))} scores)",
            )
        )
    fastest = _best_perf(data, "latency_p95_s")
    if fastest:
        cards.append(
            _card("Fastest (p95 latency)", fastest, fmt.seconds(data.performance[fastest]["latency_p95_s"]))
        )
    cheapest = _best_perf(data, "cost_per_1k_records")
    if cheapest:
        cards.append(
            _card(
                "Cheapest",
                cheapest,
                f"{fmt.money(data.performance[cheapest]['cost_per_1k_records'])} per 1k records",
            )
        )
    if cards:
        parts.append(f'<div class="cards">{"".join(cards)}</div>')
    lines = []
    total = len([w for w in won if w.runner_up is not None])
    for head in analysis.headlines(data, won):
        if head.leads:
            lines.append(
                f"<li><b>{e(head.model)}</b> is best on {head.leads} of {total} scores, "
                f"{head.significant_leads} of them beyond noise.</li>"
            )
    noise = sum(1 for w in won if w.significant is False)
    ties = sum(1 for w in won if w.runner_up is not None and w.verdict.startswith("tied"))
    if noise or ties:
        lines.append(
            f"<li>{noise} lead(s) are within noise and {ties} score(s) are tied: the data cannot separate those models there.</li>"
        )
    if lines:
        parts.append(f'<ul class="headline">{"".join(lines)}</ul>')
    rows: list[Sequence[str] | str] = []
    group = None
    for w in won:
        if w.key.evaluation != group:
            group = w.key.evaluation
            rows.append(f'<a href="#{e(_eval_anchor(group))}">{e(group)}</a>')
        badge = ""
        if w.significant is True:
            badge = f'<span class="badge sig">{e(w.verdict)}</span>'
        elif w.significant is False:
            badge = f'<span class="badge noise">{e(w.verdict)}</span>'
        elif w.verdict:
            badge = f'<span class="badge tie">{e(w.verdict)}</span>'
        rows.append(
            [_score_name(analysis.row_label(data, w.key)), _swatch(data, w.best), fmt.num(w.value), badge]
        )
    parts.append("<h3>Best model per score</h3>")
    parts.append(
        _table(
            ["score", "best", "value", "against the runner-up (paired test)"],
            rows,
            numeric=[2],
            cls="winners",
        )
    )
    parts.append(_ranking(data))
    return "".join(parts)


def _ranking(data: ReportData) -> str:
    rows, source = analysis.ranking(data)
    if source == "selection":
        intro = 'Ranking by <code>fmops select</code> (weighted priorities and constraints; see <a href="#selection">Selection</a>).'
    else:
        intro = (
            "Ranking by mean quality index: every score mapped to 0–1 where 1 is best (1 − value for lower-is-better "
            "scores, distance from 0.5 for stereotyping), averaged. Run <code>fmops select</code> to rank by your own priorities."
        )
    body = []
    for r in rows:
        perf = data.performance.get(r.model) or {}
        cells = [
            str(r.place),
            _swatch(data, r.model),
            fmt.num(r.quality),
            fmt.seconds(perf.get("latency_p95_s")),
            fmt.money(perf.get("cost_per_1k_records")),
        ]
        if source == "selection":
            cells.insert(3, fmt.num(r.utility))
            cells.append(
                "✓"
                if r.meets_constraints
                else ("✗ " + e("; ".join(r.violations)) if r.meets_constraints is False else fmt.DASH)
            )
            cells.append(e("; ".join(r.reasons)))
        body.append(cells)
    headers = ["place", "model", "quality index", "p95 latency", "cost / 1k records"]
    numeric = [0, 2, 3, 4]
    if source == "selection":
        headers = [
            "place",
            "model",
            "quality index",
            "utility",
            "p95 latency",
            "cost / 1k records",
            "constraints",
            "why",
        ]
        numeric = [0, 2, 3, 4, 5]
    return f'<h3 id="ranking">Ranking</h3>{_note(intro)}{_table(headers, body, numeric=numeric)}'


def _run_summary(data: ReportData) -> str:
    model = data.models[0]
    run = next(iter(data.runs.values()))
    cards = [_card("Model", model, _model_detail(run))]
    for output in run.outputs:
        entry = run.dataset_entry(output.dataset_name)
        rows = fmt.sampled_rows(entry)
        total = entry.total_rows
        detail = f"{rows if rows is not None else output.num_records} records" + (
            f" of {total}" if total else ""
        )
        cards.append(_card("Dataset", output.dataset_name, detail))
    keys = analysis.reported_keys(data) or list(data.scores)
    for key in keys[: max(1, 5 - len(cards))]:
        value = data.scores[key][model]
        cards.append(
            _card(
                key.score,
                fmt.num(value.value),
                fmt.ci(value.ci_low, value.ci_high) or analysis.info(key.score).description,
            )
        )
    parts = [f'<div class="cards">{"".join(cards)}</div>']
    lines = []
    for output in run.outputs:
        table = analysis.category_table(run, output.dataset_name)
        by_category: dict[str, list[str]] = {}
        for score in output.dataset_scores or []:
            weak = analysis.weakest_category(table, score.name)
            if weak:
                by_category.setdefault(weak[0], []).append(f"{_score_name(score.name)} ({fmt.num(weak[1])})")
        for category, scores in by_category.items():
            lines.append(f"<li>Lowest category: <b>{e(category)}</b> on {', '.join(scores)}.</li>")
        if output.error:
            lines.append(f'<li class="bad">{e(output.error)}</li>')
    if lines:
        parts.append(f'<ul class="headline">{"".join(lines)}</ul>')
    parts.append(
        _note(
            "A single run: compare models with <code>fmops compare</code> to get paired verdicts, a radar and Pareto fronts."
        )
    )
    return "".join(parts)


def _model_detail(run: RunData) -> str:
    model = run.manifest.model
    if model is None:
        return "outputs brought in the dataset"
    return f"{model.provider}/{model.model}"
