"""write_report on comparison folders and run folders: files, sections, escaping, errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError
from fmops.reports import ReportPaths, write_report
from fmops.reports._charts import scores_chart
from fmops.reports._data import load_report_data
from tests.reports._fixtures import SECTIONS, XSS_CATEGORY, XSS_MODEL, XSS_QUESTION


def _md_tables_are_well_formed(markdown: str) -> None:
    """Every table row has as many cells as its header (escaped pipes do not count)."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|(-+:?\|)+$", lines[i + 1]):
            width = len(re.findall(r"(?<!\\)\|", line))
            j = i + 2
            while j < len(lines) and lines[j].startswith("|"):
                assert len(re.findall(r"(?<!\\)\|", lines[j])) == width, lines[j]
                j += 1


def test_comparison_report(comparison_dir: Path, tmp_path: Path) -> None:
    paths = write_report(comparison_dir, tmp_path / "out")
    assert paths == ReportPaths(tmp_path / "out" / "report.html", tmp_path / "out" / "report.md")
    html = paths.html.read_text(encoding="utf-8")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html and f'href="#{section}"' in html
    # Self-contained: plotly inlined, nothing fetched.
    assert "Plotly.newPlot" in html and len(html) > 1_000_000
    assert not re.search(r"<script[^>]+src=", html) and "<link" not in html
    head, _, rest = html.partition("<script>")
    ours = head + rest.split("</script>", 1)[1]  # the page without the plotly bundle
    assert "http://" not in ours and "https://" not in ours
    # Summary, verdicts, selection, manifest facts.
    assert "better than echo/hint, p &lt; 0.001" in html
    assert "within noise of echo/parrot" in html
    assert "echo/hint is the cheapest model" in html
    assert "364c906b" in html or "sha256" in html
    assert "40 of 40" in html  # sampled rows
    assert "Word-set F1 between output" in html  # score_info descriptions
    # Robustness examples show perturbed inputs next to their outputs.
    assert "perturbed input → output" in html


def test_comparison_markdown(comparison_dir: Path, tmp_path: Path) -> None:
    markdown = write_report(comparison_dir, tmp_path).markdown.read_text(encoding="utf-8")
    for heading in (
        "## Summary",
        "## Ranking",
        "## Scores",
        "## Latency and cost",
        "## Selection",
        "## What was run",
    ):
        assert heading in markdown
    assert "**Selected: echo/hint.**" in markdown
    ranking = markdown.split("## Ranking")[1].split("## Scores")[0]
    assert ranking.index("echo/hint") < ranking.index("echo/parrot")  # the selection's order
    assert "better than echo/hint, p < 0.001" in markdown
    assert "Cheapest per 1k records: **echo/hint**" in markdown
    # Escaped for Markdown: no tag can open (`\<script>` renders as text), and no HTML entity shows.
    assert not re.search(r"(?<!\\)<[A-Za-z/!?]", markdown) and "&lt;" not in markdown
    assert "\\<script>" in markdown
    _md_tables_are_well_formed(markdown)


def test_user_text_is_escaped(comparison_dir: Path, tmp_path: Path) -> None:
    html = write_report(comparison_dir, tmp_path).html.read_text(encoding="utf-8")
    body, _, scripts = html.partition("<script>")
    for raw in (
        XSS_MODEL,
        XSS_QUESTION,
        XSS_CATEGORY,
        "<b>none</b>",
        "<b>0.9</b>",
        "window.__xss=4</script>",
    ):
        assert raw not in html
    assert "gold &lt;script&gt;window.__xss=3&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=&quot;window.__xss=2&quot;&gt;" in body
    # The chart data carries the model names, but never a raw '<' that could close its script element.
    chart_script = html.rsplit("<script>", 1)[1].split("</script>")[0]
    assert "window.__xss=3" in chart_script and "<" not in chart_script
    assert scripts.count("<script>") == 1  # the plotly bundle and the chart script only


def test_stereotyping_bars_are_centred_at_one_half(comparison_dir: Path) -> None:
    data = load_report_data(comparison_dir)
    chart = scores_chart(data, "prompt_stereotyping/stereotyping_logprobs", "c")
    assert chart is not None
    for trace in chart.data:
        assert trace["base"] == [0.5]
    values = {trace["name"]: trace["y"][0] + 0.5 for trace in chart.data}
    assert values["echo/parrot"] == pytest.approx(1 / 3)
    assert any(shape["y0"] == 0.5 for shape in chart.layout["shapes"])


