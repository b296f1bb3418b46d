"""QA accuracy scores of fmeval's `qa_accuracy` (without BERTScore).

Precision/recall/F1 are *set-based* over whitespace tokens of the normalised texts, with
nltk's `None` results mapped to 0.0, and every score is the max over the possible targets.
"""

from __future__ import annotations

from fmops.core.errors import BadInputError
from fmops.metrics.text import normalize_text_quac

QA_SCORE_NAMES: tuple[str, ...] = (
    "f1_score",
    "exact_match_score",
    "quasi_exact_match_score",
    "precision_over_words",
    "recall_over_words",
)


def qa_scores(
    model_output: str, target_output: str, target_output_delimiter: str | None = "<OR>"
) -> dict[str, float]:
    """Score one record: each of `QA_SCORE_NAMES` is the max over `target_output.split(delimiter)`.

    A `None` delimiter splits the target on whitespace (fmeval's quirk: every word becomes
    an alternative answer); an empty delimiter is rejected. A blank target with a `None`
    delimiter leaves no alternative: fmeval then fails on `max([])`, we score 0.0.
    """
    if target_output_delimiter == "":
        raise BadInputError("target_output_delimiter must not be an empty string")
    targets = target_output.split(target_output_delimiter)

    # The output side is the same for every target: normalise it once.
    output_stripped = model_output.strip()
    output_normalized = normalize_text_quac(output_stripped)
    test = set(output_normalized.split())
    n_test = len(test)

    f1 = exact = quasi = precision = recall = 0.0
    for target in targets:
        target_stripped = target.strip()
        if target_stripped == output_stripped:
            exact = 1.0
        target_normalized = normalize_text_quac(target_stripped)
        if target_normalized == output_normalized:
            quasi = 1.0
        reference = set(target_normalized.split())
        if not reference or not n_test:
            # nltk gives None (scored 0.0) for an empty side, and 0/len for the other side.
            continue
        common = len(reference & test)
        p = common / n_test
        r = common / len(reference)
        precision = max(precision, p)
        recall = max(recall, r)
        if p and r:
            # Same expression as nltk's f_measure(alpha=0.5) so the floats agree bit for bit.
            f1 = max(f1, 1.0 / (0.5 / p + 0.5 / r))
    return {
        "f1_score": f1,
        "exact_match_score": exact,
        "quasi_exact_match_score": quasi,
        "precision_over_words": precision,
        "recall_over_words": recall,
    }
