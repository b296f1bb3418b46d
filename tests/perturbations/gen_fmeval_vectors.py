"""Regenerate fmeval_vectors.json by running fmeval 1.2.3's own perturbation transforms.

Run with an interpreter that has fmeval installed (not needed by the test suite):
    /work/fmeval-venv/bin/python tests/perturbations/gen_fmeval_vectors.py
"""

from __future__ import annotations

import json
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from fmeval.transforms.semantic_perturbations import AddRemoveWhitespace, ButterFinger, RandomUppercase

TEXTS: dict[str, str] = {
    "empty": "",
    "fox": "A quick brown fox jumps over the lazy dog 10 times.",
    "upper": "HELLO WORLD, THIS IS LOUD!",
    "whitespace": "  multiple   spaces\t\ttabs\n\nnew\nlines \r\n end  ",
    "unicode": "Ünïcödé façade — naïve café 日本語 İstanbul \u212a ǅ ß ﬁ Straße",
    "single": "a",
    "space": " ",
    "symbols": "1234567890 !@#$%^&*() [p'] ",
    "long200": ("The Quick brown fox, tired of jumping,\nsat down  by the river to think. " * 4)[:200],
}

# fmeval param name (SemanticRobustnessConfig field) -> transform kwarg, per type.
TYPES: dict[str, tuple[type, dict[str, str]]] = {
    "butter_finger": (ButterFinger, {"butter_finger_perturbation_prob": "perturbation_prob"}),
    "random_upper_case": (RandomUppercase, {"random_uppercase_corrupt_proportion": "uppercase_fraction"}),
    "whitespace_add_remove": (
        AddRemoveWhitespace,
        {"whitespace_add_prob": "add_prob", "whitespace_remove_prob": "remove_prob"},
    ),
}

PARAM_VARIANTS: dict[str, list[dict[str, float]]] = {
    "butter_finger": [{"butter_finger_perturbation_prob": v} for v in (0.0, 0.5, 1.0)],
    "random_upper_case": [{"random_uppercase_corrupt_proportion": v} for v in (0.0, 0.29, 0.5, 1.0)],
    "whitespace_add_remove": [
        {"whitespace_add_prob": 0.0, "whitespace_remove_prob": 0.0},
        {"whitespace_add_prob": 0.5, "whitespace_remove_prob": 0.5},
        {"whitespace_add_prob": 1.0, "whitespace_remove_prob": 1.0},
        {"whitespace_add_prob": 0.3},
    ],
}


def make(ptype: str, seed: int, n: int, params: dict[str, float]) -> Any:
    cls, mapping = TYPES[ptype]
    kwargs = {mapping[k]: v for k, v in params.items()}
    return cls("x", [f"x{i}" for i in range(n)], num_perturbations=n, seed=seed, **kwargs)


def sequence_case(ptype: str, seed: int, params: dict[str, float], steps: list[tuple[str, int]]) -> dict:
    """Feed texts in order through one instance; n may change between calls (attribute set in place)."""
    transform = make(ptype, seed, steps[0][1], params)
    outputs = []
    for text_name, n in steps:
        transform.num_perturbations = n
        outputs.append(transform.perturb(TEXTS[text_name]))
    return {"type": ptype, "seed": seed, "params": params, "steps": steps, "outputs": outputs}


def main() -> None:
    single: list[dict] = []
    sequences: list[dict] = []
    for ptype in TYPES:
        for name in TEXTS:
            single.append({"type": ptype, "seed": 5, "params": {}, "text": name, "n": 5})
        for seed in (0, 1, 42, 2024, 2**40 + 3):
            for name in ("fox", "unicode", "whitespace"):
                single.append({"type": ptype, "seed": seed, "params": {}, "text": name, "n": 5})
        for params in PARAM_VARIANTS[ptype]:
            for name in ("fox", "whitespace", "unicode", "long200"):
                single.append({"type": ptype, "seed": 5, "params": params, "text": name, "n": 3})
        for seed in (5, 7):
            steps = [
                ("fox", 5),
                ("empty", 5),
                ("unicode", 5),
                ("whitespace", 5),
                ("upper", 5),
                ("long200", 5),
            ]
            sequences.append(sequence_case(ptype, seed, {}, steps))
        sequences.append(
            sequence_case(ptype, 5, {}, [("fox", 3), ("space", 1), ("fox", 7), ("symbols", 2), ("fox", 3)])
        )
    for case in single:
        case["outputs"] = make(case["type"], case["seed"], case["n"], case["params"]).perturb(
            TEXTS[case["text"]]
        )
    python = sys.version.split()[0]
    doc = {
        "generated_by": f"fmeval {version('fmeval')}, numpy {np.__version__}, python {python}",
        "texts": TEXTS,
        "single": single,
        "sequences": sequences,
    }
    out = Path(__file__).with_name("fmeval_vectors.json")
    out.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
