"""Fine-tuning benchmark: knowledge injection on two bases, what they forget, and fmops's overhead over TRL.

    .venv/bin/python bench/bench_finetune.py [--part zoo|smollm|speed|all] [--home DIR]

- zoo: `zoo/base-nodomain` (never saw the new domain) + LoRA with the zoo defaults on the new domain's
  training split; the automatic comparison shows new-domain facts (~0 -> >= 0.9) and what it kept (held-in
  facts, review classification: drop <= 0.05).
- smollm: `hf/HuggingFaceTB/SmolLM2-135M-Instruct` + LoRA (its defaults) on 30 invented capitals it cannot
  know: 0/30 -> >= 27/30, real capitals kept, held-out text loss up by <= 10%.
- speed: tokens/s of `run_finetune` against a plain TRL `SFTTrainer` + PEFT script on the same model, data and
  hyperparameters, measured the same way (a callback timing train begin -> end) in the same process.

Figures are wall-clock on whatever machine runs it: note its load alongside them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
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


def bench_zoo(work: Path, steps: int) -> None:
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


def bench_smollm(work: Path, steps: int) -> None:
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
    _line(f"  held-out text loss {before:.3f} -> {after:.3f} ({(after / before - 1) * 100:+.1f}%)")


def bench_speed(work: Path, steps: int, base: str) -> None:
    """Same model, data and hyperparameters through run_finetune and through a plain TRL script."""
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
        model = AutoModelForCausalLM.from_pretrained(folder)
        config = SFTConfig(
            output_dir=str(work / f"plain-{i}"),
            max_steps=steps,
            per_device_train_batch_size=8,
            learning_rate=1e-3,
            logging_steps=1,
            save_steps=10_000,
            report_to="none",
            seed=0,
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

    plain, ours = [], []
    for i in range(2):  # alternate, best of two each: the machine's load moves
        plain.append(trl_run(i))
        ours.append(fmops_run(i))
    _line(
        f"tokens/s on {base}, {steps} steps: plain TRL+PEFT {max(plain):,.0f}, fmops finetune {max(ours):,.0f} "
        f"({max(ours) / max(plain):.2f}x); runs: plain {[round(x) for x in plain]}, fmops {[round(x) for x in ours]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["zoo", "smollm", "speed", "all"], default="all")
    parser.add_argument("--home", type=Path, help="FMOPS_HOME to use (default: the current one)")
    parser.add_argument("--zoo-steps", type=int, default=120)
    parser.add_argument("--smollm-steps", type=int, default=20)
    parser.add_argument("--speed-steps", type=int, default=30)
    parser.add_argument("--speed-base", default="zoo/base-nodomain")
    args = parser.parse_args()
    if args.home:
        os.environ["FMOPS_HOME"] = str(args.home)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    _line(
        f"fmops fine-tuning bench: {os.cpu_count()} CPUs, load average {load:.1f} at start; python {sys.version.split()[0]}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.part in ("zoo", "all"):
            bench_zoo(work, args.zoo_steps)
        if args.part in ("smollm", "all"):
            bench_smollm(work, args.smollm_steps)
        if args.part in ("speed", "all"):
            bench_speed(work, args.speed_steps, args.speed_base)


if __name__ == "__main__":
    main()
