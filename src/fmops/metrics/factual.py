"""Factual knowledge scores of fmeval's `factual_knowledge`: character substring inclusion."""

from __future__ import annotations

from fmops.core.errors import BadInputError
from fmops.metrics.text import normalize_text_quac

FACTUAL_SCORE_NAMES: tuple[str, ...] = ("factual_knowledge", "factual_knowledge_quasi_exact")

_OPERATORS = ("OR", "AND")


def factual_knowledge_scores(
    model_output: str,
    target_output: str,
    target_output_delimiter: str = "<OR>",
    logical_operator: str = "OR",
) -> dict[str, float]:
    """Score one record against `target_output.split(delimiter)`.

    `factual_knowledge`: the lower-cased target is a substring of the lower-cased output
    (no strip, no word boundaries: "art" is found in "smart"). `factual_knowledge_quasi_exact`:
    the same test on stripped, QuAC-normalised strings. OR takes the max over targets, AND
    the min; an empty target is a substring of anything and scores 1.0. A `None` delimiter
    splits on whitespace; if that leaves no target (blank target), fmeval fails on
    `max([])`/`min([])` and we score 0.0.
    """
    if logical_operator not in _OPERATORS:
        raise BadInputError(f"logical_operator must be 'OR' or 'AND', not {logical_operator!r}")
    if target_output_delimiter == "":
        raise BadInputError("target_output_delimiter must not be an empty string")
    targets = target_output.split(target_output_delimiter)
    if not targets:
        return dict.fromkeys(FACTUAL_SCORE_NAMES, 0.0)

    # Normalise the output once, not once per target.
    output_lower = model_output.lower()
    output_normalized = normalize_text_quac(model_output.strip())
    exact = [target.lower() in output_lower for target in targets]
    quasi = [normalize_text_quac(target.strip()) in output_normalized for target in targets]
    combine = any if logical_operator == "OR" else all
    return {
        "factual_knowledge": float(combine(exact)),
        "factual_knowledge_quasi_exact": float(combine(quasi)),
    }
