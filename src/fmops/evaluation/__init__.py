"""The evaluation engine: fmeval's algorithms under their names, run over datasets, written as run folders.

Modules: `run` (the engine: evaluate, rescore), `plans` (datasets, data configs, sample sizes, input
checks), `generation` and `scoring` (the two phases), `executors` (where the phases run: local, Ray).
"""

from fmops.evaluation.algorithms import ALGORITHMS, get_algorithm
from fmops.evaluation.plans import DatasetPlan, dataset_plans
from fmops.evaluation.run import EvalRun, evaluate, rescore

__all__ = ["ALGORITHMS", "DatasetPlan", "EvalRun", "dataset_plans", "evaluate", "get_algorithm", "rescore"]
