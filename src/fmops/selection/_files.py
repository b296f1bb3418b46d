"""The comparison folder side of selection: read DIR/comparison.json, write DIR/selection.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from fmops.comparison import Comparison, read_comparison
from fmops.selection._parse import Constraint, Priority
from fmops.selection._rank import Selection, select_models


def load_comparison(directory: Path) -> Comparison:
    """comparison.json from a comparison folder (or the file itself), through the one reader."""
    return read_comparison(directory)


def write_selection(selection: Selection, directory: Path) -> Path:
    """DIR/selection.json, next to comparison.json (given the comparison.json file itself: beside it)."""
    directory = Path(directory)
    path = directory / "selection.json" if directory.is_dir() else directory.with_name("selection.json")
    path.write_text(json.dumps(selection.model_dump(mode="json"), indent=2) + "\n", encoding="utf-8")
    return path


def select_comparison(
    directory: Path, priorities: Sequence[Priority], constraints: Sequence[Constraint] = ()
) -> tuple[Selection, Path]:
    """Select from a comparison folder and write its selection.json; returns both."""
    selection = select_models(load_comparison(directory), priorities, constraints)
    return selection, write_selection(selection, directory)


__all__ = ["load_comparison", "select_comparison", "write_selection"]
