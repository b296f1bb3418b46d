"""The synthetic world: a seeded invented world (countries, companies, people, products, reviews, news) and
the datasets made from it, in fmeval's built-in schemas, plus the texts the zoo models learn from.

    from fmops.data.world import WORLD_SEED, build_world, write_datasets

    world = build_world()                      # WORLD_SEED: the world every demo, dataset and zoo model uses
    write_datasets(Path("out"))                # world_trex.jsonl, world_trivia_qa.jsonl, ... (DATASET_FILES)

Pure Python, no model and no download: data, so it lives beside the other data code.
"""

from fmops.data.world._datasets import (
    CLASSIFICATION_TEMPLATE,
    DATASET_FILES,
    QA_TEMPLATE,
    SUMMARIZATION_TEMPLATE,
    TARGET_DELIMITER,
    dataset_records,
    new_domain_train_pairs,
    new_domain_train_texts,
    training_corpus,
    training_pairs,
    write_datasets,
)
from fmops.data.world._world import WORLD_SEED, WORLD_VERSION, Fact, World, build_world

__all__ = [
    "CLASSIFICATION_TEMPLATE",
    "DATASET_FILES",
    "QA_TEMPLATE",
    "SUMMARIZATION_TEMPLATE",
    "TARGET_DELIMITER",
    "WORLD_SEED",
    "WORLD_VERSION",
    "Fact",
    "World",
    "build_world",
    "dataset_records",
    "new_domain_train_pairs",
    "new_domain_train_texts",
    "training_corpus",
    "training_pairs",
    "write_datasets",
]
