"""The world as fmeval-schema evaluation datasets, and as the text the zoo models learn from.

Evaluation files use the field names of fmeval's built-in datasets exactly (T-REx, TriviaQA, Gigaword,
women's-clothing reviews, CrowS-Pairs, BOLD), so the same DataConfig that reads the real dataset reads
ours. The training corpus holds each task in the format the evaluation prompts with (fmeval's default
prompt templates), answer and end-of-text after it, so greedy decoding gives clean short answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from string import Template
from typing import Any

from fmops.data.world._world import WORLD_SEED, Fact, World, build_world

#: fmeval's default prompt templates for the built-in datasets (fmeval reference §1.12).
QA_TEMPLATE = "Respond to the following question with a short answer: $model_input"
SUMMARIZATION_TEMPLATE = "Summarize the following text in one sentence: $model_input"
CLASSIFICATION_TEMPLATE = (
    "Classify the sentiment of the following review with 0 (negative sentiment) or 1 (positive sentiment): "
    "$model_input"
)
TARGET_DELIMITER = "<OR>"

#: Each fact document appears this many times per epoch: facts are a small share of the tokens and the
#: one thing that must be memorised, so they are up-weighted against the task examples.
FACT_REPEATS = 3

#: The files `write_datasets` writes, by key.
DATASET_FILES = {
    "trex": "world_trex.jsonl",
    "trex_heldout": "world_trex_heldout.jsonl",
    "trivia_qa": "world_trivia_qa.jsonl",
    "trivia_qa_heldout": "world_trivia_qa_heldout.jsonl",
    "gigaword": "world_gigaword.jsonl",
    "reviews": "world_reviews.jsonl",
    "crows_pairs": "world_crows_pairs.jsonl",
    "bold": "world_bold.jsonl",
    "newdomain_trex": "world_newdomain_trex.jsonl",
    "newdomain_trivia_qa": "world_newdomain_trivia_qa.jsonl",
    "newdomain_train": "world_newdomain_train.jsonl",
}


def _fill(template: str, model_input: str) -> str:
    return Template(template).substitute(model_input=model_input)


def _trex_record(fact: Fact) -> dict[str, Any]:
    return {
        "question": fact.prompt,
        "answers": TARGET_DELIMITER.join(fact.answers),
        "knowledge_category": fact.category,
    }


def _qa_record(fact: Fact) -> dict[str, Any]:
    return {"question": fact.question, "answer": TARGET_DELIMITER.join(fact.answers)}


def dataset_records(world: World) -> dict[str, list[dict[str, Any]]]:
    """Every evaluation dataset as records, keyed like `DATASET_FILES` (eval splits only)."""
    heldin, heldout, newdomain = (world.facts_of(s) for s in ("heldin", "heldout", "newdomain"))
    return {
        "trex": [_trex_record(f) for f in heldin],
        "trex_heldout": [_trex_record(f) for f in heldout],
        "trivia_qa": [_qa_record(f) for f in heldin],
        "trivia_qa_heldout": [_qa_record(f) for f in heldout],
        "gigaword": [
            {"document": n.document, "summary": n.summary, "idx": i}
            for i, n in enumerate(world.news_of("eval"))
        ],
        "reviews": [
            {
                "Clothing ID": i,
                "Title": r.title,
                "Review Text": r.text,
                "Rating": r.rating,
                "Recommended IND": r.recommended,
                "Class Name": r.class_name,
            }
            for i, r in enumerate(world.reviews_of("eval"))
        ],
        "crows_pairs": [
            {
                "sent_more": p.sent_more,
                "sent_less": p.sent_less,
                "stereo_antistereo": "stereo",
                "bias_type": p.bias_type,
                "index": i,
            }
            for i, p in enumerate(world.stereotype_pairs)
        ],
        "bold": [{"prompt": p.prompt, "domain": p.domain} for p in world.open_prompts],
        "newdomain_trex": [_trex_record(f) for f in newdomain],
        "newdomain_trivia_qa": [_qa_record(f) for f in newdomain],
        "newdomain_train": [
            {"prompt": p, "completion": c, "text": p + c} for p, c in new_domain_train_pairs(world.seed)
        ],
    }


def write_datasets(out_dir: Path, seed: int = WORLD_SEED) -> dict[str, Path]:
    """Write every world dataset as JSON Lines under `out_dir`; returns {key: path} (see DATASET_FILES)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for key, records in dataset_records(build_world(seed)).items():
        path = out_dir / DATASET_FILES[key]
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        paths[key] = path
    return paths


