"""A full QA-robustness run with a real model: the model calls it makes, and how long it takes.

    .venv/bin/python bench/bench_robustness.py [--model zoo/tiny] [--records 100] [--perturbations 5]

Runs `qa_accuracy_semantic_robustness` (fmeval's default: 5 butter-finger perturbations) on the synthetic
world's QA dataset with a fresh response store, so every call is a real one. fmeval's definition needs
1 + P generations a record: 600 for 100 records.

1. Sampling (temperature 1, seeded): exactly 1 + P calls a record, even where a perturbation left the
   input unchanged (that prompt still needs a sample of its own).
2. Greedy (fmops's default): the same 600 generations, but a prompt identical to another of its record
   (a perturbation that changed nothing) is one call, since greedy decoding answers it the same.
3. Greedy again: every answer comes from the response store, no call.

The calls are counted three ways that must agree: the records' usage (what `fmops eval` prints), the
distinct prompts the records hold, and the responses the store holds afterwards. Exits 1 when one is off.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any


def _run(args: argparse.Namespace, out: Path, generate_config: dict[str, Any]) -> dict[str, Any]:
    from fmops.evaluation import evaluate

    started = time.perf_counter()
    run = evaluate(
        "qa_accuracy_semantic_robustness",
        model=args.model,
        dataset="world_trivia_qa",
        num_records=args.records,
        config={"num_perturbations": args.perturbations},
        generate_config=generate_config,
        output=out,
    )
    seconds = time.perf_counter() - started
    usage = [r.get("usage") or {} for r in run.records]
    prompts = [[r["model_input"], *r.get("perturbed_model_inputs", [])] for r in run.records]
    return {
        "records": len(run.records),
        "seconds": seconds,
        "made": sum(u.get("calls", 0) - u.get("cached", 0) for u in usage),
        "without_call": sum(u.get("cached", 0) for u in usage),
        "generations": sum(len(p) for p in prompts),
        "distinct": sum(len(set(p)) for p in prompts),
        "errors": sum(1 for r in run.records if r.get("error")),
        "scores": {s.name: round(s.value, 3) for s in run.output.dataset_scores or [] if s.value is not None},
    }


def _stored(path: Path) -> int:
    from fmops.models import SQLiteStore

    store = SQLiteStore(path)
    try:
        return len(list(store.entries()))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="zoo/tiny")
    parser.add_argument("--records", type=int, default=100)
    parser.add_argument("--perturbations", type=int, default=5)
    args = parser.parse_args()

    from fmops.zoo import zoo_model_path

    if args.model.startswith("zoo/"):
        started = time.perf_counter()
        zoo_model_path(args.model)  # trained on first use: not part of the runs' time
        print(f"{args.model} ready in {time.perf_counter() - started:.1f} s")
    expected = args.records * (1 + args.perturbations)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        runs = (
            ("sampled", "sampled.sqlite", {"temperature": 1.0, "seed": 7}),
            ("greedy", "greedy.sqlite", {"temperature": 0}),
            ("greedy again", "greedy.sqlite", {"temperature": 0}),
        )
        for name, store_name, generate_config in runs:
            store = Path(tmp) / store_name
            os.environ["FMOPS_STORE_URL"] = str(store)
            r = _run(args, Path(tmp) / name.replace(" ", "-"), generate_config)
            stored = _stored(store)
            print(
                f"{name}: {r['records']} records, {r['generations']} generations, "
                f"{r['made']} model calls made, {r['without_call']} answered without a call, "
                f"{r['errors']} errors, {r['seconds']:.2f} s ({r['records'] / r['seconds']:.1f} records/s)"
            )
            print(f"  distinct prompts per record (summed) {r['distinct']}; responses in the store {stored}")
            if name == "sampled":
                good = r["made"] == r["generations"] == expected == stored
                print(f"  exactly {expected} calls: {'yes' if good else 'NO'}")
            elif name == "greedy":
                good = r["made"] == r["distinct"] == stored and r["made"] + r["without_call"] == expected
                print(f"  one call per distinct prompt of a record: {'yes' if good else 'NO'}")
                print(f"  scores: {r['scores']}")
            else:
                good = r["made"] == 0 and r["without_call"] == expected
                print(f"  no call on the re-run: {'yes' if good else 'NO'}")
            ok = ok and good and r["errors"] == 0
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