def test_single_byo_run(byo_run_dir: Path) -> None:
    paths = write_report(byo_run_dir)
    assert paths.html.parent == byo_run_dir and paths.markdown.is_file()
    html = paths.html.read_text(encoding="utf-8")
    assert 'id="radar"' not in html and 'id="selection"' not in html
    assert "No model calls were made" in html
    assert "chart-scores-" in html and "chart-categories-" in html
    assert "Lowest category" in html
    markdown = paths.markdown.read_text(encoding="utf-8")
    assert "model BYO outputs" in markdown and "**f1_score**: 0.897" in markdown
    _md_tables_are_well_formed(markdown)


def test_single_model_run_with_robustness(robustness_run_dir: Path, tmp_path: Path) -> None:
    html = write_report(robustness_run_dir, tmp_path).html.read_text(encoding="utf-8")
    rows = [
        json.loads(x) for x in next((robustness_run_dir / "records").glob("*.jsonl")).read_text().splitlines()
    ]
    perturbed = rows[0]["perturbed_model_inputs"][0]
    assert perturbed.replace("&", "&amp;").replace("<", "&lt;") in html
    examples = html.split('<section id="examples">')[1].split("</section>")[0]
    assert "<summary>delta_f1_score" in examples
    assert "<summary>f1_score" not in examples  # as fmeval: accuracy robustness shows only the deltas
    assert "latency p50 / p95" in html  # the echo model's calls have usage


def test_missing_run_folder_is_a_warning(comparison_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(comparison_dir, copy)
    shutil.rmtree(copy / "runs" / "echo-parrot")
    html = write_report(copy).html.read_text(encoding="utf-8")
    assert "is missing: no examples shown" in html
    scores = html.split('<section id="scores">')[1]
    assert "echo/parrot" in scores  # its scores still come from comparison.json


def test_report_is_deterministic(byo_run_dir: Path, tmp_path: Path) -> None:
    first = write_report(byo_run_dir, tmp_path / "a")
    second = write_report(byo_run_dir, tmp_path / "b")
    assert first.html.read_text() == second.html.read_text()
    assert first.markdown.read_text() == second.markdown.read_text()


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda p: p / "nope", "no such folder"),
        (
            lambda p: p,
            "neither a comparison folder (no comparison.json) nor an eval run folder (no results.json)",
        ),
        (lambda p: (p / "results.json").write_text("[]") and p, "results.json without manifest.json"),
        (lambda p: (p / "comparison.json").write_text("{oops") and p, "comparison.json: not valid JSON"),
        (lambda p: (p / "comparison.json").write_text('{"models": []}') and p, "missing 'scores'"),
        (lambda p: (p / "f.txt").write_text("x") and p / "f.txt", "not a folder"),
    ],
)
def test_bad_folders(tmp_path: Path, setup: object, message: str) -> None:
    path = setup(tmp_path)  # type: ignore[operator]
    with pytest.raises(BadInputError, match=re.escape(message)):
        write_report(path)
    assert not (tmp_path / "report.html").exists()


def test_real_compare_folder(tmp_path: Path) -> None:
    """The folder `fmops compare` writes today renders (guards the reader against the writer)."""
    from fmops.comparison import compare
    from tests.conftest import EXAMPLES

    out = tmp_path / "cmp"
    compare(EXAMPLES / "suite.yaml", ["echo/a", "echo/b"], out, num_records=6)
    paths = write_report(out)
    html = paths.html.read_text(encoding="utf-8")
    assert "echo/a" in html and "prompt_stereotyping" in html
    assert "| echo/a |" in paths.markdown.read_text(encoding="utf-8")


def test_markdown_shows_the_config_as_written_not_as_html_entities(byo_run_dir: Path, tmp_path: Path) -> None:
    """qa_accuracy's delimiter `<OR>` reads as itself in report.md (issue 15, item 14), still unable to open a tag."""
    markdown = write_report(byo_run_dir, tmp_path).markdown.read_text(encoding="utf-8")
    assert "\\<OR>" in markdown
    assert "&lt;" not in markdown and "&gt;" not in markdown
