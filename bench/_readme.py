"""README.md as data: its command blocks (with the marker that says how each is checked) and its figure
blocks (text regenerated from a run). Read by `tests/test_readme.py` and `bench/readme_figures.py`.

Command blocks: every fenced `bash`, `console`, `sh` or `python` block carries, on the line just before
its opening fence, one of

    <!-- readme: run -->           tests/test_readme.py runs it (offline, a temporary folder, in order)
    <!-- readme: run-zoo -->       it needs the trained zoo: the test checks that every command parses,
                                   `python bench/readme_figures.py` runs it for real after training
    <!-- readme: skip REASON -->   not run, and why (needs a network service, credentials, `make`)

Figure blocks: text between `<!-- figures:NAME -->` and `<!-- /figures -->` is written by
`python bench/readme_figures.py` from a run; edit the script, not the block.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
COMMAND_LANGUAGES = ("bash", "console", "sh", "python")
_MARKER = re.compile(r"^<!-- readme: (run|run-zoo|skip)(?: (.+?))? -->$")
_FENCE = re.compile(r"^```(\S*)\s*$")
FIGURES_OPEN = re.compile(r"^<!-- figures:([a-z0-9-]+) -->$")
FIGURES_CLOSE = "<!-- /figures -->"


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, body, 1-based line of the opening fence, and marker (or None)."""

    language: str
    body: str
    line: int
    mode: str | None
    reason: str | None

    def commands(self) -> list[list[str]]:
        """The `fmops` commands of a shell block, as argument lists (continuations joined, comments and
        console output dropped). In a console block only `$ ` lines are commands."""
        logical: list[str] = []
        pending = ""
        for raw in self.body.splitlines():
            line = raw
            if self.language == "console":
                if not pending and not line.startswith("$ "):
                    continue
                line = line[2:] if not pending else line
            text = pending + " " + line.strip() if pending else line.strip()
            if text.endswith("\\"):
                pending = text[:-1].strip()
                continue
            pending = ""
            if text and not text.startswith("#"):
                logical.append(text)
        commands = []
        for text in logical:
            words = shlex.split(text, comments=True)
            if words and words[0] == "fmops":
                commands.append(words[1:])
        return commands


def blocks(text: str) -> list[Block]:
    """Every fenced block of a Markdown text, with the marker line just before it."""
    lines = text.splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence is None:
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        marker = _MARKER.match(lines[i - 1].strip()) if i > 0 else None
        found.append(
            Block(
                language=fence.group(1),
                body="\n".join(lines[i + 1 : end]),
                line=i + 1,
                mode=marker.group(1) if marker else None,
                reason=marker.group(2) if marker else None,
            )
        )
        i = end + 1
    return found


def figure_blocks(text: str) -> dict[str, str]:
    """NAME -> the text between its markers; ValueError for a marker left open, nested or unmatched."""
    found: dict[str, str] = {}
    current: str | None = None
    body: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        opened = FIGURES_OPEN.match(line.strip())
        if opened is not None:
            if current is not None:
                raise ValueError(
                    f"README.md:{number}: figures:{opened.group(1)} opens inside figures:{current}"
                )
            if opened.group(1) in found:
                raise ValueError(f"README.md:{number}: figures:{opened.group(1)} appears twice")
            current, body = opened.group(1), []
        elif line.strip() == FIGURES_CLOSE:
            if current is None:
                raise ValueError(f"README.md:{number}: {FIGURES_CLOSE} without an opening marker")
            found[current] = "\n".join(body)
            current = None
        elif current is not None:
            body.append(line)
    if current is not None:
        raise ValueError(f"README.md: figures:{current} is never closed")
    return found


def replace_figures(text: str, name: str, new_body: str) -> str:
    """`text` with the body of figures block `name` replaced (markers kept)."""
    pattern = re.compile(
        rf"(^<!-- figures:{re.escape(name)} -->\n)(.*?)(^{re.escape(FIGURES_CLOSE)}$)",
        re.DOTALL | re.MULTILINE,
    )
    if pattern.search(text) is None:
        raise ValueError(f"README.md has no figures:{name} block")
    return pattern.sub(lambda m: m.group(1) + new_body.rstrip("\n") + "\n" + m.group(3), text, count=1)
