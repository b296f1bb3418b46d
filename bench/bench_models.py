"""Benchmarks of the model layer, all on this machine (loopback server, tiny local model).

    .venv/bin/python bench/bench_models.py [--requests 960] [--skip-hf]

1. Throughput: the OpenAI-compatible test server runs in its own process with 100 ms latency; the
   runner at concurrency 32 should reach 85% of the ideal 320 requests/s.
2. A fully cached re-run makes zero calls and is at least 50x faster than the cold run.
3. The response store costs under 1 ms per record (write on the cold path + read on the warm path).
4. HF batched generation reaches 0.9x the tokens/s of calling `model.generate` directly on the same batch.

Prints each figure and whether its target is met; exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.support: the test server, the tiny model

from fmops.models import (  # noqa: E402
    GenerateConfig,
    GenerateRequest,
    ModelResult,
    SQLiteStore,
    get_model,
)

RESULTS: list[tuple[str, str, bool]] = []


def report(name: str, figure: str, met: bool) -> None:
    RESULTS.append((name, figure, met))
    print(f"{'PASS' if met else 'MISS'}  {name}: {figure}", flush=True)


class ServerProcess:
    """The test server in a separate process, so its CPU is not the client's."""

    def __init__(self, latency: float) -> None:
        script = ROOT / "tests" / "support" / "openai_server.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--latency", str(latency)], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the test server did not start: {line!r}")
        self.root = f"http://127.0.0.1:{int(line.split()[1])}"
        self.base_url = self.root + "/v1"

    def calls(self) -> int:
        with urllib.request.urlopen(self.root + "/_stats") as response:
            return int(json.load(response)["calls"])

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def bench_http(requests: int, concurrency: int, latency: float, trials: int, workdir: Path) -> None:
    server = ServerProcess(latency)
    try:
        store = SQLiteStore(workdir / "bench.sqlite")
        args = [f"base_url={server.base_url}", f"max_concurrency={concurrency}"]
        model = get_model("openai/test-model", args, store=store)

        def batch(trial: int) -> list[GenerateRequest]:
            config = GenerateConfig(max_tokens=8)
            return [
                GenerateRequest(prompt=f"benchmark record {trial}.{i}", config=config)
                for i in range(requests)
            ]

        async def cold_and_warm() -> tuple[float, float, int, int]:
            # Warm-up on other prompts: open connections, import lazily loaded parts.
            await model.generate([f"warm-up {i}" for i in range(concurrency)])
            best: tuple[float, int, list[GenerateRequest], list[ModelResult]] | None = None
            for trial in range(trials):  # best of a few cold runs: other tenants share this machine
                reqs = batch(trial)
                calls_before = server.calls()
                started = time.perf_counter()
                cold = await model.generate(reqs)
                cold_s = time.perf_counter() - started
                assert cold.summary.errors == 0, cold.summary.error_messages
                if best is None or cold_s < best[0]:
                    best = (cold_s, server.calls() - calls_before, reqs, cold.results)
            assert best is not None
            cold_s, calls_cold, reqs, cold_results = best
            calls_before = server.calls()
            started = time.perf_counter()
            warm = await model.generate(reqs)
            warm_s = time.perf_counter() - started
            assert all(a.same_output(b) for a, b in zip(cold_results, warm, strict=True))
            calls_warm = server.calls() - calls_before
            await model.aclose()
            return cold_s, warm_s, calls_cold, calls_warm

        cold_s, warm_s, calls_cold, calls_warm = asyncio.run(cold_and_warm())
        ideal = concurrency / latency
        rate = requests / cold_s
        report(
            f"throughput at concurrency {concurrency}, {latency * 1000:.0f} ms latency",
            f"{rate:.1f} req/s = {rate / ideal:.1%} of ideal {ideal:.0f} ({requests} requests, {calls_cold} calls, {cold_s:.2f} s)",
            rate >= 0.85 * ideal,
        )
        speedup = cold_s / warm_s
        report(
            "fully cached re-run",
            f"{calls_warm} calls, {warm_s * 1000:.1f} ms vs cold {cold_s * 1000:.0f} ms = {speedup:.0f}x faster",
            calls_warm == 0 and speedup >= 50,
        )
        store.close()
    finally:
        server.stop()


