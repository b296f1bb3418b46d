"""README.md stays true (issue 15, items 12, 13 and 15).

How README blocks are checked (a new section must choose one, or this test fails): every fenced `bash`,
`console`, `sh` or `python` block has, on the line just before its opening fence, a marker:

    <!-- readme: run -->           run here, in README order, in one temporary folder that has `examples/`:
                                   each `fmops ...` line through the CLI, each Python block with exec; a
                                   `console` block's table rows must appear in the real output
    <!-- readme: run-zoo -->       needs the trained zoo (a minute of CPU a model, too slow for the suite):
                                   here every command must parse (options, values, arguments) and Python
                                   must compile; `python bench/readme_figures.py` runs them for real
    <!-- readme: skip REASON -->   not run (a network service, credentials, `make`), with the reason

Figures between `<!-- figures:NAME -->` and `<!-- /figures -->` come from `python bench/readme_figures.py`
(quickstart transcript and summary, zoo table); this test checks their structure, the script their values.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import click
import pytest
import typer
from bench import readme_figures
from bench._readme import COMMAND_LANGUAGES, README, Block, blocks, figure_blocks
from typer.testing import CliRunner

from fmops.cli import app
from tests.conftest import EXAMPLES, REPO

TEXT = README.read_text(encoding="utf-8")
BLOCKS = [b for b in blocks(TEXT) if b.language in COMMAND_LANGUAGES]


def test_every_command_block_says_how_it_is_checked() -> None:
    unmarked = [f"README.md:{b.line} ({b.language})" for b in BLOCKS if b.mode is None]
    assert not unmarked, f"add <!-- readme: run|run-zoo|skip REASON --> before: {', '.join(unmarked)}"
    assert all(b.reason for b in BLOCKS if b.mode == "skip"), "a skipped block must say why"
    assert sum(b.mode == "run" for b in BLOCKS) >= 4 and sum(b.mode == "run-zoo" for b in BLOCKS) >= 4


def test_figure_blocks_are_well_formed_and_known_to_the_regenerating_script() -> None:
    figures = figure_blocks(TEXT)
    assert set(figures) == set(readme_figures.FIGURES)
    quickstart = figures["quickstart"]
    assert "```console" in quickstart and "$ make run" in quickstart and "selected:" in quickstart
    assert re.search(r"Selected: \S+\.", figures["quickstart-summary"])
    table = [line for line in figures["zoo"].splitlines() if line.startswith("|")]
    assert len(table) >= 3 and re.fullmatch(r"\|(-+\|)+", table[1].replace(" ", "").replace(":", ""))


def test_links_stay_inside_the_repository() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT):
        if "://" not in target:
            assert (REPO / target).exists(), f"README links {target}, which a clone does not have"
    assert "../shared" not in TEXT
    assert (REPO / "docs" / "algorithms.md").is_file()


def _parse(args: list[str]) -> None:
    """What click does before running a command: resolve subcommands, convert every option and argument."""
    command: click.Command = typer.main.get_command(app)
    ctx = command.make_context("fmops", list(args))
    while isinstance(command, click.Group):
        name, sub, rest = command.resolve_command(ctx, ctx.protected_args + ctx.args)
        assert sub is not None, f"no command {name}"
        command, ctx = sub, sub.make_context(name or "", rest, parent=ctx)


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.mode == "run-zoo"], ids=lambda b: f"line{b.line}")
def test_zoo_blocks_parse(block: Block) -> None:
    if block.language == "python":
        compile(block.body, f"README.md:{block.line}", "exec")
        return
    assert block.commands(), f"README.md:{block.line}: no fmops command found"
    for args in block.commands():
        _parse(args)


def test_runnable_blocks_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "examples").symlink_to(EXAMPLES)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    for block in (b for b in BLOCKS if b.mode == "run"):
        where = f"README.md:{block.line}"
        if block.language == "python":
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(block.body, where, "exec"), {"__name__": "__readme__"})
            continue
        assert block.commands(), f"{where}: no fmops command found"
        shown = "".join(block.body.partition("\n")[2])  # a console block's recorded output
        for args in block.commands():
            result = runner.invoke(app, args, env={"COLUMNS": "120", "NO_COLOR": "1"})
            assert result.exit_code == 0, f"{where}: fmops {' '.join(args)}\n{result.output}"
            if block.language == "console":
                for row in (line.strip() for line in shown.splitlines() if line.startswith("│")):
                    assert row in result.stdout, f"{where}: the transcript's row {row!r} is not what runs"
    assert os.path.isdir("runs/qa-rescored")
