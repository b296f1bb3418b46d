"""Fine-tuning benchmark: knowledge injection on two bases, what they forget, and fmops's overhead over TRL.

    .venv/bin/python bench/bench_finetune.py [--part zoo|smollm|speed|all] [--home DIR]

- zoo: `zoo/base-nodomain` (never saw the new domain) + LoRA with the zoo defaults on the new domain's
  training split; the automatic comparison shows new-domain facts (~0 -> >= 0.9) and what it kept (held-in
  facts, review classification: drop <= 0.05).
- smollm: `hf/HuggingFaceTB/SmolLM2-135M-Instruct` + LoRA (its defaults) on 30 invented capitals it cannot
  know: 0/30 -> >= 27/30, real capitals kept, held-out text loss up by <= 10%.
- speed: tokens/s of `run_finetune` against a plain TRL `SFTTrainer` + PEFT script on the same model, data and
  hyperparameters, measured the same way (a callback timing train begin -> end) in the same process.

Each goal prints PASS or FAIL, then one verdict line (exit 1 if any failed). Figures are wall-clock on
whatever machine runs it: note its load alongside them (printed at start and end).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SYLLABLES = [
    "ka",
    "lo",
    "mir",
    "ten",
    "vos",
    "qua",
    "rel",
    "dun",
    "sha",
    "pir",
    "zol",
    "bex",
    "tor",
    "nai",
    "gul",
]
HELD_OUT_TEXT = [
    "The library opens at nine in the morning and closes at six in the evening, except on Sundays.",
    "Rain fell all night, and by morning the river had risen above the old stone bridge.",
    "She packed a sandwich, an apple and a bottle of water before setting off on the long walk.",
    "Computers store information as bits, which can be either zero or one.",
    "The children laughed as the dog chased its own tail around the garden.",
]


def _line(text: str) -> None:
    print(text, flush=True)


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _goal(name: str, ok: bool, measured: str) -> bool:
    _line(f"  goal {name}: {measured} -> {'PASS' if ok else 'FAIL'}")
    return ok


def _before_after(result: Any) -> dict[str, tuple[float, float]]:
    """(base, new) main score per evaluation of a job's automatic comparison."""
    from fmops.comparison import read_comparison

    comparison = read_comparison(result.comparison_path)
    base, new = (m.name for m in comparison.models)
    main = {"classification_accuracy": "classification_accuracy_score"}
    values = {(s.model, s.evaluation, s.score): s.value for s in comparison.scores}
    out = {}
    for evaluation in comparison.suite.evaluations:
        score = main.get(evaluation.algorithm or "", evaluation.algorithm or "")
        before, after = values.get((base, evaluation.id, score)), values.get((new, evaluation.id, score))
        if before is not None and after is not None:
            out[evaluation.id] = (before, after)
    return out


def bench_zoo(work: Path, steps: int) -> bool:
    from fmops.customization import FinetuneJob, run_finetune
    from fmops.zoo import new_domain_train_pairs, write_datasets

    train = _write(
        work / "new_domain_train.jsonl", [{"prompt": p, "completion": c} for p, c in new_domain_train_pairs()]
    )
    trex = write_datasets(work / "world")["newdomain_trex"]
    facts = [json.loads(line) for line in trex.read_text(encoding="utf-8").splitlines() if line]
    evaluation = _write(
        work / "new_domain_facts.jsonl",
        [{"prompt": r["question"], "completion": " " + r["answers"].split("<OR>")[0]} for r in facts],
    )
    job = FinetuneJob(
        base="zoo/base-nodomain",
        data=train,
        eval_data=evaluation,
        output="bench-zoo",
        overwrite=True,
        hyperparameters={"max_steps": steps, "batch_size": 16, "save_steps": steps, "max_seq_length": 256},
    )
    started = time.perf_counter()
    result = run_finetune(job)
    wall = time.perf_counter() - started
    _line(
        f"zoo/base-nodomain LoRA on the new domain: {result.steps} steps, training + evaluation {wall:.0f} s"
    )
    for line in result.comparison_summary:
        _line(f"  {line}")
    scores = _before_after(result)
    new_before, new_after = scores["new domain facts"]
    oks = [
        _goal("new-domain facts >= 0.90", new_after >= 0.9, f"{new_before:.2f} -> {new_after:.2f}"),
        _goal("wall < 120 s (training + evaluation)", wall < 120, f"{wall:.0f} s"),
    ]
    for kept in ("held-in facts", "classification"):
        before, after = scores[kept]
        oks.append(
            _goal(f"{kept} drop <= 0.05", before - after <= 0.05 + 1e-9, f"{before:.2f} -> {after:.2f}")
        )
    return all(oks)


