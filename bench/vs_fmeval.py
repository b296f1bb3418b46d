"""fmops against AWS fmeval, side by side, on the same inputs: wall time, peak memory, largest score difference.

    python bench/vs_fmeval.py --fmeval-python /work/fmeval-venv/bin/python

Three jobs, each run as its own process by each side (so each side's whole process tree is measured,
Python start-up, imports and fmeval's Ray included):

1. `qa_accuracy`, 1,000 TriviaQA-style records with brought outputs;
2. `factual_knowledge`, 300 T-REx-style questions answered by a model served over HTTP: the loopback
   OpenAI-compatible server (tests/support/openai_server.py, its own process, fixed latency). fmops calls it
   as `openai/test-model -M base_url=...`; fmeval through a custom ModelRunner whose predict() posts to it;
3. `summarization_accuracy`, 500 Gigaword-style records with brought outputs.

fmops runs as the user runs it (`python -m fmops eval ...`, local executor, a cold response store). fmeval
computes BERTScore with microsoft/deberta-xlarge-mnli, which cannot be downloaded here: its stand-in returns
0 (so fmeval's times are a lower bound), only lexical scores are compared, and fmops runs with
bertscore=false for a like-for-like comparison; fmops with BERTScore on (the offline MiniLM encoder) is
reported for information. Peak memory is the largest sum of the proportional set sizes (PSS; RSS where PSS
cannot be read) of a process and all its descendants, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psutil

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SHARED = REPO.parent / "shared" / "data" / "fmeval-samples"
SERVER_SCRIPT = REPO / "tests" / "support" / "openai_server.py"
MODEL = "test-model"
TEMPLATE = "$model_input"


# -- inputs -----------------------------------------------------------------------------------------


def _samples(name: str) -> list[dict[str, Any]]:
    path = SHARED / name
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _phrase(rng: np.random.Generator, words: int) -> str:
    syllables = ("ka", "lo", "mi", "ta", "re", "su", "no", "vi", "da", "po", "ze", "ri")
    return " ".join("".join(rng.choice(syllables, size=int(rng.integers(2, 4)))) for _ in range(words))


def qa_records(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """TriviaQA-style: a question, `<OR>`-joined answer aliases, and a plausible output (right or wrong)."""
    base = _samples("triviaQA_sample.jsonl")
    rows = []
    for i in range(n):
        if base:
            question, answer = base[i % len(base)]["question"], base[i % len(base)]["answer"]
        else:
            question = f"What is {_phrase(rng, 3)}?"
            answer = "<OR>".join(
                _phrase(rng, int(rng.integers(1, 3))) for _ in range(int(rng.integers(1, 6)))
            )
        alias = rng.choice(answer.split("<OR>"))
        wrong = _phrase(rng, 2)
        output = [alias, f"The answer is {alias}.", alias.upper(), f"{alias} or {wrong}", wrong][
            int(rng.integers(5))
        ]
        rows.append({"question": f"[{i}] {question}", "answer": answer, "model_output": output})
    return rows


def fact_records(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """T-REx-style: a cloze question and its `<OR>`-joined answers; the model produces the output."""
    base = _samples("trex_sample.jsonl")
    rows = []
    for i in range(n):
        if base:
            src = base[i % len(base)]
            question, answers = src["question"], src["answers"]
        else:
            question, answers = f"{_phrase(rng, 3)} is", _phrase(rng, 1)
        # The echo server repeats the prompt: make about half of the answers appear in it.
        hint = f" ({answers.split('<OR>')[0]})" if rng.random() < 0.5 else ""
        rows.append({"question": f"[{i}] {question}{hint}", "answers": answers})
    return rows


def summary_records(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Gigaword-style: a document, its reference summary, and an extractive output from the document."""
    base = _samples("gigaword_sample.jsonl")
    rows = []
    for i in range(n):
        if base:
            document, summary = base[i % len(base)]["document"], base[i % len(base)]["summary"]
        else:
            document, summary = _phrase(rng, 40), _phrase(rng, 8)
        words = document.split()
        start = int(rng.integers(max(1, len(words) - 12)))
        output = " ".join(words[start : start + int(rng.integers(6, 14))])
        rows.append({"document": f"[{i}] {document}", "summary": summary, "model_output": output})
    return rows


@dataclass
class Job:
    title: str
    algorithm: str
    records: list[dict[str, Any]]
    locations: dict[str, str]
    with_model: bool = False
    bertscore: bool = False  # whether the algorithm has a bertscore (run fmops again with it on)
    path: Path = field(default_factory=Path)


# -- measuring --------------------------------------------------------------------------------------


