"""The capability matrix: model cards as data (declared facts with their source and date), measured figures beside them.

    from fmops.catalog import load_catalog, filter_cards, sort_cards

    cards = load_catalog()                      # shipped examples + zoo + the user's catalog.yaml
    cheap = sort_cards(filter_cards(cards, fine_tunable=True, min_context="8k", max_price=0.001), "price")

Measured figures come from runs: `record_measurements(name, {"latency_p95_s": 0.4}, source)`, or
`fmops.comparison.record_comparison(DIR)` for a whole `fmops compare` folder; `load_catalog` attaches them.
"""

from fmops.catalog._cards import Availability, MeasuredValue, ModelCard, format_count, parse_count
from fmops.catalog._filter import SORT_KEYS, filter_cards, sort_cards
from fmops.catalog._load import load_catalog, user_catalog_path
from fmops.catalog._measured import (
    ModelMeasurements,
    load_measurements,
    measurements_path,
    record_measurements,
)

__all__ = [
    "SORT_KEYS",
    "Availability",
    "MeasuredValue",
    "ModelCard",
    "ModelMeasurements",
    "filter_cards",
    "format_count",
    "load_catalog",
    "load_measurements",
    "measurements_path",
    "parse_count",
    "record_measurements",
    "sort_cards",
    "user_catalog_path",
]