def bench_store(records: int, workdir: Path) -> None:
    store = SQLiteStore(workdir / "overhead.sqlite")
    result = ModelResult(
        text="x" * 200, finish_reason="stop", input_tokens=50, output_tokens=50, latency_s=0.1
    )
    request = {"op": "generate", "prompt": "p" * 300, "config": {"max_tokens": 64}}
    keys = [f"{i:064x}" for i in range(records)]
    started = time.perf_counter()
    for key in keys:
        store.put(key, model="bench", fingerprint="fp", request=request, result=result)
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    found = store.get_many(keys)
    get_s = time.perf_counter() - started
    assert len(found) == records
    per_record = (put_s + get_s) / records * 1000
    report(
        "store overhead per record",
        f"{per_record:.3f} ms (write {put_s / records * 1e6:.0f} us committed, read {get_s / records * 1e6:.0f} us)",
        per_record < 1.0,
    )

    # The same, end to end through the runner: echo model with and without the store.
    async def runner(with_store: bool) -> float:
        store_arg = SQLiteStore(workdir / f"runner-{time.time_ns()}.sqlite") if with_store else False
        model = get_model("echo/e", ["max_concurrency=32"], store=store_arg)
        prompts = [f"runner record {i}" for i in range(records)]
        started = time.perf_counter()
        await model.generate(prompts)
        return time.perf_counter() - started

    without = min(asyncio.run(runner(False)) for _ in range(2))
    with_store = min(asyncio.run(runner(True)) for _ in range(2))
    extra = (with_store - without) / records * 1000
    report("store overhead in the runner (cold run, echo model)", f"{extra:.3f} ms per record", extra < 1.0)


def bench_hf(workdir: Path) -> None:
    try:
        import torch
        from tests.support.tiny_hf import build_tiny_gpt2
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        print(f"SKIP  HF batched generation: {exc}")
        return
    torch.set_num_threads(1)  # one thread for both sides: less noise from other processes on the machine
    folder = build_tiny_gpt2(workdir / "hf-bench", layers=4, dims=256, heads=4, positions=512)
    prompts = [
        f"Evaluation of model number {i} measures accuracy and toxicity" + " again" * (i % 7)
        for i in range(16)
    ]
    new_tokens = 64

    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    tok.padding_side = "left"
    direct_model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()

    def direct() -> tuple[int, float]:
        started = time.perf_counter()
        enc = tok(prompts, return_tensors="pt", padding=True)
        with torch.inference_mode():
            out = direct_model.generate(
                **enc, max_new_tokens=new_tokens, do_sample=False, pad_token_id=tok.pad_token_id
            )
        elapsed = time.perf_counter() - started
        new = out[:, enc["input_ids"].shape[1] :]
        tokens = 0
        for row in new.tolist():
            tokens += next((j for j, t in enumerate(row) if t == tok.eos_token_id), len(row))
        return tokens, elapsed

    model = get_model(f"hf/{folder}", [f"batch_size={len(prompts)}", "device=cpu"], store=False)
    reqs = [
        GenerateRequest(prompt=p, config=GenerateConfig(max_tokens=new_tokens, temperature=0))
        for p in prompts
    ]

    def ours() -> tuple[int, float]:
        started = time.perf_counter()
        out = model.generate_sync(reqs)
        elapsed = time.perf_counter() - started
        assert out.summary.errors == 0 and out.summary.calls == 1
        return sum(r.output_tokens or 0 for r in out), elapsed

    direct()
    ours()  # warm-up: weights loaded, kernels chosen
    d_runs = []
    o_runs = []
    for _ in range(5):  # interleaved, best of five each
        d_runs.append(direct())
        o_runs.append(ours())
    d_tokens, d_s = min(d_runs, key=lambda x: x[1])
    o_tokens, o_s = min(o_runs, key=lambda x: x[1])
    ratio = (o_tokens / o_s) / (d_tokens / d_s)
    report(
        f"HF batched generation (batch {len(prompts)}, {new_tokens} new tokens, CPU, 1 thread)",
        f"{o_tokens / o_s:.0f} tokens/s vs direct generate {d_tokens / d_s:.0f} tokens/s = {ratio:.2f}x "
        f"({o_tokens} vs {d_tokens} tokens)",
        ratio >= 0.9 and o_tokens == d_tokens,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=960)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--trials", type=int, default=3, help="cold runs; the best counts")
    parser.add_argument("--store-records", type=int, default=2000)
    parser.add_argument("--skip-hf", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fmops-bench-") as tmp:
        workdir = Path(tmp)
        bench_http(args.requests, args.concurrency, args.latency, args.trials, workdir)
        bench_store(args.store_records, workdir)
        if not args.skip_hf:
            bench_hf(workdir)
    missed = [name for name, _, met in RESULTS if not met]
    print(
        f"{len(RESULTS) - len(missed)} of {len(RESULTS)} targets met"
        + (f"; missed: {', '.join(missed)}" if missed else "")
    )
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
