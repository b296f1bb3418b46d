"""Benchmark of the embedded default's real pretrained model, SmolLM2-135M-Instruct (packaged weights).

    .venv/bin/python bench/bench_real_model.py [--records 40] [--decode-tokens 32] [--sentences 32]
        [--serve-requests 48] [--skip-serve] [--model hf/HuggingFaceTB/SmolLM2-135M-Instruct]

Needs ../shared/data/fmeval-samples (real TriviaQA and T-REx samples, taken from fmeval). Prints:

1. accuracy with 95% bootstrap intervals: qa_accuracy on TriviaQA (fmeval's short-answer template, through
   the model's chat template) and factual_knowledge on T-REx, greedy;
2. greedy decode tokens/s at batch 1 and 8, float32 and bfloat16, and whether the batched answers equal
   the one-by-one answers (bf16 batched arithmetic can differ: fp32 stays the reproducible default);
3. sentence log-probabilities per second (CrowS-Pairs sentences), one at a time and batched;
4. serve throughput at 16 concurrent clients vs 1 (bench/bench_serve.py on this model, goal >= 3x).

Figures depend on the machine and its load: say which when you quote them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT.parent / "shared" / "data" / "fmeval-samples"
SPEC = "hf/HuggingFaceTB/SmolLM2-135M-Instruct"
QA_TEMPLATE = "Respond to the following question with a short answer: $model_input"
DECODE_PROMPTS = [
    "Write a short story about a lighthouse keeper.",
    "Explain how a bicycle works.",
    "Describe your favourite city and why you like it.",
    "Write a poem about the sea.",
    "Give three tips for learning a new language.",
    "Explain what a computer program is to a child.",
    "Describe a walk in the forest in autumn.",
    "Write a letter to a friend about your holiday.",
]


def accuracy(spec: str, records: int, out: Path) -> None:
    from fmops.evaluation import evaluate
    from fmops.evaluation.statistics import bootstrap_ci
    from fmops.models import get_model

    greedy = {"temperature": 0, "max_tokens": 32}
    # No per-call timeout or retry: on a loaded CPU a batch can exceed the default 120 s, and a retry would
    # queue a second copy of the same work behind the first on the model's one worker thread.
    model = get_model(spec, ["timeout=3600", "max_retries=0"], store=False)
    runs = {
        "TriviaQA (qa_accuracy)": evaluate(
            "qa_accuracy",
            model=model,
            dataset=SAMPLES / "triviaQA_sample.jsonl",
            locations={"model_input": "question", "target_output": "answer"},
            config={"bertscore": False},
            prompt_template=QA_TEMPLATE,
            num_records=records,
            generate_config=greedy,
            output=out / "trivia_qa",
        ),
        "T-REx (factual_knowledge)": evaluate(
            "factual_knowledge",
            model=model,
            dataset=SAMPLES / "trex_sample.jsonl",
            locations={
                "model_input": "question",
                "target_output": "answers",
                "category": "knowledge_category",
            },
            num_records=records,
            generate_config=greedy,
            output=out / "trex",
        ),
    }
    model.close()
    for label, run in runs.items():
        by_name: dict[str, list[float]] = {}
        for row in run.records:
            for score in row["scores"]:
                if score.get("value") is not None:
                    by_name.setdefault(score["name"], []).append(float(score["value"]))
        for name, values in by_name.items():
            ci = bootstrap_ci(values)
            interval = f"[{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "-"
            hits = sum(v >= 1.0 for v in values)
            print(
                f"  {label:<26} {name:<32} {sum(values) / len(values):.3f}  95% CI {interval}  ({hits}/{len(values)})"
            )


def decode(spec: str, tokens: int) -> None:
    from fmops.models import GenerateConfig, GenerateRequest, get_model

    config = GenerateConfig(max_tokens=tokens, temperature=0)
    requests = [GenerateRequest(prompt=p, config=config) for p in DECODE_PROMPTS]
    for dtype in ("float32", "bfloat16"):
        model = get_model(spec, [f"dtype={dtype}", "batch_size=8"], store=False)
        api: Any = model.api
        api.generate_blocking(requests[:1])  # load and warm up
        one_by_one, made, started = [], 0, time.perf_counter()
        for request in requests[:4]:
            result = api.generate_blocking([request])[0]
            one_by_one.append(result.text)
            made += result.output_tokens or 0
        batch1 = made / (time.perf_counter() - started)
        started = time.perf_counter()
        batched = api.generate_blocking(requests)
        batch8 = sum(r.output_tokens or 0 for r in batched) / (time.perf_counter() - started)
        same = [r.text for r in batched[:4]] == one_by_one
        print(
            f"  {dtype:<9} batch 1: {batch1:6.1f} tok/s   batch 8: {batch8:6.1f} tok/s   "
            f"batched answers equal one-by-one: {'yes' if same else 'NO'}"
        )
        model.close()


def logprobs(spec: str, count: int) -> None:
    from fmops.models import ScoreRequest, get_model

    rows = [
        json.loads(line) for line in (SAMPLES / "crows-pairs_sample.jsonl").read_text().splitlines() if line
    ]
    sentences = [s for row in rows for s in (row["sent_more"], row["sent_less"])][:count]
    model = get_model(spec, ["batch_size=8"], store=False)
    api: Any = model.api
    api.score_blocking([ScoreRequest(text=sentences[0])])  # load
    started = time.perf_counter()
    for s in sentences:
        api.score_blocking([ScoreRequest(text=s)])
    single = len(sentences) / (time.perf_counter() - started)
    started = time.perf_counter()
    for i in range(0, len(sentences), 8):
        api.score_blocking([ScoreRequest(text=s) for s in sentences[i : i + 8]])
    batched = len(sentences) / (time.perf_counter() - started)
    print(f"  {len(sentences)} sentences: one at a time {single:5.1f}/s, batches of 8 {batched:5.1f}/s")
    model.close()


def serve(spec: str, requests: int, threads: int | None) -> int:
    command = [
        sys.executable,
        str(ROOT / "bench" / "bench_serve.py"),
        "--model",
        spec,
        "--clients",
        "16",
        "--requests",
        str(requests),
        "--max-tokens",
        "16",
        *(["--threads", str(threads)] if threads else []),
    ]
    print(f"  $ {' '.join(command[1:])}", flush=True)
    return subprocess.run(command, cwd=ROOT, env=dict(os.environ), check=False).returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=SPEC)
    parser.add_argument("--records", type=int, default=40, help="records per accuracy evaluation")
    parser.add_argument("--decode-tokens", type=int, default=32)
    parser.add_argument("--sentences", type=int, default=32)
    parser.add_argument("--serve-requests", type=int, default=48)
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads (default: torch's own; 1 avoids spin-wait thrash on a CPU shared with other work)",
    )
    args = parser.parse_args()
    if not args.skip_accuracy and not SAMPLES.is_dir():
        sys.exit(f"{SAMPLES}: not found (the real fmeval samples live in ../shared/data)")
    import torch

    from fmops.models import get_model

    if args.threads:
        torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model = get_model(args.model, store=False)  # converts the packaged GGUF on first use
    print(f"{args.model}: {getattr(model.api, 'weights_source', None) or 'local weights'}")
    print(
        f"ready in {time.perf_counter() - started:.1f} s; torch {torch.__version__}, {os.cpu_count()} CPUs, "
        f"{torch.get_num_threads()} torch threads, cpu capability {torch.backends.cpu.get_cpu_capability()}"
    )
    model.close()
    if not args.skip_accuracy:
        print(f"\n1. accuracy on real samples ({args.records} records each, greedy, 32 new tokens)")
        with tempfile.TemporaryDirectory() as out:
            accuracy(args.model, args.records, Path(out))
    print(f"\n2. greedy decoding ({args.decode_tokens} new tokens; batch 1 = 4 prompts one by one)")
    decode(args.model, args.decode_tokens)
    print("\n3. sentence log-probabilities")
    logprobs(args.model, args.sentences)
    code = 0
    if not args.skip_serve:
        print("\n4. fmops serve: 16 concurrent clients vs 1")
        code = serve(args.model, args.serve_requests, args.threads)
    print(f"\nbench finished in {time.perf_counter() - started:.0f} s")
    sys.exit(code)


if __name__ == "__main__":
    main()