def _memory(process: psutil.Process) -> int:
    try:
        with open(f"/proc/{process.pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return process.memory_info().rss
    except psutil.Error:
        return 0


@dataclass
class Measured:
    wall_s: float
    peak_bytes: int
    returncode: int
    stdout: str
    stderr: str


def measure(
    cmd: list[str], env: dict[str, str], cwd: Path, probe: Callable[[float], None] | None = None
) -> Measured:
    """Run `cmd`; its wall time and the peak memory of its whole process tree (`probe(t)` each sample)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        root = psutil.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err, text=True)
        peak = 0
        while root.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = [root]
            peak = max(peak, sum(_memory(p) for p in tree))
            if probe is not None:
                probe(time.perf_counter() - started)
            time.sleep(0.05)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Measured(wall, peak, root.returncode, out.read(), err.read())


# -- the two sides ----------------------------------------------------------------------------------


def run_fmops(
    job: Job,
    work: Path,
    env: dict[str, str],
    server: str | None,
    concurrency: int,
    bertscore: bool,
    probe: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    out = work / f"fmops-{job.algorithm}-{'bert' if bertscore else 'lex'}"
    cmd = [sys.executable, "-m", "fmops", "eval", job.algorithm, "--dataset", str(job.path)]
    cmd += ["--num-records", str(len(job.records)), "--output", str(out)]
    for column, location in job.locations.items():
        cmd += [f"--{column.replace('_', '-')}", location]
    if job.bertscore:
        cmd += ["-c", f"bertscore={'true' if bertscore else 'false'}"]
    if job.with_model:
        assert server is not None
        cmd += ["--model", f"openai/{MODEL}", "--prompt-template", TEMPLATE]
        cmd += ["-M", f"base_url={server}", "-M", "api=completions", "-M", f"max_concurrency={concurrency}"]
    # A cold response store for every run: each model call is really made.
    run_env = dict(env, FMOPS_STORE_URL=f"sqlite:///{work / (out.name + '.sqlite')}")
    measured = measure(cmd, run_env, REPO, probe)
    if measured.returncode:
        raise SystemExit(f"fmops failed on {job.title}:\n{measured.stderr[-3000:]}")
    results = json.loads((out / "results.json").read_text())[0]
    from fmops.evaluation.manifest import read_run_manifest  # the run folder's one reader

    manifest = read_run_manifest(out)
    [records_file] = (out / "records").glob("*.jsonl")
    rows = [json.loads(line) for line in records_file.read_text().splitlines() if line.strip()]
    return {
        "measured": measured,
        "evaluate_s": manifest.elapsed_s,
        "dataset_scores": {s["name"]: s["value"] for s in results["dataset_scores"]},
        "records": [
            {
                "model_input": r.get("model_input"),
                "model_output": r.get("model_output"),
                "scores": {s["name"]: s.get("value") for s in r["scores"]},
            }
            for r in rows
        ],
    }


def run_fmeval(
    python: str,
    job: Job,
    work: Path,
    env: dict[str, str],
    server: str | None,
    probe: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    spec = {
        "algorithm": job.algorithm,
        "name": job.path.stem,
        "path": str(job.path),
        "locations": {f"{k}_location": v for k, v in job.locations.items()},
        "num_records": len(job.records),
        "prompt_template": TEMPLATE if job.with_model else None,
        "model": {"base_url": server, "name": MODEL} if job.with_model else None,
    }
    job_file, result_file = (
        work / f"fmeval-{job.algorithm}.json",
        work / f"fmeval-{job.algorithm}-result.json",
    )
    job_file.write_text(json.dumps(spec))
    measured = measure(
        [python, str(HERE / "_fmeval_vs_side.py"), str(job_file), str(result_file)], env, work, probe
    )
    if measured.returncode:
        raise SystemExit(f"fmeval failed on {job.title}:\n{measured.stderr[-3000:]}")
    return {"measured": measured, **json.loads(result_file.read_text())}


def largest_differences(ours: dict[str, Any], theirs: dict[str, Any]) -> tuple[float, float, list[str]]:
    """(dataset level, per record) over the scores both report, BERTScore excluded (fmeval's is a stub)."""
    names = [n for n in theirs["dataset_scores"] if n in ours["dataset_scores"] and n != "bertscore"]
    dataset = max((abs(ours["dataset_scores"][n] - theirs["dataset_scores"][n]) for n in names), default=0.0)
    mine = {r["model_input"]: r for r in ours["records"]}
    per_record = 0.0
    for record in theirs["records"]:
        match = mine[record["model_input"]]
        if match["model_output"] != record["model_output"]:
            return float("inf"), float("inf"), names
        for name in names:
            a, b = match["scores"].get(name), record["scores"].get(name)
            if a is not None and b is not None:
                per_record = max(per_record, abs(a - b))
    if len(mine) != len(theirs["records"]):
        per_record = float("inf")
    return dataset, per_record, names


# -- the HTTP model ---------------------------------------------------------------------------------


class Server:
    """tests/support/openai_server.py in its own process (not part of either measured tree)."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER_SCRIPT), "--latency", str(latency)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("PORT "):
            raise SystemExit(f"the test server did not start: {line!r}")
        self.root = f"http://127.0.0.1:{int(line.split()[1])}"
        self.base_url = f"{self.root}/v1"

    def calls(self) -> int:
        with urllib.request.urlopen(f"{self.root}/_stats", timeout=10) as response:
            return int(json.load(response)["calls"])

    def reset(self) -> None:
        request = urllib.request.Request(f"{self.root}/_reset", data=b"{}", method="POST")
        urllib.request.urlopen(request, timeout=10).close()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def raw_client_rate(base_url: str, calls: int, concurrency: int) -> float:
    """Requests/s of a bare asyncio HTTP client (httpx, no store, no retries) against the same server at the
    same concurrency: what this machine allows, the ceiling fmops's figure should be read against."""
    import asyncio

    import httpx

    async def run() -> float:
        gate = asyncio.Semaphore(concurrency)
        limits = httpx.Limits(max_connections=concurrency)
        async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

            async def one(i: int) -> None:
                async with gate:
                    response = await client.post("/completions", json={"model": MODEL, "prompt": f"raw {i}"})
                    response.json()

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(calls)))
            return calls / (time.perf_counter() - started)

    return asyncio.run(run())


