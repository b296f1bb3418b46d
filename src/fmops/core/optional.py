"""Optional heavy dependencies, imported on first use with an install hint when missing."""

from __future__ import annotations

from typing import Any

from fmops.core.errors import MissingDependencyError


def torch_and_transformers(purpose: str) -> tuple[Any, Any]:
    """(torch, transformers) for `purpose`, or MissingDependencyError naming the `hf` extra.

    transformers' per-load progress bars are switched off: fmops shows its own progress.
    """
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "hf", purpose) from None
    try:
        import transformers
    except ImportError:
        raise MissingDependencyError("transformers", "hf", purpose) from None
    transformers.utils.logging.disable_progress_bar()
    return torch, transformers
