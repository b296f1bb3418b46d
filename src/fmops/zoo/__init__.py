"""The local model zoo: tiny GPT-2 models that fmops trains itself on an invented world, offline on a CPU.

The world (`build_world`, from `fmops.data.world`, re-exported here) is a seeded invention (countries, companies, people, products, reviews, news)
from which come a training corpus and evaluation datasets in fmeval's built-in schemas
(`write_datasets`). The zoo models (`ZOO_MODELS`) learn that world; each is trained on first use and
cached under `fmops_home()/zoo/NAME` as a standard Hugging Face folder (`zoo_model_path`).

Importing this package is cheap: torch, transformers and tokenizers load only when a model is trained or
measured.
"""

from fmops.data.world import (
    CLASSIFICATION_TEMPLATE,
    DATASET_FILES,
    QA_TEMPLATE,
    SUMMARIZATION_TEMPLATE,
    WORLD_SEED,
    World,
    build_world,
    new_domain_train_pairs,
    new_domain_train_texts,
    training_corpus,
    training_pairs,
    write_datasets,
)
from fmops.zoo._provider import zoo_provider
from fmops.zoo._quality import measure_zoo_quality
from fmops.zoo._registry import ZOO_VERSION, ZooCard
from fmops.zoo._store import ZOO_MODELS, train_zoo_model, zoo_card, zoo_model_info, zoo_model_path

__all__ = [
    "CLASSIFICATION_TEMPLATE",
    "DATASET_FILES",
    "QA_TEMPLATE",
    "SUMMARIZATION_TEMPLATE",
    "WORLD_SEED",
    "ZOO_MODELS",
    "ZOO_VERSION",
    "World",
    "ZooCard",
    "build_world",
    "measure_zoo_quality",
    "new_domain_train_pairs",
    "new_domain_train_texts",
    "train_zoo_model",
    "training_corpus",
    "training_pairs",
    "write_datasets",
    "zoo_card",
    "zoo_model_info",
    "zoo_model_path",
    "zoo_provider",
]
