"""A seeded perturber with fmeval's sequential RNG semantics, plus parameter validation for the CLI."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from fmops.core.errors import BadInputError
from fmops.core.registry import Registry
from fmops.perturbations import algorithms

# fmeval builds every perturbation transform with seed 5 and its algorithms do not expose it.
DEFAULT_SEED = 5


@dataclass(frozen=True)
class PerturbationKind:
    """A perturbation type: its parameters with fmeval's defaults (SemanticRobustnessConfig field names),
    and how it perturbs a text: apply(rng, text, num_perturbations, params) -> perturbed copies."""

    defaults: Mapping[str, float]
    apply: Callable[[np.random.Generator, str, int, Mapping[str, float]], list[str]]


#: Perturbation types by name (the one registry mechanism); plug-ins through the `fmops.perturbations`
#: entry points, each a PerturbationKind.
PERTURBATIONS: Registry[PerturbationKind] = Registry("perturbation", "fmops.perturbations")
PERTURBATIONS.register(
    "butter_finger",
    PerturbationKind(
        {"butter_finger_perturbation_prob": 0.1},
        lambda rng, text, n, p: algorithms.butter_finger(rng, text, n, p["butter_finger_perturbation_prob"]),
    ),
)
PERTURBATIONS.register(
    "random_upper_case",
    PerturbationKind(
        {"random_uppercase_corrupt_proportion": 0.1},
        lambda rng, text, n, p: algorithms.random_upper_case(
            rng, text, n, p["random_uppercase_corrupt_proportion"]
        ),
    ),
)
PERTURBATIONS.register(
    "whitespace_add_remove",
    PerturbationKind(
        {"whitespace_add_prob": 0.05, "whitespace_remove_prob": 0.1},
        lambda rng, text, n, p: algorithms.whitespace_add_remove(
            rng, text, n, p["whitespace_add_prob"], p["whitespace_remove_prob"]
        ),
    ),
)
#: fmeval's three, in its order.
PERTURBATION_TYPES: tuple[str, ...] = ("butter_finger", "random_upper_case", "whitespace_add_remove")


def _kind(perturbation_type: str) -> PerturbationKind:
    if not isinstance(perturbation_type, str) or perturbation_type not in PERTURBATIONS:
        raise BadInputError(
            f"unknown perturbation type {perturbation_type!r}: choose one of {', '.join(PERTURBATIONS.names())}"
        )
    return PERTURBATIONS.get(perturbation_type)


def perturbation_param_names(perturbation_type: str) -> tuple[str, ...]:
    """The parameter names the given perturbation type accepts (fmeval config field names)."""
    return tuple(_kind(perturbation_type).defaults)


def default_perturbation_params(perturbation_type: str) -> dict[str, float]:
    """fmeval's default values for the given perturbation type's parameters."""
    return dict(_kind(perturbation_type).defaults)


def _check_name(perturbation_type: str, name: str) -> None:
    allowed = _kind(perturbation_type).defaults
    if name not in allowed:
        raise BadInputError(
            f"parameter {name!r} does not apply to perturbation {perturbation_type!r}: "
            f"allowed: {', '.join(allowed)}"
        )


def _check_value(name: str, value: object, shown: object = None) -> float:
    """The value as a float in [0, 1]; `shown` is what the user typed, for the message."""
    given = value if shown is None else shown
    message = f"parameter {name!r} must be a number between 0 and 1, got {given!r}"
    # All current parameters are probabilities/fractions; bool is an int subclass but never meant.
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise BadInputError(message)
    number = float(value)
    if not (0.0 <= number <= 1.0):  # also rejects NaN
        raise BadInputError(message)
    return number


def validate_perturbation_params(perturbation_type: str, params: Mapping[str, object]) -> dict[str, float]:
    """Defaults overlaid with `params`, after checking names and ranges (BadInputError otherwise)."""
    resolved = dict(_kind(perturbation_type).defaults)
    for name, value in params.items():
        _check_name(perturbation_type, name)
        resolved[name] = _check_value(name, value)
    return resolved


def parse_perturbation_params(perturbation_type: str, raw: Mapping[str, str]) -> dict[str, float]:
    """Coerce CLI strings ("0.2") to floats and validate them; returns only the given parameters."""
    _kind(perturbation_type)
    parsed: dict[str, float] = {}
    for name, text in raw.items():
        _check_name(perturbation_type, name)
        try:
            number: object = float(text.strip()) if isinstance(text, str) else text
        except ValueError:
            number = None  # reported below with the text as typed
        parsed[name] = _check_value(name, number, shown=text)
    return parsed


def _check_seed(seed: object) -> int:
    try:
        if isinstance(seed, bool):
            raise TypeError
        value = operator.index(seed)  # type: ignore[arg-type]
    except TypeError:
        raise BadInputError(f"seed must be a non-negative integer, got {seed!r}") from None
    if value < 0:
        raise BadInputError(f"seed must be a non-negative integer, got {seed!r}")
    return value


class Perturber:
    """One perturbation type with one `numpy.random.default_rng(seed)`, consumed across all calls.

    As in fmeval, perturbation k of record n depends on every earlier draw of this instance, so feed
    records in a fixed order through a single instance to reproduce fmeval's perturbed inputs.
    """

    def __init__(self, perturbation_type: str, seed: int = DEFAULT_SEED, **params: float) -> None:
        self.perturbation_type = perturbation_type
        self.params: Mapping[str, float] = MappingProxyType(
            validate_perturbation_params(perturbation_type, params)
        )
        self.seed = _check_seed(seed)
        self._rng = np.random.default_rng(self.seed)

    def __repr__(self) -> str:
        extra = "".join(f", {k}={v!r}" for k, v in self.params.items())
        return f"Perturber({self.perturbation_type!r}, seed={self.seed}{extra})"

    def perturb(self, text: str, num_perturbations: int = 5) -> list[str]:
        """Return `num_perturbations` perturbed copies of `text`, advancing this instance's RNG."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        if (
            isinstance(num_perturbations, bool)
            or not isinstance(num_perturbations, int)
            or num_perturbations < 1
        ):
            raise BadInputError(f"num_perturbations must be a positive integer, got {num_perturbations!r}")
        return _kind(self.perturbation_type).apply(self._rng, text, num_perturbations, self.params)


def perturb(
    perturbation_type: str,
    text: str,
    num_perturbations: int = 5,
    seed: int = DEFAULT_SEED,
    **params: float,
) -> list[str]:
    """Perturb one text with a fresh RNG: what fmeval's transform gives for the first record it sees."""
    return Perturber(perturbation_type, seed, **params).perturb(text, num_perturbations)


__all__ = [
    "DEFAULT_SEED",
    "PERTURBATIONS",
    "PERTURBATION_TYPES",
    "PerturbationKind",
    "Perturber",
    "default_perturbation_params",
    "parse_perturbation_params",
    "perturb",
    "perturbation_param_names",
    "validate_perturbation_params",
]
