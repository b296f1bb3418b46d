"""The evaluation engine: fmeval's algorithms under their names, run over datasets, written as run folders."""

from fmops.evaluation.algorithms import ALGORITHMS, get_algorithm
from fmops.evaluation.run import EvalRun, evaluate, rescore

__all__ = ["ALGORITHMS", "EvalRun", "evaluate", "get_algorithm", "rescore"]
