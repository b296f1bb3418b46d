"""Public API of fmops.perturbations: names, defaults, validation and CLI parameter parsing."""

from __future__ import annotations

import math

import pytest

from fmops.core.errors import BadInputError
from fmops.perturbations import (
    DEFAULT_SEED,
    PERTURBATION_TYPES,
    Perturber,
    default_perturbation_params,
    parse_perturbation_params,
    perturb,
    perturbation_param_names,
    validate_perturbation_params,
)

TEXT = "A quick brown fox jumps over the lazy dog 10 times."


def test_constants() -> None:
    assert PERTURBATION_TYPES == ("butter_finger", "random_upper_case", "whitespace_add_remove")
    assert DEFAULT_SEED == 5


def test_param_names_and_defaults_follow_fmeval_config() -> None:
    assert perturbation_param_names("butter_finger") == ("butter_finger_perturbation_prob",)
    assert perturbation_param_names("random_upper_case") == ("random_uppercase_corrupt_proportion",)
    assert perturbation_param_names("whitespace_add_remove") == (
        "whitespace_add_prob",
        "whitespace_remove_prob",
    )
    assert default_perturbation_params("whitespace_add_remove") == {
        "whitespace_add_prob": 0.05,
        "whitespace_remove_prob": 0.1,
    }
    assert Perturber("butter_finger").params == {"butter_finger_perturbation_prob": 0.1}
    assert Perturber("random_upper_case").params == {"random_uppercase_corrupt_proportion": 0.1}


@pytest.mark.parametrize("ptype", PERTURBATION_TYPES)
def test_convenience_function_equals_fresh_instance(ptype: str) -> None:
    assert perturb(ptype, TEXT) == Perturber(ptype).perturb(TEXT)
    assert perturb(ptype, TEXT, 2, seed=9) == Perturber(ptype, seed=9).perturb(TEXT, 2)
    assert len(perturb(ptype, TEXT, 7)) == 7


def test_explicit_default_params_change_nothing() -> None:
    assert perturb("butter_finger", TEXT, butter_finger_perturbation_prob=0.1) == perturb(
        "butter_finger", TEXT
    )
    assert perturb("whitespace_add_remove", TEXT, whitespace_add_prob=0.3) != perturb(
        "whitespace_add_remove", TEXT
    )


def _one_line(err: pytest.ExceptionInfo[BadInputError]) -> str:
    message = str(err.value)
    assert "\n" not in message
    assert err.value.exit_code == 2
    return message


def test_unknown_type_lists_the_allowed_ones() -> None:
    with pytest.raises(BadInputError) as err:
        Perturber("typo")
    assert _one_line(err) == (
        "unknown perturbation type 'typo': "
        "choose one of butter_finger, random_upper_case, whitespace_add_remove"
    )
    for call in (
        lambda: perturbation_param_names("x"),
        lambda: parse_perturbation_params("x", {}),
        lambda: perturb("x", TEXT),
    ):
        with pytest.raises(BadInputError):
            call()


def test_param_of_another_type_lists_the_allowed_ones() -> None:
    with pytest.raises(BadInputError) as err:
        Perturber("whitespace_add_remove", butter_finger_perturbation_prob=0.2)
    assert _one_line(err) == (
        "parameter 'butter_finger_perturbation_prob' does not apply to perturbation 'whitespace_add_remove': "
        "allowed: whitespace_add_prob, whitespace_remove_prob"
    )


@pytest.mark.parametrize("value", [-0.01, 1.01, math.nan, math.inf, True, "0.2", None])
def test_out_of_range_or_non_numeric_values(value: object) -> None:
    with pytest.raises(BadInputError) as err:
        Perturber("random_upper_case", random_uppercase_corrupt_proportion=value)  # type: ignore[arg-type]
    assert "must be a number between 0 and 1" in _one_line(err)


def test_bounds_are_inclusive() -> None:
    assert validate_perturbation_params("butter_finger", {"butter_finger_perturbation_prob": 0}) == {
        "butter_finger_perturbation_prob": 0.0
    }
    assert Perturber("whitespace_add_remove", whitespace_add_prob=1, whitespace_remove_prob=0.0).params == {
        "whitespace_add_prob": 1.0,
        "whitespace_remove_prob": 0.0,
    }


def test_parse_cli_strings() -> None:
    assert parse_perturbation_params("butter_finger", {"butter_finger_perturbation_prob": "0.2"}) == {
        "butter_finger_perturbation_prob": 0.2
    }
    assert parse_perturbation_params(
        "whitespace_add_remove", {"whitespace_remove_prob": " 1e-1 ", "whitespace_add_prob": "1"}
    ) == {"whitespace_remove_prob": 0.1, "whitespace_add_prob": 1.0}
    assert parse_perturbation_params("random_upper_case", {}) == {}
    parsed = parse_perturbation_params("random_upper_case", {"random_uppercase_corrupt_proportion": ".5"})
    assert Perturber("random_upper_case", **parsed).params["random_uppercase_corrupt_proportion"] == 0.5


@pytest.mark.parametrize("raw", ["abc", "", "2", "-0.5", "nan"])
def test_parse_rejects_bad_strings(raw: str) -> None:
    with pytest.raises(BadInputError) as err:
        parse_perturbation_params("butter_finger", {"butter_finger_perturbation_prob": raw})
    assert (
        _one_line(err)
        == f"parameter 'butter_finger_perturbation_prob' must be a number between 0 and 1, got {raw!r}"
    )


def test_parse_rejects_foreign_names() -> None:
    with pytest.raises(BadInputError, match="allowed: butter_finger_perturbation_prob"):
        parse_perturbation_params("butter_finger", {"whitespace_add_prob": "0.1"})


@pytest.mark.parametrize("seed", [-1, 1.5, "5", True, None])
def test_bad_seed(seed: object) -> None:
    with pytest.raises(BadInputError, match="seed must be a non-negative integer"):
        Perturber("butter_finger", seed=seed)  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, -1, 2.0, True])
def test_bad_num_perturbations(n: object) -> None:
    with pytest.raises(BadInputError, match="num_perturbations must be a positive integer"):
        Perturber("butter_finger").perturb(TEXT, n)  # type: ignore[arg-type]


def test_text_must_be_a_string() -> None:
    with pytest.raises(TypeError):
        Perturber("butter_finger").perturb(None)  # type: ignore[arg-type]


def test_repr_names_type_seed_and_params() -> None:
    assert repr(Perturber("random_upper_case", 3)) == (
        "Perturber('random_upper_case', seed=3, random_uppercase_corrupt_proportion=0.1)"
    )
