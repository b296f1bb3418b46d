"""After training: the new model evaluated against its base, through an extension point.

The comparison itself lives a layer above (`fmops.comparison`, which runs both models on the same suite),
so the engine calls it by name: `FINETUNE_EVALUATORS` (entry-point group `fmops.finetune_evaluators`),
whose `against-base` entry fmops registers. An evaluator is called as
`evaluator(job, base, out_dir, say) -> (comparison.json path, summary lines)`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from fmops.core.registry import Registry
from fmops.customization._base import BaseInfo
from fmops.customization._job import FinetuneJob


class Evaluator(Protocol):
    def __call__(
        self, job: FinetuneJob, base: BaseInfo, out: Path, say: Callable[[str], None]
    ) -> tuple[Path, list[str]]: ...


FINETUNE_EVALUATORS: Registry[Evaluator] = Registry("fine-tuning evaluator", "fmops.finetune_evaluators")
#: The evaluator every job runs unless told not to (`evaluate=False`, `--no-eval`).
DEFAULT_EVALUATOR = "against-base"


def evaluate_against_base(
    job: FinetuneJob, base: BaseInfo, out: Path, say: Callable[[str], None]
) -> tuple[Path, list[str]]:
    """(comparison.json path, summary lines) of `job`'s new model against its base."""
    return FINETUNE_EVALUATORS.get(DEFAULT_EVALUATOR)(job, base, out, say)