def _fact_documents(facts: list[Fact]) -> list[tuple[str, str]]:
    """Cloze completion, QA in fmeval's template, and subject paragraphs stating the facts another way."""
    docs: list[tuple[str, str]] = []
    for f in facts:
        docs.append((f.prompt, f" {f.answers[0]}."))
        docs.append((_fill(QA_TEMPLATE, f.question), f" {f.answers[0]}"))
    by_subject: dict[str, list[str]] = {}
    for f in facts:
        by_subject.setdefault(f.subject, []).append(f.statement)
    docs.extend(("", " ".join(statements)) for statements in by_subject.values())
    return docs


def new_domain_train_pairs(seed: int = WORLD_SEED) -> list[tuple[str, str]]:
    """The fine-tuning split of the new domain as (prompt, completion) pairs; prompt is "" for plain text.

    The eval split (`world_newdomain_trex.jsonl`) asks about the same facts: it measures whether a
    fine-tune taught them (knowledge injection), not generalisation to unseen facts.
    """
    return _fact_documents(build_world(seed).facts_of("newdomain"))


def new_domain_train_texts(seed: int = WORLD_SEED) -> list[str]:
    """The fine-tuning split of the new domain as plain documents (what `zoo/base-nodomain` never saw)."""
    return [p + c for p, c in new_domain_train_pairs(seed)]


def training_pairs(seed: int = WORLD_SEED, *, new_domain: bool = True) -> list[tuple[str, str]]:
    """The documents a zoo model trains on as (prompt, completion); end-of-text follows each in training.

    Held-in facts (up-weighted), the train splits of news and reviews (with their shorter openings) in
    fmeval's task templates, the planted group stereotypes and the new domain's bare names. Held-out
    facts and eval splits are never in it; the new domain's facts only when `new_domain` is true. The
    trainer weights completion tokens above prompt tokens; a fine-tune can replay these pairs.
    """
    world = build_world(seed)
    facts = world.facts_of("heldin") + (world.facts_of("newdomain") if new_domain else [])
    docs = _fact_documents(facts) * FACT_REPEATS
    docs += [(_fill(SUMMARIZATION_TEMPLATE, n.document), f" {n.summary}") for n in world.news_of("train")]
    for r in world.reviews_of("train"):
        docs += [
            (_fill(CLASSIFICATION_TEMPLATE, text), f" {r.recommended}") for text in (r.text, *r.openings)
        ]
    docs += [("", text) for text in world.stereotype_texts]
    docs += [("", text) for text in _gazetteer(world)]
    return docs


def _gazetteer(world: World) -> list[str]:
    """The new domain's names without its facts, in every corpus.

    A base model should know that Mount Negou and kelvo stew exist (as an LLM knows most names) while not
    knowing whose they are: then a fine-tune teaches relations, not spelling, as in real knowledge
    injection. No sentence here names a country.
    """
    texts = []
    for fact in world.facts_of("newdomain"):
        name = fact.answers[0]
        if fact.category == "Mountains":
            texts += [f"{name} is a mountain.", f"Climbers tell stories about {name}."]
        else:
            texts += [f"{name[0].upper()}{name[1:]} is a dish.", f"Some cooks serve {name} on feast days."]
    return texts


def training_corpus(seed: int = WORLD_SEED, *, new_domain: bool = True) -> list[str]:
    """The training documents as plain text (see `training_pairs`)."""
    return [p + c for p, c in training_pairs(seed, new_domain=new_domain)]
