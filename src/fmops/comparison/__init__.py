"""Comparisons: several models on the same records, and the one typed comparison.json everything reads.

    from fmops.comparison import compare, read_comparison

    comparison = compare("suite.yaml", ["zoo/tiny", "zoo/small"], "out/")   # runs, writes out/comparison.json
    comparison = read_comparison("out/")                                   # any comparison folder or file
    comparison.models[0].name, comparison.scores[0].value, comparison.performance_of("zoo/tiny")

The format (versioned, `format_version`; docs/comparison-format.md): `Comparison` with `suite`
(`SuiteInfo`), `models` (`ModelInfo`), `runs` (model -> evaluation id -> run folder), `scores`
(`ScoreEntry`, with 95% bootstrap intervals), `performance` (`Performance`), `comparisons`
(`PairedComparison`), and `complete`/`failures` (`RunFailure`) for a comparison cut short.
`read_comparison`/`write_comparison` are its one reader and writer; `as_comparison` validates parsed JSON.

Shared ways to rank: `normalise` (min-max of goodness across models), `quality_scale` (one score on [0, 1],
1 best) and `pareto_front` (models no other beats on every axis). `record_comparison(DIR)` records a
comparison's figures in the catalog.
"""

from fmops.comparison._engine import ComparisonIncompleteError, compare
from fmops.comparison._format import (
    COMPARISON_FILE,
    FORMAT_VERSION,
    PERFORMANCE_FIGURES,
    Comparison,
    EvaluationInfo,
    ModelInfo,
    PairedComparison,
    Performance,
    RunFailure,
    ScoreEntry,
    SuiteInfo,
    as_comparison,
    read_comparison,
    write_comparison,
)
from fmops.comparison._measured import measured_figures, record_comparison
from fmops.comparison._quality import normalise, pareto_front, quality_scale
from fmops.comparison._suite import Suite, SuiteEvaluation

__all__ = [
    "COMPARISON_FILE",
    "FORMAT_VERSION",
    "PERFORMANCE_FIGURES",
    "Comparison",
    "ComparisonIncompleteError",
    "EvaluationInfo",
    "ModelInfo",
    "PairedComparison",
    "Performance",
    "RunFailure",
    "ScoreEntry",
    "Suite",
    "SuiteEvaluation",
    "SuiteInfo",
    "as_comparison",
    "compare",
    "measured_figures",
    "normalise",
    "pareto_front",
    "quality_scale",
    "read_comparison",
    "record_comparison",
    "write_comparison",
]
