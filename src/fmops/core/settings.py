"""Process-wide settings: where fmops keeps its data (FMOPS_HOME)."""

from __future__ import annotations

import os
from pathlib import Path


def fmops_home() -> Path:
    """The folder for caches, trained models and the response store.

    `FMOPS_HOME` wins; otherwise `$XDG_CACHE_HOME/fmops` or `~/.cache/fmops`.
    """
    explicit = os.environ.get("FMOPS_HOME")
    if explicit:
        home = Path(explicit)
    else:
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        home = Path(cache) / "fmops"
    home.mkdir(parents=True, exist_ok=True)
    return home
