"""`fmops report` as the integrator mounts it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer
from typer.testing import CliRunner

from fmops.cli.report import report_command


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("report")(report_command)
    app.command("other")(lambda: None)  # two commands, so `report` is a subcommand as in `fmops`
    return app


def test_report_command(byo_run_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["report", str(byo_run_dir), "--output-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "report.html" in result.output and (tmp_path / "report.md").is_file()


def test_report_command_bad_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(_app(), ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "error:" in result.output and "comparison.json" in result.output


def test_importing_the_command_is_light() -> None:
    """`fmops --help` imports every command module: this one must not pull in the report machinery."""
    code = (
        "import sys, fmops.cli.report; "
        "print(sorted(m for m in ('fmops.reports', 'plotly', 'numpy', 'fmops.evaluation') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