class CallClock:
    """Polls the server's call count while a side runs: when calls started and when the last one arrived."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.samples: list[tuple[float, int]] = []

    def __call__(self, t: float) -> None:
        self.samples.append((t, self.server.calls()))

    def rate(self, total: int, latency: float) -> float | None:
        """Calls per second from the first call to the last answer (sampled every 50 ms)."""
        started = next((t for t, n in self.samples if n > 0), None)
        last = next((t for t, n in self.samples if n >= total), None)
        if started is None or last is None or total == 0:
            return None
        return total / (last - started + latency)


# -- report -----------------------------------------------------------------------------------------


def _mib(value: int) -> str:
    return f"{value / 2**20:,.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fmeval-python", help="Python of an environment with fmeval installed")
    parser.add_argument("--qa-records", type=int, default=1000)
    parser.add_argument("--fact-records", type=int, default=300)
    parser.add_argument("--summarization-records", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05, help="the HTTP model's fixed latency, seconds")
    parser.add_argument(
        "--concurrency", type=int, default=16, help="fmops's max_concurrency for the HTTP model"
    )
    parser.add_argument(
        "--fmeval-parallelism",
        type=int,
        help="fmeval's PARALLELIZATION_FACTOR (its Ray actors; default: its own, CPU count - 1)",
    )
    parser.add_argument("--skip-bertscore", action="store_true", help="do not run fmops with BERTScore on")
    args = parser.parse_args()

    rng = np.random.default_rng(2024)
    jobs = [
        Job(
            "QA accuracy, BYO outputs",
            "qa_accuracy",
            qa_records(args.qa_records, rng),
            {"model_input": "question", "target_output": "answer", "model_output": "model_output"},
            bertscore=True,
        ),
        Job(
            "factual knowledge, HTTP model",
            "factual_knowledge",
            fact_records(args.fact_records, rng),
            {"model_input": "question", "target_output": "answers"},
            with_model=True,
        ),
        Job(
            "summarization accuracy, BYO",
            "summarization_accuracy",
            summary_records(args.summarization_records, rng),
            {"model_input": "document", "target_output": "summary", "model_output": "model_output"},
            bertscore=True,
        ),
    ]
    fmeval_actors = args.fmeval_parallelism or max(1, (os.cpu_count() or 2) - 1)
    with tempfile.TemporaryDirectory(prefix="fmops-vs-fmeval-") as tmp:
        work = Path(tmp)
        home = work / "fmops-home"
        os.environ["FMOPS_HOME"] = str(home)
        from fmops.metrics.nltk_data import ensure_nltk_data

        nltk_data = ensure_nltk_data()  # installed once, before anything is measured
        base_env = {k: v for k, v in os.environ.items() if not k.startswith(("FMOPS_", "RAY_"))}
        fmops_env = dict(base_env, FMOPS_HOME=str(home))
        fmeval_env = dict(
            base_env, NLTK_DATA=str(nltk_data), RAY_DISABLE_USAGE_STATS="1", TOKENIZERS_PARALLELISM="false"
        )
        if args.fmeval_parallelism:
            fmeval_env["PARALLELIZATION_FACTOR"] = str(args.fmeval_parallelism)
        for job in jobs:
            job.path = work / f"{job.algorithm}.jsonl"
            job.path.write_text("".join(json.dumps(r) + "\n" for r in job.records))

        server = Server(args.latency)
        rows, notes = [], []
        ceiling = 0.0
        try:
            for job in jobs:
                print(f"... {job.title}", file=sys.stderr, flush=True)
                if job.with_model:
                    ceiling = raw_client_rate(server.base_url, len(job.records), args.concurrency)
                server.reset()
                our_clock = CallClock(server) if job.with_model else None
                ours = run_fmops(
                    job, work, fmops_env, server.base_url, args.concurrency, bertscore=False, probe=our_clock
                )
                our_calls = server.calls()
                ours["rate"] = our_clock.rate(our_calls, args.latency) if our_clock else None
                bert = None
                if job.bertscore and not args.skip_bertscore:
                    bert = run_fmops(job, work, fmops_env, server.base_url, args.concurrency, bertscore=True)
                theirs, their_calls = None, 0
                if args.fmeval_python:
                    server.reset()
                    their_clock = CallClock(server) if job.with_model else None
                    theirs = run_fmeval(
                        args.fmeval_python, job, work, fmeval_env, server.base_url, their_clock
                    )
                    their_calls = server.calls()
                    theirs["rate"] = their_clock.rate(their_calls, args.latency) if their_clock else None
                rows.append((job, ours, bert, theirs, our_calls, their_calls))
        finally:
            server.close()

    print()
    print(
        f"{'job':<34}{'side':<22}{'records':>8}{'wall s':>9}{'eval s':>9}{'peak MiB':>10}{'speed-up':>10}{'max Δ dataset':>15}{'max Δ record':>14}"
    )
    verdicts = []
    for job, ours, bert, theirs, our_calls, their_calls in rows:
        n = len(job.records)
        m = ours["measured"]
        label = "fmops (bertscore off)" if job.bertscore else "fmops"
        print(
            f"{job.title:<34}{label:<22}{n:>8}{m.wall_s:>9.2f}{ours['evaluate_s']:>9.2f}{_mib(m.peak_bytes):>10}"
        )
        if theirs is not None:
            t = theirs["measured"]
            d_set, d_rec, names = largest_differences(ours, theirs)
            speedup = t.wall_s / m.wall_s
            print(
                f"{'':<34}{'fmeval':<22}{len(theirs['records']):>8}{t.wall_s:>9.2f}{theirs['evaluate_s']:>9.2f}{_mib(t.peak_bytes):>10}{speedup:>9.1f}x{d_set:>15.1e}{d_rec:>14.1e}"
            )
            verdicts.append((job.title, speedup, d_set, d_rec, names))
        if bert is not None:
            b = bert["measured"]
            value = bert["dataset_scores"].get("bertscore")
            print(
                f"{'':<34}{'fmops (bertscore on)':<22}{n:>8}{b.wall_s:>9.2f}{bert['evaluate_s']:>9.2f}{_mib(b.peak_bytes):>10}   bertscore={value:.4f} (MiniLM, for information)"
            )
        if job.with_model:
            ideal = min(args.concurrency, n) / args.latency
            achieved = ours["rate"] or 0.0
            notes.append(
                f"HTTP model ({args.latency * 1000:.0f} ms per call, {args.concurrency} calls allowed at once): fmops "
                f"made {our_calls} calls at {achieved:,.0f} req/s while generating (ideal {ideal:,.0f} req/s = "
                f"{args.concurrency} / {args.latency:g} s: {achieved / ideal:.0%} of ideal); "
                f"{our_calls / ours['evaluate_s']:,.0f} req/s over its whole evaluation"
            )
            notes.append(
                f"  a bare asyncio client (httpx, same server, same concurrency) reaches {ceiling:,.0f} req/s on this "
                f"machine: fmops gets {achieved / ceiling:.0%} of it"
            )
            if theirs is not None:
                their_ideal = min(fmeval_actors, n) / args.latency
                their_rate = theirs["rate"] or 0.0
                notes.append(
                    f"  fmeval made {their_calls} calls at {their_rate:,.0f} req/s while generating; its ideal "
                    f"{their_ideal:,.0f} req/s ({fmeval_actors} Ray actor(s), one call at a time each)"
                )
    print()
    for note in notes:
        print(note)
    if verdicts:
        print()
        print("Compared scores (lexical only: fmeval's BERTScore is a stand-in that returns 0):")
        for title, speedup, d_set, d_rec, names in verdicts:
            ok = (
                "identical"
                if d_set == 0 and d_rec == 0
                else ("within 1e-9" if max(d_set, d_rec) <= 1e-9 else "DIFFERENT")
            )
            print(
                f"  {title}: {', '.join(names)} -> {ok}; fmops {speedup:.1f}x faster end to end"
                f" ({'meets' if speedup >= 10 else 'misses'} the 10x target)"
            )
        print(
            "Wall time and peak memory are of each side's whole process tree (start-up, imports, fmeval's Ray)."
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
