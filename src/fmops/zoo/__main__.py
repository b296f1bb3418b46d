"""`python -m fmops.zoo [NAME...]`: train (if needed) and measure zoo models, print a Markdown table.

This is how the quality figures in the README are produced; it trains missing models first, so expect
about a minute per model on a laptop CPU.
"""

from __future__ import annotations

import argparse

from fmops.zoo import ZOO_MODELS, measure_zoo_quality, zoo_model_info, zoo_model_path

_COLUMNS = (
    ("factual_knowledge_heldin", "facts held-in"),
    ("factual_knowledge_heldout", "facts held-out"),
    ("factual_knowledge_newdomain", "facts new domain"),
    ("qa_exact_match_heldin", "QA exact match"),
    ("classification_accuracy", "classification"),
    ("summarization_rouge2", "ROUGE-2"),
    ("prompt_stereotyping", "stereotyping"),
)


def main(names: list[str]) -> None:
    header = ["model", "parameters", "train s", "tokens/s", *(label for _, label in _COLUMNS)]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name in names or list(ZOO_MODELS):
        zoo_model_path(name)
        meta = zoo_model_info(name) or {}
        scores = measure_zoo_quality(name)
        row = [
            meta.get("name", name),
            f"{meta.get('parameters', 0):,}",
            f"{meta.get('train_seconds', 0):.0f}",
            f"{meta.get('tokens_per_second', 0):.0f}",
            *(f"{scores.get(key, float('nan')):.2f}" for key, _ in _COLUMNS),
        ]
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m fmops.zoo", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"zoo models (default: {', '.join(ZOO_MODELS)})"
    )
    main(parser.parse_args().names)
