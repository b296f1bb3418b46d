"""Measure what a zoo model knows, with fmeval's scoring rules, on the world's evaluation splits.

Self-contained on purpose (a few lines per metric, definitions from the fmeval reference) so the zoo can
report its own quality without the evaluation engine: factual knowledge is case-insensitive substring
inclusion of any `<OR>` alias, QA exact match is strip-equality with any alias, classification takes the
first space-separated word that is a valid label.
"""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

from fmops.core.optional import one_model_load_at_a_time
from fmops.data.world import (
    CLASSIFICATION_TEMPLATE,
    QA_TEMPLATE,
    SUMMARIZATION_TEMPLATE,
    TARGET_DELIMITER,
    WORLD_SEED,
    build_world,
    dataset_records,
)


def generate(
    model: Any, tokenizer: Any, prompts: list[str], max_new_tokens: int, batch_size: int = 32
) -> list[str]:
    """Greedy continuations of `prompts` (left-padded batches; only the new text is returned)."""
    import torch

    tokenizer.padding_side = "left"
    outputs: list[str] = []
    with torch.no_grad():
        for start in range(0, len(prompts), batch_size):
            batch = tokenizer(prompts[start : start + batch_size], return_tensors="pt", padding=True)
            generated = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False)
            new = generated[:, batch["input_ids"].shape[1] :]
            outputs += tokenizer.batch_decode(new, skip_special_tokens=True)
    return outputs


def _inclusion(output: str, target: str) -> float:
    return max(float(t.lower() in output.lower()) for t in target.split(TARGET_DELIMITER))


def _exact(output: str, target: str) -> float:
    return max(float(output.strip() == t.strip()) for t in target.split(TARGET_DELIMITER))


def _label(output: str, valid: tuple[str, ...] = ("0", "1")) -> str:
    for word in output.split(" "):
        if word.lower().strip() in valid:
            return word.lower().strip()
    return "unknown"


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 3) if values else float("nan")


def measure_zoo_quality(model: str | Path, *, world_seed: int = WORLD_SEED) -> dict[str, float]:
    """Greedy-decode every evaluation split with `model` (a zoo name or an HF folder) and score it.

    Returns factual knowledge (held-in, held-out, new domain), QA exact match (held-in), classification
    accuracy (unseen reviews), summarization ROUGE-2 (unseen news; when rouge-score is installed) and the
    stereotyping rate on the planted-bias pairs (share preferring sent_more; 0.5 is unbiased).
    """
    from fmops.zoo._store import zoo_model_path
    from fmops.zoo._train import require_hf

    require_hf("Measuring a zoo model")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = zoo_model_path(model) if isinstance(model, str) and not Path(model).is_dir() else Path(model)
    with one_model_load_at_a_time():
        lm = AutoModelForCausalLM.from_pretrained(model_dir)
    lm.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    data = dataset_records(build_world(world_seed))
    scores: dict[str, float] = {}

    def fill(template: str, text: str) -> str:
        return Template(template).substitute(model_input=text)

    for key, name in (("trex", "heldin"), ("trex_heldout", "heldout"), ("newdomain_trex", "newdomain")):
        recs = data[key]
        outs = generate(lm, tokenizer, [r["question"] for r in recs], max_new_tokens=8)
        scores[f"factual_knowledge_{name}"] = _mean(
            [_inclusion(o, r["answers"]) for o, r in zip(outs, recs, strict=True)]
        )
    for key, name in (("trivia_qa", "heldin"), ("newdomain_trivia_qa", "newdomain")):
        recs = data[key]
        outs = generate(lm, tokenizer, [fill(QA_TEMPLATE, r["question"]) for r in recs], max_new_tokens=10)
        scores[f"qa_exact_match_{name}"] = _mean(
            [_exact(o, r["answer"]) for o, r in zip(outs, recs, strict=True)]
        )
    recs = data["reviews"]
    outs = generate(lm, tokenizer, [fill(CLASSIFICATION_TEMPLATE, r["Review Text"]) for r in recs], 3)
    scores["classification_accuracy"] = _mean(
        [float(_label(o) == str(r["Recommended IND"])) for o, r in zip(outs, recs, strict=True)]
    )
    recs = data["gigaword"]
    outs = generate(lm, tokenizer, [fill(SUMMARIZATION_TEMPLATE, r["document"]) for r in recs], 24)
    try:
        from rouge_score import rouge_scorer
    except ImportError:  # pragma: no cover - rouge-score is a core dependency
        pass
    else:
        scorer = rouge_scorer.RougeScorer(["rouge2"], use_stemmer=True)
        scores["summarization_rouge2"] = _mean(
            [scorer.score(r["summary"], o)["rouge2"].fmeasure for o, r in zip(outs, recs, strict=True)]
        )
    with torch.no_grad():
        prefer_more = []
        for pair in data["crows_pairs"]:
            more, less = (_sentence_log_prob(lm, tokenizer, pair[k]) for k in ("sent_more", "sent_less"))
            prefer_more.append(float(more > less))
    scores["prompt_stereotyping"] = _mean(prefer_more)
    return scores


def _sentence_log_prob(model: Any, tokenizer: Any, text: str) -> float:
    import torch

    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    ids = torch.cat([torch.tensor([[tokenizer.eos_token_id]]), ids], dim=1)  # condition the first token
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, :-1]
    log_probs = torch.log_softmax(logits, dim=-1)
    return float(log_probs.gather(1, ids[0, 1:, None]).sum())
