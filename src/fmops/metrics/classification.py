"""Classification accuracy helpers of fmeval's `classification_accuracy`."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from fmops.core.errors import BadInputError

UNKNOWN_LABEL = "unknown"

CLASSIFICATION_DATASET_SCORE_NAMES: tuple[str, ...] = (
    "balanced_accuracy_score",
    "precision_score",
    "recall_score",
)


def convert_model_output_to_label(model_output: str, valid_labels: Sequence[str]) -> str:
    """First word of the output equal to a valid label, else "unknown".

    fmeval's quirks are kept: words come from splitting on the single space character
    (so "Answer:\\n1" is one word) and are only lower-cased and stripped, so trailing
    punctuation prevents a match ("The answer is 1." -> "unknown").
    """
    labels = {str(label).lower().strip() for label in valid_labels}
    for word in model_output.split(" "):
        candidate = word.lower().strip()
        if candidate in labels:
            return candidate
    return UNKNOWN_LABEL


def classification_scores(
    y_true: Sequence[str], y_pred: Sequence[str], multiclass_average_strategy: str = "micro"
) -> dict[str, float]:
    """Dataset-level balanced accuracy, precision and recall, computed by sklearn as fmeval does.

    Precision and recall get `average=multiclass_average_strategy`; balanced accuracy uses
    sklearn's defaults. sklearn's warnings about ill-defined values (a class never
    predicted...) are silenced; the values are left as sklearn computes them.
    """
    from sklearn.exceptions import UndefinedMetricWarning
    from sklearn.metrics import balanced_accuracy_score, precision_score, recall_score

    if len(y_true) != len(y_pred):
        raise BadInputError(f"y_true has {len(y_true)} labels but y_pred has {len(y_pred)}")
    if not y_true:
        raise BadInputError("classification scores need at least one record")
    true, pred = list(y_true), list(y_pred)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UndefinedMetricWarning)
            # balanced_accuracy_score warns with a plain UserWarning when y_pred has classes
            # that y_true lacks.
            warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
            warnings.filterwarnings("ignore", message="A single label was found")
            return {
                "balanced_accuracy_score": float(balanced_accuracy_score(true, pred)),
                "precision_score": float(precision_score(true, pred, average=multiclass_average_strategy)),
                "recall_score": float(recall_score(true, pred, average=multiclass_average_strategy)),
            }
    except ValueError as exc:  # e.g. average="binary" with labels that are not 0/1
        raise BadInputError(f"cannot compute classification scores: {exc}") from exc
