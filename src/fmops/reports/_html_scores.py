"""The report's numbers: scores with intervals, scores by category, the quality profile and Pareto fronts,
latency and cost."""

from __future__ import annotations

from typing import Any

from fmops.reports import _analysis as analysis
from fmops.reports import _charts as charts
from fmops.reports import _format as fmt
from fmops.reports._data import ReportData
from fmops.reports._html_parts import (
    _best_perf,
    _bold,
    _eval_anchor,
    _note,
    _Page,
    _score_name,
    _swatch,
    _table,
    _value_cell,
    e,
)


def _scores(page: _Page) -> str:
    data = page.data
    parts = []
    for evaluation in data.evaluations:
        keys = data.keys_of(evaluation)
        if not keys:
            continue
        algorithm = data.algorithms.get(evaluation) or ""
        labels = analysis.key_labels(keys)
        n = sorted({v.n for k in keys for v in data.scores[k].values() if v.n is not None})
        meta = [f"algorithm <code>{e(algorithm)}</code>"] if algorithm else []
        meta.append("dataset " + ", ".join(f"<code>{e(d)}</code>" for d in data.datasets_of(evaluation)))
        if n:
            meta.append(f"{'/'.join(str(x) for x in n)} records")
        parts.append(
            f'<h3 id="{e(_eval_anchor(evaluation))}">{e(evaluation)}</h3><p class="meta-line">{" · ".join(meta)}</p>'
        )
        rows = []
        if data.is_comparison:
            models = data.models_in(evaluation)
            for key in keys:
                by_model = data.scores[key]
                meaning = analysis.info(key.score)
                best = analysis.unique_best(key.score, {m: v.value for m, v in by_model.items()})
                rows.append(
                    [
                        _score_name(labels[key]),
                        f'<span class="dir">{e(fmt.direction(meaning.direction, meaning.ideal))}</span>',
                    ]
                    + [_value_cell(by_model.get(m), m == best) for m in models]
                    + [f'<span class="desc">{e(meaning.description)}</span>']
                )
            headers = ["score", "better", *[_swatch(data, m) for m in models], "what it measures"]
            parts.append(_table(headers, rows, numeric=range(2, 2 + len(models)), cls="scores"))
        else:
            model = data.models[0]
            for key in keys:
                value = data.scores[key][model]
                meaning = analysis.info(key.score)
                rows.append(
                    [
                        _score_name(labels[key]),
                        f"<b>{fmt.num(value.value)}</b>",
                        fmt.ci(value.ci_low, value.ci_high) or fmt.DASH,
                        f'<span class="dir">{e(fmt.direction(meaning.direction, meaning.ideal))}</span>',
                        str(value.errors) if value.errors else "0",
                        e(meaning.description),
                    ]
                )
            parts.append(
                _table(
                    ["score", "value", "95% interval", "better", "errors", "what it measures"],
                    rows,
                    numeric=[1, 2, 4],
                    cls="scores",
                )
            )
        parts.append(page.place(charts.scores_chart(data, evaluation, page.chart_id("scores"))))
    if not parts:
        return _note("No dataset-level scores in this folder.")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------- categories


def _category_tables(
    data: ReportData, evaluation: str, dataset: str
) -> dict[str, dict[str, dict[str, float | None]]]:
    tables = {}
    for model in data.models:
        run = data.runs.get((model, evaluation))
        if run is not None:
            table = analysis.category_table(run, dataset)
            if table:
                tables[model] = table
    return tables


def _categories(page: _Page) -> str:
    data = page.data
    parts = []
    for evaluation in data.evaluations:
        for dataset in data.datasets_of(evaluation):
            tables = _category_tables(data, evaluation, dataset)
            if not tables:
                continue
            keys = [
                k
                for k in data.keys_of(evaluation, dataset)
                if any(k.score in c for t in tables.values() for c in t.values())
            ]
            title = evaluation if len(data.datasets_of(evaluation)) == 1 else f"{evaluation} · {dataset}"
            parts.append(f"<h3>{e(title)}</h3>")
            parts.append(
                page.place(
                    charts.category_chart(data, evaluation, dataset, tables, page.chart_id("categories"))
                )
            )
            categories = sorted({c for t in tables.values() for c in t})
            models = [m for m in data.models if m in tables]
            rows = []
            for category in categories:
                for i, model in enumerate(models):
                    first = f"<b>{e(category)}</b>" if i == 0 else ""
                    cells = [first] + ([_swatch(data, model)] if len(models) > 1 else [])
                    cells += [fmt.num(tables[model].get(category, {}).get(k.score)) for k in keys]
                    rows.append(cells)
            headers = (
                ["category"] + (["model"] if len(models) > 1 else []) + [_score_name(k.score) for k in keys]
            )
            offset = 2 if len(models) > 1 else 1
            parts.append(
                _table(
                    headers,
                    rows,
                    numeric=range(offset, offset + len(keys)),
                    cls="grouped" if len(models) > 1 else "",
                )
            )
            weak = []
            for key in keys:
                items = [
                    f"{e(m)}: <b>{e(w[0])}</b> ({fmt.num(w[1])})"
                    for m in models
                    if (w := analysis.weakest_category(tables[m], key.score))
                ]
                if items:
                    weak.append(f"<li>{_score_name(key.score)} is lowest in " + "; ".join(items) + "</li>")
            if weak:
                parts.append(
                    f'<details class="weak"><summary>Weakest category per score</summary><div class="inner"><ul>{"".join(weak)}</ul></div></details>'
                )
    if not parts:
        return _note(
            "No categories: give the dataset a category column (<code>--category</code>) to see scores per category."
        )
    shown = analysis.MAX_CATEGORIES
    return _note(
        f"Charts show the overall score and up to {shown} categories, weakest first; pick a score from the menu. Stereotyping bars grow from 0.5 (no preference)."
    ) + "".join(parts)


