"""Optional heavy dependencies, imported on first use with an install hint when missing."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fmops.core.errors import MissingDependencyError

_MODEL_LOAD_LOCK = threading.Lock()


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
    _quiet_padding_warning()
    return torch, transformers


def _drop_padding_warning(record: logging.LogRecord) -> bool:
    return "strongly recommend passing in an `attention_mask`" not in record.getMessage()


def _quiet_padding_warning() -> None:
    """Drop transformers' 'pass an attention_mask' warning: fmops always passes one, but generate's later
    decoding steps call the model without it once a finished row is padded (the outputs are unaffected:
    batched generation equals one-by-one in the tests)."""
    target = logging.getLogger("transformers.modeling_utils")
    if _drop_padding_warning not in target.filters:
        target.addFilter(_drop_padding_warning)


@contextmanager
def one_model_load_at_a_time() -> Iterator[None]:
    """Hold while building or loading a torch model.

    transformers 5 builds models on the meta device by patching torch for the whole process, so two
    loads in different threads break each other (a tied `lm_head` stays on the meta device).
    """
    with _MODEL_LOAD_LOCK:
        yield
