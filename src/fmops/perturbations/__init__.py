"""Semantic perturbations with fmeval 1.2.3 parity (same seed → byte-identical perturbed texts)."""

from fmops.perturbations.perturber import (
    DEFAULT_SEED,
    PERTURBATION_TYPES,
    PERTURBATIONS,
    PerturbationKind,
    Perturber,
    default_perturbation_params,
    parse_perturbation_params,
    perturb,
    perturbation_param_names,
    validate_perturbation_params,
)

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