# ---------------------------------------------------------------------------------------- radar and Pareto


def _radar(page: _Page) -> str:
    data = page.data
    chart = charts.radar_chart(data, page.chart_id("radar"))
    if chart is None:
        return _note("The quality profile needs at least two models and three scores.")
    return _note(
        'Every score mapped to a 0–1 quality index where 1 is best (see <a href="#ranking">Ranking</a>); '
        "the larger the area, the better the model overall."
    ) + page.place(chart)


def _pareto(page: _Page) -> str:
    data = page.data
    parts = [
        _note(
            "Each point is a model: up is better quality (mean quality index), left is cheaper or faster. Stars on the dotted line form "
            "the Pareto front: no other model is both better and cheaper (or faster)."
        )
    ]
    drawn = False
    for metric, title in (
        ("cost_per_1k_records", "cost per 1k records"),
        ("latency_p95_s", "p95 latency (s)"),
    ):
        chart, front = charts.pareto_chart(data, metric, title, page.chart_id("pareto"))
        if chart is None:
            reason = "no prices for the models" if metric.startswith("cost") else "no latency measurements"
            parts.append(
                f"<h3>Quality vs {e(title)}</h3>" + _note(f"Not drawn: {reason} (or fewer than two models).")
            )
            continue
        drawn = True
        names = ", ".join(e(m) for m in data.models if m in front)
        parts.append(
            f"<h3>Quality vs {e(title)}</h3>" + page.place(chart) + _note(f"On the front: <b>{names}</b>.")
        )
    if not drawn and len(data.models) < 2:
        return _note("Pareto fronts need at least two models.")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------- performance


def _performance(data: ReportData) -> str:
    if not data.performance:
        return _note("No model calls were made (outputs came with the dataset): no latency or cost to show.")
    fastest = _best_perf(data, "latency_p95_s")
    cheapest = _best_perf(data, "cost_per_1k_records")
    columns: list[tuple[str, Any]] = [
        ("records", lambda p, m: fmt.count(p.get("records"))),
        (
            "calls",
            lambda p, m: (
                f"{fmt.count(p.get('calls'))} <span class=ci>({fmt.count(p.get('cached_calls'))} reused)</span>"
            ),
        ),
        ("errors", lambda p, m: fmt.count(p.get("errors"))),
        (
            "latency p50 / p95",
            lambda p, m: (
                fmt.seconds(p.get("latency_p50_s"))
                + " / "
                + _bold(fmt.seconds(p.get("latency_p95_s")), m == fastest)
            ),
        ),
        ("TTFT p50", lambda p, m: fmt.seconds(p.get("ttft_p50_s"))),
        ("throughput", lambda p, m: fmt.rate(p.get("throughput_rps"), "rec/s")),
        (
            "tokens in / out",
            lambda p, m: f"{fmt.count(p.get('input_tokens'))} / {fmt.count(p.get('output_tokens'))}",
        ),
        ("cost", lambda p, m: fmt.money(p.get("cost"))),
        ("cost / 1k records", lambda p, m: _bold(fmt.money(p.get("cost_per_1k_records")), m == cheapest)),
    ]
    models = [m for m in data.models if data.performance.get(m)]
    table = [[render(data.performance[m], m) for _, render in columns] for m in models]
    empty = (fmt.DASH, "", f"{fmt.DASH} / {fmt.DASH}")
    keep = [i for i in range(len(columns)) if any(row[i].strip() not in empty for row in table)]
    headers = ["model"] + [columns[i][0] for i in keep]
    rows = [[_swatch(data, m)] + [row[i] for i in keep] for m, row in zip(models, table, strict=True)]
    note = _note(
        "Latency per record (all its model calls); reused: answers from the response store or shared by "
        "identical requests; cost in the prices' currency, counting only calls made in these runs. "
        "Fastest and cheapest in bold."
    )
    return note + _table(headers, rows, numeric=range(1, len(headers)))