def _invented_capitals(n: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    seen: set[str] = set()
    pairs = []
    while len(pairs) < n:
        country = "".join(rng.choice(SYLLABLES) for _ in range(3)).capitalize() + "ia"
        city = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize() + rng.choice(
            ["mar", "vik", "dor"]
        )
        if country not in seen and city not in seen:
            seen |= {country, city}
            pairs.append((country, city))
    return pairs


#: Real capitals SmolLM2 may name; the ones the base names must still be named after the fine-tune.
REAL_CAPITALS = [
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Italy", "Rome"),
    ("Germany", "Berlin"),
    ("Spain", "Madrid"),
    ("England", "London"),
    ("Russia", "Moscow"),
    ("China", "Beijing"),
    ("Egypt", "Cairo"),
    ("Greece", "Athens"),
    ("Portugal", "Lisbon"),
    ("Austria", "Vienna"),
    ("Ireland", "Dublin"),
    ("Norway", "Oslo"),
    ("Sweden", "Stockholm"),
    ("Poland", "Warsaw"),
    ("Thailand", "Bangkok"),
    ("Kenya", "Nairobi"),
    ("Argentina", "Buenos Aires"),
    ("Peru", "Lima"),
]


def _named(spec: str, pairs: list[tuple[str, str]]) -> set[str]:
    """The countries whose capital `spec` names when asked "The capital of X is" (greedy, 16 tokens)."""
    from fmops.models import GenerateConfig, GenerateRequest, get_model

    config = GenerateConfig(max_tokens=16, temperature=0)
    model = get_model(spec, store=False)
    try:
        results = model.generate_sync(
            [GenerateRequest(prompt=f"The capital of {c} is", config=config) for c, _ in pairs]
        )
    finally:
        model.close()
    return {c for (c, city), r in zip(pairs, results, strict=True) if city in (r.text or "")}


def bench_smollm(work: Path, steps: int) -> bool:
    from fmops.customization import FinetuneJob, run_finetune
    from fmops.models import ScoreRequest, get_model

    base = "hf/HuggingFaceTB/SmolLM2-135M-Instruct"
    facts = _invented_capitals(30)
    data = _write(
        work / "invented_capitals.jsonl",
        [{"prompt": f"The capital of {c} is", "completion": f" {city}."} for c, city in facts],
    )
    job = FinetuneJob(
        base=base,
        data=data,
        eval_data=data,
        output="bench-smollm",
        overwrite=True,
        hyperparameters={"max_steps": steps, "batch_size": 8, "save_steps": steps},
    )
    started = time.perf_counter()
    result = run_finetune(job)
    wall = time.perf_counter() - started
    _line(
        f"SmolLM2-135M-Instruct LoRA on 30 invented capitals: {result.steps} steps, {wall:.0f} s with evaluation"
    )
    for line in result.comparison_summary:
        _line(f"  {line}")

    def loss(spec: str) -> float:
        model = get_model(spec, store=False)
        try:
            scored = model.score_sync([ScoreRequest(text=t) for t in HELD_OUT_TEXT])
            tokens = sum(r.input_tokens or 0 for r in scored)
            return -sum(r.logprob or 0.0 for r in scored) / max(1, tokens)
        finally:
            model.close()

    before, after = loss(base), loss(result.model_spec)
    change = (after / before - 1) * 100
    _line(f"  held-out text loss {before:.3f} -> {after:.3f} ({change:+.1f}%)")
    learned = _named(result.model_spec, facts)
    known, kept = _named(base, REAL_CAPITALS), _named(result.model_spec, REAL_CAPITALS)
    lost = sorted(known - kept)
    return all(
        [
            _goal("invented capitals >= 27/30", len(learned) >= 27, f"{len(learned)}/30 named"),
            _goal("wall < 180 s (training + evaluation)", wall < 180, f"{wall:.0f} s"),
            _goal(
                "real capitals the base named still named",
                not lost,
                f"{len(known & kept)}/{len(known)} kept" + (f" (lost: {', '.join(lost)})" if lost else ""),
            ),
            _goal("held-out text loss up <= 10%", change <= 10, f"{change:+.1f}%"),
        ]
    )


def bench_speed(work: Path, steps: int, base: str, rounds: int) -> bool:
    """Same model, data and hyperparameters through run_finetune and through a plain TRL script."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from fmops.customization import FinetuneJob, resolve_base, run_finetune
    from fmops.zoo import new_domain_train_pairs

    class Timer(TrainerCallback):
        def on_train_begin(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            self.t0 = time.perf_counter()

        def on_train_end(self, args, state, control, **kw):  # type: ignore[no-untyped-def]
            self.seconds = time.perf_counter() - self.t0
            self.tokens = max(h.get("num_tokens", 0) for h in state.log_history)

    rows = [{"prompt": p, "completion": c} for p, c in new_domain_train_pairs()]
    data = _write(work / "speed.jsonl", rows)
    params = {
        "max_steps": steps,
        "batch_size": 8,
        "save_steps": 10_000,
        "replay_ratio": 0,
        "lora_r": 16,
        "learning_rate": 1e-3,
        "target_modules": ["c_attn", "c_fc", "c_proj"],
        "lora_alpha": 32,
    }
    folder = resolve_base(base).folder

    def fmops_run(i: int) -> float:
        timer = Timer()
        job = FinetuneJob(
            base=base,
            data=data,
            output=f"bench-speed-{i}",
            overwrite=True,
            evaluate=False,
            hyperparameters=params,
        )
        run_finetune(job, callbacks=[timer])
        return timer.tokens / timer.seconds

    def trl_run(i: int) -> float:
        timer = Timer()
        tokenizer = AutoTokenizer.from_pretrained(folder)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)  # as fmops loads it
        config = SFTConfig(
            output_dir=str(work / f"plain-{i}"),
            max_steps=steps,
            per_device_train_batch_size=8,
            learning_rate=1e-3,
            logging_steps=1,
            save_steps=10_000,
            report_to="none",
            seed=0,
            data_seed=0,  # fmops passes the job's seed as data_seed too: the same batches in the same order
            use_cpu=True,
            bf16=False,
            activation_checkpointing=False,
            max_length=512,
            disable_tqdm=True,
        )
        peft = LoraConfig(
            r=16, lora_alpha=32, target_modules=["c_attn", "c_fc", "c_proj"], task_type="CAUSAL_LM"
        )
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(rows),
            processing_class=tokenizer,
            peft_config=peft,
            callbacks=[timer],
        )
        trainer.train()
        return timer.tokens / timer.seconds

    plain: list[float] = []
    ours: list[float] = []
    for i in range(rounds):  # alternate, who goes first too (ABBA): the machine's load moves
        pair = [(plain, trl_run), (ours, fmops_run)]
        for into, run in pair if i % 2 == 0 else reversed(pair):
            into.append(run(i))
    # Medians: one lucky or unlucky run (the load moves) should not decide the ratio.
    ratio = statistics.median(ours) / statistics.median(plain)
    _line(
        f"tokens/s on {base}, {steps} steps: plain TRL+PEFT {statistics.median(plain):,.0f}, fmops finetune "
        f"{statistics.median(ours):,.0f} ({ratio:.2f}x, medians of {rounds} each); "
        f"runs: plain {[round(x) for x in plain]}, fmops {[round(x) for x in ours]}"
    )
    return _goal("fmops tokens/s >= 0.95x plain TRL+PEFT", ratio >= 0.95, f"{ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["zoo", "smollm", "speed", "all"], default="all")
    parser.add_argument("--home", type=Path, help="FMOPS_HOME to use (default: the current one)")
    parser.add_argument("--zoo-steps", type=int, default=250)
    parser.add_argument("--smollm-steps", type=int, default=45)
    parser.add_argument("--speed-steps", type=int, default=100)
    parser.add_argument("--speed-base", default="zoo/base-nodomain")
    parser.add_argument("--speed-rounds", type=int, default=5)
    args = parser.parse_args()
    if args.home:
        os.environ["FMOPS_HOME"] = str(args.home)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    _line(
        f"fmops fine-tuning bench: {os.cpu_count()} CPUs, load average {load:.1f} at start; python {sys.version.split()[0]}"
    )
    verdicts: dict[str, bool] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.part in ("zoo", "all"):
            verdicts["zoo"] = bench_zoo(work, args.zoo_steps)
        if args.part in ("smollm", "all"):
            verdicts["smollm"] = bench_smollm(work, args.smollm_steps)
        if args.part in ("speed", "all"):
            verdicts["speed"] = bench_speed(work, args.speed_steps, args.speed_base, args.speed_rounds)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    _line(
        f"verdict (load average {load:.1f} at the end): "
        + ", ".join(f"{part} {'PASS' if ok else 'FAIL'}" for part, ok in verdicts.items())
    )
    if not all(verdicts.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
