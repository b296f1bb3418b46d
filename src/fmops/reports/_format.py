"""Number and text formatting shared by the HTML and Markdown renderers, so both say the same thing."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fmops.evaluation.manifest import ManifestDataset

DASH = "–"


def num(value: float | None, digits: int = 3) -> str:
    if value is None:
        return DASH
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def ci(low: float | None, high: float | None, digits: int = 2) -> str:
    if low is None or high is None:
        return ""
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def seconds(value: float | None) -> str:
    if value is None:
        return DASH
    if value < 0.001:
        return f"{value * 1000:.3f} ms"
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def money(value: float | None) -> str:
    """Costs are in the prices' currency, which the comparison does not name: no symbol."""
    if value is None:
        return DASH
    if value == 0:
        return "0"
    return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"


def count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else DASH


def rate(value: float | None, unit: str) -> str:
    return DASH if value is None else f"{value:,.1f} {unit}"


def direction(score_direction: str, ideal: float | None = None) -> str:
    if score_direction == "higher":
        return "↑ higher"
    if score_direction == "lower":
        return "↓ lower"
    return f"◎ {ideal:g}" if ideal is not None else "◎ ideal"


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def short_hash(value: Any) -> str:
    text = str(value or "")
    return text[:12] if len(text) > 12 else text or DASH


def helper_models(entry: ManifestDataset) -> dict[str, Any]:
    """The helper models the algorithm recorded for a dataset (an algorithm's extras in the manifest)."""
    extras = entry.model_extra or {}
    return {k: extras[k] for k in ("bertscore_model", "toxicity_detector") if extras.get(k)}


def sampled_rows(entry: ManifestDataset) -> int | None:
    """How many rows the run sampled, from the manifest's sampling entry."""
    sampling = entry.sampling or {}
    rows = sampling.get("rows")
    if isinstance(rows, list):
        return len(rows)
    value = sampling.get("num_records")
    return value if isinstance(value, int) else None
