"""What every section of the HTML report shares: escaping, the page that collects sections and charts,
tables, cells and notes."""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any

from fmops.reports import _analysis as analysis
from fmops.reports import _charts as charts
from fmops.reports import _format as fmt
from fmops.reports._data import ReportData


def e(value: Any) -> str:
    """Escape for HTML text and attribute values."""
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value: Any) -> str:
    """JSON safe inside a <script> element: no `</script>`, no HTML comment openers, no JS line breaks."""
    text = json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(raw, escaped)
    return text


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class _Page:
    """Collects sections and the charts they place, so chart ids are unique and drawn once."""

    def __init__(self, data: ReportData) -> None:
        self.data = data
        self.charts: list[charts.Chart] = []
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self._ids = 0

    def chart_id(self, kind: str) -> str:
        self._ids += 1
        return f"chart-{kind}-{self._ids}"

    def place(self, chart: charts.Chart | None) -> str:
        if chart is None:
            return ""
        self.charts.append(chart)
        return f'<div class="chart" id="{e(chart.id)}" style="height:{chart.height}px"></div>'

    def section(self, anchor: str, title: str, body: str) -> None:
        self.toc.append((anchor, title))
        self.parts.append(
            f'<section id="{e(anchor)}"><h2><a class="anchor" href="#{e(anchor)}">#</a>{e(title)}</h2>{body}</section>'
        )


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str] | str], numeric: Iterable[int] = (), cls: str = ""
) -> str:
    """Cells are HTML already escaped by the caller; `numeric` columns are right-aligned; a row given as a
    plain string is a group heading spanning the table."""
    nums = set(numeric)
    head = "".join(f"<th{' class=num' if i in nums else ''}>{h}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        if isinstance(row, str):
            body.append(f'<tr class="group"><td colspan="{len(headers)}">{row}</td></tr>')
            continue
        cells = "".join(f"<td{' class=num' if i in nums else ''}>{c}</td>" for i, c in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return (
        f'<div class="scroll"><table class="{e(cls)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _swatch(data: ReportData, model: str) -> str:
    color = charts.colors(data.models).get(model, "#999")
    return f'<span class="swatch" style="background:{color}"></span>{e(model)}'


def _note(text: str) -> str:
    return f'<p class="note">{text}</p>'


def _value_cell(value: Any, best: bool = False) -> str:
    if value is None or value.value is None:
        return fmt.DASH
    interval = fmt.ci(value.ci_low, value.ci_high)
    text = f'<span class="{"best" if best else ""}">{fmt.num(value.value)}</span>'
    if interval:
        text += f' <span class="ci">{interval}</span>'
    if value.errors:
        text += f' <span class="errs" title="records without this score">{value.errors} err</span>'
    return text


def _score_name(score: str) -> str:
    meaning = analysis.info(score)
    tip = e(meaning.description) if meaning.description else ""
    return f'<span class="score" title="{tip}">{e(score)}</span>'


def _card(title: str, value: str, detail: str) -> str:
    return f'<div class="card"><div class="label">{e(title)}</div><div class="value">{e(value)}</div><div class="detail">{e(detail)}</div></div>'


def _best_perf(data: ReportData, metric: str) -> str | None:
    values = {m: p[metric] for m, p in data.performance.items() if p.get(metric) is not None}
    if len(values) < 2:
        return None
    return min(values, key=lambda m: (values[m], data.models.index(m) if m in data.models else 0))


def _bold(text: str, bold: bool) -> str:
    return f"<b>{text}</b>" if bold else text


def _f(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _eval_anchor(evaluation: str) -> str:
    return f"eval-{fmt.slug(evaluation)}"
