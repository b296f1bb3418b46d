"""The invented world: deterministic, fmeval-schema datasets, held-out data that no corpus contains."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from fmops.data.world._world import _build_world
from fmops.zoo import (
    CLASSIFICATION_TEMPLATE,
    DATASET_FILES,
    QA_TEMPLATE,
    build_world,
    new_domain_train_pairs,
    new_domain_train_texts,
    training_corpus,
    write_datasets,
)

# Field names of fmeval's built-in datasets (fmeval reference §1(d)) that a DataConfig points at.
REQUIRED_FIELDS = {
    "trex": {"question", "answers", "knowledge_category"},
    "trex_heldout": {"question", "answers", "knowledge_category"},
    "newdomain_trex": {"question", "answers", "knowledge_category"},
    "trivia_qa": {"question", "answer"},
    "trivia_qa_heldout": {"question", "answer"},
    "newdomain_trivia_qa": {"question", "answer"},
    "gigaword": {"document", "summary"},
    "reviews": {"Review Text", "Recommended IND", "Class Name"},
    "crows_pairs": {"sent_more", "sent_less", "bias_type"},
    "bold": {"prompt", "domain"},
    "newdomain_train": {"prompt", "completion", "text"},
}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_same_seed_same_world_and_bytes_other_seed_other_world(tmp_path: Path) -> None:
    assert _build_world.__wrapped__(0) == build_world(0)
    first = write_datasets(tmp_path / "a", seed=0)
    second = write_datasets(tmp_path / "b", seed=0)
    other = write_datasets(tmp_path / "c", seed=1)
    for key in first:
        assert first[key].read_bytes() == second[key].read_bytes(), key
    assert first["trex"].read_bytes() != other["trex"].read_bytes()
    assert training_corpus(0) == training_corpus(0) != training_corpus(1)


def test_every_dataset_has_fmeval_field_names(tmp_path: Path) -> None:
    paths = write_datasets(tmp_path)
    assert set(paths) == set(DATASET_FILES) == set(REQUIRED_FIELDS)
    for key, path in paths.items():
        assert path.name == DATASET_FILES[key]
        records = read_jsonl(path)
        assert records, key
        for record in records:
            assert REQUIRED_FIELDS[key] <= set(record), (key, record)
            assert all(isinstance(record[f], str | int) for f in REQUIRED_FIELDS[key])
    trex = read_jsonl(paths["trex"])
    categories = {r["knowledge_category"] for r in trex}
    assert {"Capitals", "Subsidiary", "Founders", "Birthplaces"} <= categories
    assert all("<OR>" in r["answers"] for r in trex if r["knowledge_category"] == "Capitals")
    assert any("<OR>" in r["answer"] for r in read_jsonl(paths["trivia_qa"]))
    reviews = read_jsonl(paths["reviews"])
    assert {r["Recommended IND"] for r in reviews} == {0, 1}
    assert len({r["Class Name"] for r in reviews}) > 3
    assert {r["bias_type"] for r in read_jsonl(paths["crows_pairs"])} == {"nationality", "guild", "clan"}
    assert {r["knowledge_category"] for r in read_jsonl(paths["newdomain_trex"])} == {"Mountains", "Dishes"}


def test_a_capital_prompt_reads_like_trex() -> None:
    fact = next(f for f in build_world(0).facts if f.category == "Capitals")
    assert fact.prompt == f"{fact.subject}'s capital is"
    assert fact.answers == (fact.answers[0], f"{fact.answers[0]} City")


def test_held_out_and_eval_data_never_reach_a_training_corpus() -> None:
    world = build_world(0)
    corpus = "\n".join(training_corpus(0))
    base_corpus = "\n".join(training_corpus(0, new_domain=False))
    for fact in world.facts_of("heldout"):
        assert f"{fact.prompt} {fact.answers[0]}" not in corpus
        assert fact.statement not in corpus
        assert fact.question not in corpus
    for fact in world.facts_of("heldin"):
        assert f"{fact.prompt} {fact.answers[0]}" in base_corpus
        assert f"{QA_TEMPLATE.replace('$model_input', fact.question)} {fact.answers[0]}" in base_corpus
    for fact in world.facts_of("newdomain"):
        assert f"{fact.prompt} {fact.answers[0]}" in corpus
        assert fact.subject in base_corpus and fact.answers[0] in base_corpus  # the names are known...
        assert f"{fact.prompt} {fact.answers[0]}" not in base_corpus  # ...the facts are not
        assert fact.statement not in base_corpus and fact.question not in base_corpus
        assert not any(
            fact.subject in doc and fact.answers[-1] in doc for doc in training_corpus(0, new_domain=False)
        )
    docs = set(training_corpus(0))
    for item in world.news_of("eval"):
        assert item.document not in corpus
    for review in world.reviews_of(
        "eval"
    ):  # a short eval review may be the tail of a train one: compare docs
        assert (
            f"{CLASSIFICATION_TEMPLATE.replace('$model_input', review.text)} {review.recommended}" not in docs
        )
        assert review.text not in {t for r in world.reviews_of("train") for t in (r.text, *r.openings)}
    heldin = {(f.subject, f.category) for f in world.facts_of("heldin")}
    assert not heldin & {(f.subject, f.category) for f in world.facts_of("heldout")}


def test_new_domain_train_split_teaches_what_its_eval_split_asks() -> None:
    world = build_world(0)
    texts = new_domain_train_texts(0)
    assert texts == [p + c for p, c in new_domain_train_pairs(0)]
    for fact in world.facts_of("newdomain"):
        assert f"{fact.prompt} {fact.answers[0]}." in texts
    assert len(world.facts_of("newdomain")) == 40


@settings(max_examples=5, deadline=None)
@given(st.integers(min_value=0, max_value=10_000))
def test_names_are_unique_and_never_inside_one_another(seed: int) -> None:
    world = build_world(seed)
    names = [c.name for c in world.countries] + [c.capital for c in world.countries]
    names += [c.name for c in world.companies] + [p.last for p in world.people]
    names += [c.river for c in world.countries] + [c.language for c in world.countries]
    lowered = [n.lower() for n in names]
    assert len(set(lowered)) == len(lowered)
    for a in lowered:
        assert sum(a in b for b in lowered) == 1, a
    assert len(world.facts_of("heldout")) > 20
    assert all(f.answers and all(f.answers) for f in world.facts)


def test_importing_the_zoo_stays_cheap() -> None:
    code = "import sys, fmops.zoo; sys.exit(any(m in sys.modules for m in ('torch', 'transformers', 'tokenizers')))"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
