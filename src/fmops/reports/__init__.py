"""Reports: a self-contained HTML page and a Markdown summary of an eval run folder or a comparison folder.

The HTML works offline (plotly.js inlined, no fonts or scripts fetched) so it can be mailed, archived or
opened on an air-gapped machine; the Markdown carries the same verdicts for pull requests and chats.

For other faces (the web console): the report's data and pieces, imported on first use so that
`import fmops.reports` stays cheap:

    from fmops.reports import load_report_data, read_run, record_values   # a folder as ReportData
    from fmops.reports import key_labels, unique_best, pareto_chart, radar_chart, ci, num
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fmops.core.errors import BadInputError, MissingDependencyError

if TYPE_CHECKING:
    from fmops.reports._analysis import key_labels, unique_best
    from fmops.reports._charts import pareto_chart, radar_chart
    from fmops.reports._data import ReportData, RunData, ScoreKey, load_report_data, read_run, record_values
    from fmops.reports._format import ci, num

#: Public names served from the private modules on first use (numpy and the charts load only then).
_LAZY = {
    **dict.fromkeys(
        ("ReportData", "RunData", "ScoreKey", "load_report_data", "read_run", "record_values"),
        "fmops.reports._data",
    ),
    **dict.fromkeys(("key_labels", "unique_best"), "fmops.reports._analysis"),
    **dict.fromkeys(("pareto_chart", "radar_chart"), "fmops.reports._charts"),
    **dict.fromkeys(("ci", "num"), "fmops.reports._format"),
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fmops.reports' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


HTML_NAME = "report.html"
MARKDOWN_NAME = "report.md"


@dataclass(frozen=True)
class ReportPaths:
    html: Path
    markdown: Path


def write_report(path: Path, output_dir: Path | None = None) -> ReportPaths:
    """Write report.html and report.md for the run or comparison folder `path` (into `output_dir`, default
    `path`). Raises BadInputError when `path` is neither kind of folder, naming what is missing."""
    from fmops.reports._data import load_report_data
    from fmops.reports._html import render_html
    from fmops.reports._markdown import render_markdown

    source = Path(path)
    data = load_report_data(source)
    plotly_js = _plotly_js()
    target = Path(output_dir) if output_dir is not None else source
    if target.exists() and not target.is_dir():
        raise BadInputError(f"{target}: exists and is not a folder")
    target.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(target / HTML_NAME, target / MARKDOWN_NAME)
    _write(paths.html, render_html(data, plotly_js))
    _write(paths.markdown, render_markdown(data, HTML_NAME))
    return paths


def _plotly_js() -> str:
    """The minified plotly.js shipped inside the plotly wheel (read directly: importing plotly is slow)."""
    try:
        from importlib.resources import files

        bundle = files("plotly") / "package_data" / "plotly.min.js"
        return bundle.read_text(encoding="utf-8")
    except ModuleNotFoundError:
        raise MissingDependencyError("plotly", "report", "The HTML report") from None
    except OSError:  # an unusual plotly layout: ask plotly itself
        from plotly.offline import get_plotlyjs

        return str(get_plotlyjs())


def _write(path: Path, text: str) -> None:
    """Write through a temporary name so a crash never leaves half a report."""
    import os

    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


__all__ = [
    "HTML_NAME",
    "MARKDOWN_NAME",
    "ReportData",
    "ReportPaths",
    "RunData",
    "ScoreKey",
    "ci",
    "key_labels",
    "load_report_data",
    "num",
    "pareto_chart",
    "radar_chart",
    "read_run",
    "record_values",
    "unique_best",
    "write_report",
]
