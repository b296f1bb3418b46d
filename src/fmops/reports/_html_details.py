"""The report's evidence: the selection, best and worst examples, and what was run (models, configs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fmops.reports import _analysis as analysis
from fmops.reports import _format as fmt
from fmops.reports._data import ReportData, RunData
from fmops.reports._html_parts import (
    _f,
    _note,
    _Page,
    _swatch,
    _table,
    e,
)


def _selection(data: ReportData) -> str:
    selection = data.selection
    if not selection:
        return _note(
            "No selection yet: run <code>fmops select DIR --priority …</code> to rank the models by your priorities; the report then shows the choice and why."
        )
    parts = []
    if selection.get("selected"):
        parts.append(
            f'<div class="callout"><div class="label">Selected</div><div class="big">{e(selection["selected"])}</div><p>{e(selection.get("explanation") or "")}</p></div>'
        )
    priorities = [p for p in selection.get("priorities") or [] if isinstance(p, dict)]
    if priorities:
        rows = [[e(p.get("rank")), e(p.get("metric")), fmt.num(_f(p.get("weight")), 2)] for p in priorities]
        parts.append("<h3>Priorities</h3>" + _table(["rank", "metric", "weight"], rows, numeric=[0, 2]))
    constraints = [c for c in selection.get("constraints") or [] if isinstance(c, dict)]
    if constraints:
        rows = [[e(c.get("metric")), e(c.get("op")), e(c.get("value"))] for c in constraints]
        parts.append("<h3>Constraints</h3>" + _table(["metric", "must be", "value"], rows))
    ranking = [r for r in selection.get("ranking") or [] if isinstance(r, dict)]
    if ranking:
        rows = [
            [
                e(r.get("place")),
                _swatch(data, str(r.get("model"))),
                fmt.num(_f(r.get("utility"))),
                "✓" if r.get("meets_constraints") else "✗",
                e("; ".join(str(v) for v in r.get("violations") or [])) or fmt.DASH,
                "<ul class=plain>" + "".join(f"<li>{e(x)}</li>" for x in r.get("reasons") or []) + "</ul>",
            ]
            for r in ranking
        ]
        parts.append(
            "<h3>Ranking</h3>"
            + _table(
                ["place", "model", "utility", "meets constraints", "violations", "why"], rows, numeric=[0, 2]
            )
        )
    if selection.get("pareto_front"):
        axes = ", ".join(e(a) for a in selection.get("pareto_axes") or [])
        front = ", ".join(e(m) for m in selection["pareto_front"])
        parts.append(_note(f"Pareto front over {axes or 'the priorities'}: <b>{front}</b>."))
    return "".join(parts)


def _examples(page: _Page) -> str:
    data = page.data
    parts = []
    for evaluation in data.evaluations:
        algorithm = data.algorithms.get(evaluation) or ""
        runs = [(m, data.runs[(m, evaluation)]) for m in data.models if (m, evaluation) in data.runs]
        if not runs:
            continue
        datasets = list(dict.fromkeys(d for _, run in runs for d in run.records))
        block = []
        for dataset in datasets:
            by_model = {
                m: analysis.score_examples(algorithm, run.records.get(dataset, [])) for m, run in runs
            }
            scores = list(dict.fromkeys(s.score for items in by_model.values() for s in items))
            for index, score in enumerate(scores):
                inner = []
                shown_name = score
                for model, items in by_model.items():
                    found = next((s for s in items if s.score == score), None)
                    if found is None:
                        continue
                    shown_name = found.display_score
                    heading = f"<h4>{_swatch(data, model)}</h4>" if len(runs) > 1 else ""
                    inner.append(
                        heading
                        + _example_table(found.best_title, found.best, found.score)
                        + (
                            _example_table(found.worst_title, found.worst, found.score)
                            if found.worst_title
                            else ""
                        )
                    )
                title = shown_name if len(datasets) == 1 else f"{shown_name} · {dataset}"
                desc = analysis.info(shown_name).description
                opened = " open" if index == 0 else ""
                block.append(
                    f'<details class="examples"{opened}><summary>{e(title)} <span class="muted">{e(desc)}</span></summary><div class="inner">{"".join(inner)}</div></details>'
                )
        if block:
            parts.append(f"<h3>{e(evaluation)}</h3>" + "".join(block))
    if not parts:
        return _note("No per-record files were found, so there are no examples to show.")
    return _note(
        f"Top and bottom {analysis.NUM_EXAMPLES} records per score, as fmeval's reports show them; texts are cut at {analysis.TRUNCATE} characters. For robustness runs, each perturbed input is shown with the output it got."
    ) + "".join(parts)


def _example_table(title: str, examples: Sequence[analysis.Example], score_label: str) -> str:
    if not examples:
        return f'<p class="ex-title">{e(title)}</p>' + _note("none")
    labels = list(
        dict.fromkeys(label for ex in examples for label, value in ex.fields if isinstance(value, str))
    )
    extras = list(dict.fromkeys(k for ex in examples for k in ex.extra))
    perturbed = any(isinstance(v, list) for ex in examples for _, v in ex.fields)
    headers = ["row", e(score_label), *extras, *labels] + (["perturbed input → output"] if perturbed else [])
    rows = []
    for ex in examples:
        fields = dict(ex.fields)
        cells = [e(ex.row), f"<b>{e(ex.value)}</b>"]
        cells += [f'<span class="text">{e(ex.extra.get(k, ""))}</span>' for k in extras]
        cells += [f'<span class="text">{e(fields.get(label, ""))}</span>' for label in labels]
        if perturbed:
            inputs = fields.get("perturbed inputs") or []
            outputs = fields.get("perturbed outputs") or []
            pairs = []
            for i in range(max(len(inputs), len(outputs))):
                given = inputs[i] if i < len(inputs) else ""
                got = outputs[i] if i < len(outputs) else ""
                pairs.append(
                    f'<li><span class="text">{e(given)}</span> <span class="arrow">→</span> <span class="text out">{e(got)}</span></li>'
                )
            cells.append(f'<ol class="pert">{"".join(pairs)}</ol>')
        rows.append(cells)
    return f'<p class="ex-title">{e(title)}</p>' + _table(headers, rows, numeric=[1], cls="ex")


# ------------------------------------------------------------------------------------------------- manifest


def _manifest(data: ReportData) -> str:
    parts = [_models_table(data)]
    for evaluation in data.evaluations:
        runs = [(m, data.runs[(m, evaluation)]) for m in data.models if (m, evaluation) in data.runs]
        if runs:
            parts.append(f"<h3>{e(evaluation)}</h3>" + _run_block(data, runs))
    if len(parts) == 1:
        parts.append(_note("No run folders found."))
    return "".join(parts)


def _models_table(data: ReportData) -> str:
    rows = []
    for model in data.models:
        info = data.model_info.get(model) or {}
        run = next((r for (m, _), r in data.runs.items() if m == model), None)
        spec = run.manifest.model if run else None
        decoding = spec.generate_config if spec else None
        decoding = (
            {k: v for k, v in decoding.items() if v is not None and v is not False and v != []}
            if isinstance(decoding, dict)
            else None
        )
        fingerprint = info.get("fingerprint") or (spec.fingerprint if spec else None)
        name = info.get("spec") or (f"{spec.provider}/{spec.model}" if spec else None)
        prices = {k: v for k, v in (info.get("prices") or {}).items() if v is not None}
        rows.append(
            [
                _swatch(data, model),
                e(name) if name else '<span class="muted">outputs in the dataset</span>',
                f'<code title="{e(fingerprint)}">{e(fmt.short_hash(fingerprint))}</code>'
                if fingerprint
                else fmt.DASH,
                f"<code>{e(fmt.compact_json(decoding))}</code>" if decoding else fmt.DASH,
                f"<code>{e(fmt.compact_json(prices))}</code>" if prices else fmt.DASH,
            ]
        )
    return "<h3>Models</h3>" + _table(["model", "spec", "fingerprint", "decoding", "prices"], rows)


def _run_block(data: ReportData, runs: Sequence[tuple[str, RunData]]) -> str:
    """One evaluation: what every model shared (algorithm, config, data, sampled rows), then any difference."""
    first_model, first = runs[0]
    rows = [
        ["algorithm", f"<code>{e(first.manifest.algorithm)}</code>"],
        ["config", f"<code>{e(fmt.compact_json(_config(first)))}</code>"],
    ]
    lines = []
    for entry in first.manifest.datasets:
        name = entry.name
        sampling = entry.sampling or {}
        seed = f" (seed {e(sampling.get('seed'))})" if sampling.get("seed") is not None else ""
        helpers = fmt.helper_models(entry)
        rows += [
            "dataset " + e(name),
            ["location", f"<code>{e(entry.uri)}</code>"],
            ["sha256", f"<code>{e(entry.sha256 or fmt.DASH)}</code>"],
            [
                "sampled rows",
                f"{fmt.count(fmt.sampled_rows(entry))} of {fmt.count(entry.total_rows)}{seed}",
            ],
            [
                "prompt template",
                f"<code>{e(entry.prompt_template)}</code>"
                if entry.prompt_template
                else "none (outputs in the dataset)",
            ],
        ]
        rows += [
            [e(k.replace("_", " ")), f"<code>{e(fmt.compact_json(v))}</code>"] for k, v in helpers.items()
        ]
        if entry.skipped_records:
            rows.append(["skipped bad records", fmt.count(entry.skipped_records)])
        for model, run in runs[1:]:
            other = run.dataset_entry(str(name))
            if other.sha256 != entry.sha256 or (other.sampling or {}).get("rows") != sampling.get("rows"):
                lines.append(
                    f'<li class="bad">✗ {e(model)} saw different data or rows of <code>{e(name)}</code> than {e(first_model)}: paired verdicts compare different records.</li>'
                )
            if other.prompt_template != entry.prompt_template:
                template = other.prompt_template
                lines.append(
                    f"<li>{e(model)} used the prompt template <code>{e(template)}</code>.</li>"
                    if template
                    else f"<li>{e(model)} brought its outputs in the dataset.</li>"
                )
    for model, run in runs[1:]:
        if _config(run) != _config(first):
            lines.append(
                f"<li>{e(model)} ran with config <code>{e(fmt.compact_json(_config(run)))}</code>.</li>"
            )
    if data.is_comparison and len(runs) > 1 and not any('class="bad"' in line for line in lines):
        lines.insert(0, f"<li>✓ all {len(runs)} models were scored on the same records.</li>")
    table = _table(["", ""], rows, cls="kv")
    return table + (f'<ul class="checks">{"".join(lines)}</ul>' if lines else "")


def _config(run: RunData) -> dict[str, Any]:
    return {k: v for k, v in run.manifest.config.items() if v is not None}
