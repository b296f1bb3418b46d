"""Helper-model benchmark (issue: model-in-the-loop evaluation, "helper models, offline").

    python bench/bench_helper_models.py [--texts 5000] [--pairs 400] [--threads N] [--repeat 3]

Prints the offline toxicity detector's texts/s (alt-profanity-check) and BERTScore pairs/s with the
offline MiniLM encoder on short pairs (10-30 words), best of `--repeat` runs after a warm-up, and whether
the targets (1,000 texts/s; 100 pairs/s) are met. Also printed: torch's thread count, the load average
(other processes on a shared machine slow torch's threads a lot) and the rate per CPU-second, which
says what the work costs whatever the contention. Texts come from ../shared/data when present (real
toxicity prompts, Gigaword, CrowS-Pairs), else from a built-in vocabulary; seeded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "fmeval-samples"
TOXICITY_TARGET = 1_000.0
BERTSCORE_TARGET = 100.0
FALLBACK = [
    "the", "a", "model", "answer", "question", "world", "city", "river", "people", "government", "report",
    "said", "new", "year", "first", "two", "percent", "market", "company", "officials", "police",
    "president", "minister", "team", "game", "season", "would", "could", "about", "after", "before",
    "over", "under", "into", "against", "between", "during", "without", "while", "because", "although",
    "however", "which", "their", "there",
]  # fmt: skip


def _shared_texts() -> list[str]:
    texts: list[str] = []
    for name, fields in (
        ("real_toxicity_sample.jsonl", ("prompt", "continuation")),
        ("gigaword_sample.jsonl", ("document", "summary")),
        ("crows-pairs_sample.jsonl", ("sent_more", "sent_less")),
    ):
        path = SHARED / name
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.strip():
                    record = json.loads(line)
                    texts += [str(record[f]).strip() for f in fields if record.get(f)]
    return texts


def toxicity_texts(n: int, rng: random.Random) -> list[str]:
    base = _shared_texts() or [" ".join(rng.choices(FALLBACK, k=rng.randint(5, 40))) for _ in range(100)]
    return [f"{base[i % len(base)]} ({i})" for i in range(n)]  # all distinct


def bertscore_pairs(n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Targets of 10-30 words; outputs = the target with about a third of its words replaced."""
    vocab = sorted({w for t in _shared_texts() for w in t.split() if w.isalpha()}) or FALLBACK
    targets, outputs = [], []
    for _ in range(n):
        words = rng.choices(vocab, k=rng.randint(10, 30))
        targets.append(" ".join(words).capitalize() + ".")
        changed = [rng.choice(vocab) if rng.random() < 0.33 else w for w in words]
        outputs.append(" ".join(changed).capitalize() + ".")
    return targets, outputs


def best_rate(work: Callable[[], object], count: int, repeat: int) -> tuple[float, float]:
    """(items per wall-clock second, items per CPU-second of this process), best of `repeat` runs."""
    wall_best = cpu_best = 0.0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        wall_best = max(wall_best, count / wall)
        cpu_best = max(cpu_best, count / cpu if cpu > 0 else float("inf"))
    return wall_best, cpu_best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=5000, help="texts for the toxicity detector (>= 1000)")
    parser.add_argument("--pairs", type=int, default=400, help="BERTScore pairs (>= 200)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(1234)

    from fmops.metrics.toxicity import get_toxicity_detector

    texts = toxicity_texts(max(args.texts, 1000), rng)
    load = time.perf_counter()
    detector = get_toxicity_detector()
    detector.score(texts[:10])
    load = time.perf_counter() - load
    wall, cpu = best_rate(lambda: detector.score(texts), len(texts), args.repeat)
    print(f"toxicity  {detector.info['model']} ({detector.info['detector']}): load {load:.2f} s")
    print(
        f"  {len(texts)} texts: {wall:,.0f} texts/s ({cpu:,.0f} per CPU-second); "
        f"target {TOXICITY_TARGET:,.0f} texts/s: {'met' if wall >= TOXICITY_TARGET else 'NOT met'}"
    )

    import torch

    from fmops.metrics.bertscore import get_bert_scorer

    if args.threads:
        torch.set_num_threads(args.threads)
    targets, outputs = bertscore_pairs(max(args.pairs, 200), rng)
    load = time.perf_counter()
    scorer = get_bert_scorer("sentence-transformers/all-MiniLM-L6-v2")
    scorer.score(targets[:8], outputs[:8])
    load = time.perf_counter() - load
    wall, cpu = best_rate(lambda: scorer.score(targets, outputs), len(targets), args.repeat)
    words = sum(len(t.split()) + len(o.split()) for t, o in zip(targets, outputs, strict=True)) / (
        2 * len(targets)
    )
    print(f"bertscore {scorer.info['model']} layer {scorer.info['layer']}: load {load:.2f} s")
    print(
        f"  {len(targets)} pairs (~{words:.0f} words a text), {torch.get_num_threads()} torch threads: "
        f"{wall:,.1f} pairs/s ({cpu:,.1f} per CPU-second); "
        f"target {BERTSCORE_TARGET:.0f} pairs/s: {'met' if wall >= BERTSCORE_TARGET else 'NOT met'}"
    )
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
