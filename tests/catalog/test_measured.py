"""Measured figures beside declared ones: the store in FMOPS_HOME and figures from a comparison folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from fmops.catalog import load_catalog, load_measurements, measurements_path, record_measurements
from fmops.comparison import measured_figures, read_comparison, record_comparison
from fmops.core.errors import BadInputError
from tests.selection.helpers import make_comparison, write_comparison


def test_record_measurements_stores_under_fmops_home_and_latest_wins() -> None:
    path = record_measurements("gpt-4o-mini", {"latency_p95_s": 0.9, "ttft_p50_s": None}, "bench 1")
    assert path == measurements_path() and path.is_file()
    record_measurements("gpt-4o-mini", {"latency_p95_s": 0.7, "output_tokens_per_s": 80}, "bench 2")
    figures = load_measurements()["gpt-4o-mini"].figures
    assert figures["latency_p95_s"].value == 0.7 and figures["latency_p95_s"].source == "bench 2"
    assert figures["output_tokens_per_s"].value == 80.0
    assert "ttft_p50_s" not in figures
    card = load_catalog()["gpt-4o-mini"]
    assert card.measured["latency_p95_s"].value == 0.7
    assert card.prices is not None  # declared facts stay beside the measured ones


def test_measurements_recorded_under_another_name_reach_the_card_by_spec() -> None:
    record_measurements("mini", {"latency_p50_s": 0.3}, "bench", spec="openai/gpt-4o-mini")
    record_measurements("openai/gpt-4o", {"latency_p50_s": 0.5}, "bench")
    cards = load_catalog()
    assert cards["gpt-4o-mini"].measured["latency_p50_s"].value == 0.3
    assert cards["gpt-4o"].measured["latency_p50_s"].value == 0.5
    assert not cards["claude-3-haiku"].measured


@pytest.mark.parametrize("bad", [math.nan, math.inf, "fast", True])
def test_record_measurements_rejects_what_is_not_a_number(bad: object) -> None:
    with pytest.raises(BadInputError, match="finite number"):
        record_measurements("m", {"latency_p50_s": bad}, "x")  # type: ignore[dict-item]


def test_a_corrupt_store_is_a_clear_error() -> None:
    path = measurements_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(BadInputError, match="delete the file"):
        load_measurements()


def measurements_from_comparison(path: Path) -> dict[str, dict[str, float]]:
    return measured_figures(read_comparison(path))


def test_measurements_from_a_comparison_folder(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    figures = measurements_from_comparison(folder)
    assert set(figures) == {"zoo/tiny", "zoo/small", "api/big", "api/mid"}
    small = figures["zoo/small"]
    assert small["latency_p95_s"] == 0.3 and small["cost_per_1k_records"] == 0.024
    assert small["factual_knowledge/world_trex:factual_knowledge"] == 0.80
    assert small["qa_accuracy/world_qa:f1_score"] == 0.62
    assert "ttft_p50_s" not in small  # null in the comparison
    assert measurements_from_comparison(folder / "comparison.json") == figures


def test_one_evaluation_over_several_datasets_keys_scores_by_dataset(tmp_path: Path) -> None:
    comparison = make_comparison()
    for row in comparison["scores"]:
        if row["evaluation"] == "factual_knowledge/world_more":
            row["evaluation"] = "factual_knowledge/world_trex"
    folder = write_comparison(tmp_path / "cmp", comparison)
    small = measurements_from_comparison(folder)["zoo/small"]
    assert small["factual_knowledge/world_trex/world_trex:factual_knowledge"] == 0.80
    assert small["factual_knowledge/world_trex/world_more:factual_knowledge"] == 0.76


def test_record_comparison_then_the_zoo_cards_show_the_figures(tmp_path: Path) -> None:
    folder = write_comparison(tmp_path / "cmp")
    recorded = record_comparison(folder)
    assert set(recorded) == {"zoo/tiny", "zoo/small", "api/big", "api/mid"}
    stored = json.loads(measurements_path().read_text(encoding="utf-8"))
    assert stored["models"]["zoo/tiny"]["figures"]["latency_p95_s"]["source"].startswith("comparison ")
    card = load_catalog().get("zoo/tiny")
    if card is not None:  # the zoo module is there
        assert card.measured["latency_p95_s"].value == 0.09


def test_a_folder_without_comparison_json_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match=r"comparison\.json"):
        measurements_from_comparison(tmp_path)
    (tmp_path / "comparison.json").write_text("[", encoding="utf-8")
    with pytest.raises(BadInputError, match="not valid JSON"):
        record_comparison(tmp_path)


def test_a_warm_all_cached_run_keeps_the_measured_speed(tmp_path: Path) -> None:
    """A rerun answered from the response store records its scores and cost but not the store's speed, so
    the catalog keeps the throughput measured when the model really ran (issue 15, item 14)."""
    cold = write_comparison(tmp_path / "cold")
    record_comparison(cold)
    warm = make_comparison()
    for perf in warm["performance"]:
        perf.update(cached_calls=perf["calls"], latency_p95_s=0.001, throughput_rps=5000.0)
    figures = record_comparison(write_comparison(tmp_path / "warm", warm))
    assert "throughput_rps" not in figures["zoo/small"] and "latency_p95_s" not in figures["zoo/small"]
    assert figures["zoo/small"]["cost_per_1k_records"] == 0.024
    stored = load_measurements()["zoo/small"].figures
    assert stored["latency_p95_s"].value == 0.3 and stored["latency_p95_s"].source.startswith("comparison ")
    assert str(tmp_path / "cold") in stored["latency_p95_s"].source
    half = make_comparison()
    for perf in half["performance"]:
        perf.update(cached_calls=perf["calls"] - 1)
    assert (
        "latency_p95_s"
        in measurements_from_comparison(write_comparison(tmp_path / "half", half))["zoo/small"]
    )
