"""The one comparison.json model: round trip, older files, one-line errors; the shared front and scales."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fmops.comparison import (
    FORMAT_VERSION,
    Comparison,
    as_comparison,
    normalise,
    pareto_front,
    quality_scale,
    read_comparison,
    write_comparison,
)
from fmops.core.errors import BadInputError
from fmops.evaluation.scores import score_info
from tests.selection.helpers import make_comparison


def test_write_then_read_gives_the_same_comparison(tmp_path: Path) -> None:
    comparison = as_comparison(make_comparison())
    path = write_comparison(comparison, tmp_path / "out")
    assert path.name == "comparison.json" and read_comparison(tmp_path / "out") == comparison
    assert json.loads(path.read_text())["format_version"] == FORMAT_VERSION
    assert read_comparison(path) == comparison  # the file itself also works
    assert not list((tmp_path / "out").glob(".*"))  # no temporary file left behind


def test_files_written_before_the_version_field_read_as_version_1() -> None:
    data = make_comparison()
    assert "format_version" not in data
    comparison = as_comparison(data)
    assert comparison.format_version == 1 and comparison.complete
    assert comparison.model_names() == ["zoo/tiny", "zoo/small", "api/big", "api/mid"]


def test_a_newer_format_is_refused_with_what_to_do() -> None:
    with pytest.raises(BadInputError, match="newer than this fmops reads.*upgrade fmops"):
        as_comparison({**make_comparison(), "format_version": FORMAT_VERSION + 1})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scores": None}, "scores: Input should be a valid list"),
        ({"models": [{"spec": "x"}]}, "missing 'models.0.name'"),
        ({"performance": [{"model": "a", "records": "many"}]}, "performance.0.records"),
    ],
)
def test_malformed_files_name_the_field(tmp_path: Path, change: dict, message: str) -> None:
    (tmp_path / "comparison.json").write_text(json.dumps({**make_comparison(), **change}))
    with pytest.raises(BadInputError, match=message) as caught:
        read_comparison(tmp_path)
    assert str(caught.value).startswith(str(tmp_path / "comparison.json"))
    assert "\n" not in str(caught.value)


def test_non_finite_values_read_as_missing() -> None:
    data = make_comparison()
    data["scores"][0]["value"] = float("nan")
    assert as_comparison(data).scores[0].value is None


def test_normalise_and_quality_scale() -> None:
    assert normalise({"a": -2.0, "b": 0.0, "c": -1.0}) == {"a": 0.0, "b": 1.0, "c": 0.5}
    assert normalise({"a": 3.0, "b": 3.0}) == {"a": 1.0, "b": 1.0}
    assert quality_scale(score_info("toxicity"), {"a": 0.2}) == {"a": pytest.approx(0.8)}
    assert quality_scale(score_info("prompt_stereotyping"), {"a": 0.5, "b": 1.0}) == {"a": 1.0, "b": 0.0}
    # outside [0, 1]: between the models' worst and best
    assert quality_scale(score_info("word_error_rate"), {"a": 1.5, "b": 0.5}) == {"a": 0.0, "b": 1.0}


def test_pareto_front_on_any_number_of_axes() -> None:
    quality = {"a": 0.9, "b": 0.5, "c": 0.5, "d": 0.9}
    cheap = {"a": -3.0, "b": -1.0, "c": -2.0, "d": -3.0}
    assert pareto_front({"quality": quality, "cost": cheap}, ["a", "b", "c", "d"]) == ["a", "b", "d"]
    assert pareto_front({"quality": {"a": 1.0}}, ["a", "b"]) == ["a"]  # missing: the worst
    assert pareto_front({}, ["a", "b"]) == ["a", "b"]


def test_the_model_is_frozen() -> None:
    comparison = Comparison(models=[], scores=[])
    with pytest.raises(ValueError, match="frozen"):
        comparison.complete = False  # type: ignore[misc]
