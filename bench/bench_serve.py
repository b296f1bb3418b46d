"""Benchmark of `fmops serve`: dynamic batching under concurrent clients vs one request at a time.

    .venv/bin/python bench/bench_serve.py [--model zoo/tiny | --model hf/PATH] [--clients 16] [--requests 128]

The server runs in its own process (`python -m fmops.serving`, as `fmops serve` does), so its CPU is not
the client's; zoo models are trained on first use. The same greedy completions are sent one at a time,
then from `--clients` concurrent clients. Prints requests/s, completion tokens/s, p50/p95 latency, the
mean batch the server formed, and whether concurrent throughput reaches `--target` (3x) the sequential.
Exits 1 when it does not.

On a machine of up to 4 cores the server runs torch with one thread (`--threads`): the clients share
those cores, and torch's spinning worker threads thrash when they are oversubscribed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]

PROMPTS = [
    "The quick brown fox",
    "What is the capital of",
    "Once upon a time there was",
    "The main export of the island is",
    "A model answers questions about",
    "In the north of the country",
    "The river that runs through the city is",
    "Her favourite colour was",
    "Numbers like 1, 2 and 3",
    "The festival is held every year in",
    "Evaluation measures accuracy and",
    "He said that the bridge",
    "The oldest library in the world",
    "Farmers in the valley grow",
    "The tallest mountain is called",
    "Every morning the baker",
]


@dataclass
class Run:
    label: str
    wall_s: float
    latencies: list[float]
    tokens: int

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.wall_s

    @property
    def tps(self) -> float:
        return self.tokens / self.wall_s

    def line(self) -> str:
        lat = sorted(self.latencies)
        p50 = statistics.median(lat)
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        return (
            f"{self.label:<22} {len(lat):>4} requests in {self.wall_s:6.2f} s: {self.rps:7.1f} req/s, "
            f"{self.tps:8.1f} tokens/s, latency p50 {p50 * 1000:7.1f} ms, p95 {p95 * 1000:7.1f} ms"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """`python -m fmops.serving MODEL ...` on a free loopback port, stopped with Ctrl-C."""

    def __init__(
        self, model: str, extra: list[str], home: str | None, startup_s: float, threads: int | None
    ) -> None:
        self.port = free_port()
        self.root = f"http://127.0.0.1:{self.port}"
        env = dict(os.environ)
        if home:
            env["FMOPS_HOME"] = home
        if threads:  # torch's intra-op threads: on a small shared machine, spinning threads thrash
            env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(threads)
        cmd = [
            sys.executable,
            "-m",
            "fmops.serving",
            model,
            "--port",
            str(self.port),
            "--log-level",
            "warning",
        ]
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen([*cmd, *extra], cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + startup_s
        while True:
            try:
                if httpx.get(self.root + "/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                self.log.seek(0)
                raise SystemExit(f"the server did not start:\n{self.log.read()[-3000:]}")
            time.sleep(0.2)

    def health(self) -> dict[str, Any]:
        return httpx.get(self.root + "/health").json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Connection:
    """One keep-alive HTTP/1.1 connection with a minimal client: httpx costs about a millisecond of CPU
    per request, which on a small machine the clients would take from the server being measured."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, root: str) -> Connection:
        host, port = root.removeprefix("http://").split(":")
        return cls(*await asyncio.open_connection(host, int(port)))

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        payload = json.dumps(body).encode()
        head = f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        self.writer.write(f"{head}Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        await self.writer.drain()
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        length = next(
            int(v) for k, _, v in (h.partition(":") for h in lines[1:]) if k.lower() == "content-length"
        )
        return status, json.loads(await self.reader.readexactly(length))

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def measure(root: str, name: str, label: str, clients: int, requests: int, max_tokens: int) -> Run:
    """`requests` completions spread over `clients` clients that each send one after another."""
    latencies: list[float] = []
    tokens = 0

    async def client(k: int) -> None:
        nonlocal tokens
        connection = await Connection.open(root)
        try:
            for i in range(k, requests, clients):
                body = {
                    "model": name,
                    "prompt": PROMPTS[i % len(PROMPTS)],
                    "max_tokens": max_tokens,
                    "temperature": 0,
                }
                started = time.perf_counter()
                status, answer = await connection.post("/v1/completions", body)
                latencies.append(time.perf_counter() - started)
                if status != 200:
                    raise SystemExit(f"HTTP {status} from the server: {answer}")
                tokens += int(answer["usage"]["completion_tokens"])
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(k) for k in range(clients)))
    wall = time.perf_counter() - started
    return Run(label, wall, latencies, tokens)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="zoo/tiny", help="model spec to serve (zoo/NAME, hf/PATH, ...)")
    parser.add_argument("-M", "--model-arg", action="append", default=[], help="model argument KEY=VALUE")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=128, help="requests per measurement")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--batch-wait-ms", type=float, default=5.0)
    parser.add_argument("--target", type=float, default=3.0, help="required concurrent/sequential throughput")
    parser.add_argument(
        "--threads",
        type=int,
        default=1 if (os.cpu_count() or 1) <= 4 else None,
        help="torch threads in the server (default: 1 on machines of up to 4 cores, where the clients and "
        "the server share them and spinning torch threads thrash; else torch's default)",
    )
    parser.add_argument("--home", default=None, help="FMOPS_HOME for the server (default: the usual one)")
    parser.add_argument(
        "--startup-timeout", type=float, default=900.0, help="seconds (zoo models train first)"
    )
    args = parser.parse_args()

    extra = ["--max-batch-size", str(args.max_batch_size), "--batch-wait-ms", str(args.batch_wait_ms)]
    for pair in args.model_arg:
        extra += ["-M", pair]
    name = "bench"
    print(f"starting fmops serve {args.model} (trains zoo models on first use) ...", flush=True)
    server = ServerProcess(
        args.model, [*extra, "--served-name", name], args.home, args.startup_timeout, args.threads
    )
    try:
        health = server.health()
        print(
            f"serving {health['spec']}: batches of up to {health['max_batch_size']}, "
            f"wait {health['batch_wait_ms']:g} ms, context window {health['context_window']}, "
            f"torch threads {args.threads or 'default'}; {args.max_tokens} new tokens per request, greedy",
            flush=True,
        )
        asyncio.run(measure(server.root, name, "warm-up", args.clients, args.clients * 2, args.max_tokens))
        sequential = asyncio.run(
            measure(server.root, name, "1 client (sequential)", 1, args.requests, args.max_tokens)
        )
        before = server.health()["batching"]
        concurrent = asyncio.run(
            measure(
                server.root, name, f"{args.clients} clients", args.clients, args.requests, args.max_tokens
            )
        )
        after = server.health()["batching"]
    finally:
        server.stop()
    batches = after["batches"] - before["batches"]
    mean_batch = (after["rows"] - before["rows"]) / batches if batches else 0.0
    print(sequential.line())
    print(concurrent.line())
    speedup = concurrent.rps / sequential.rps
    met = speedup >= args.target
    print(
        f"{'PASS' if met else 'MISS'}  throughput {speedup:.2f}x with {args.clients} concurrent clients "
        f"(target >= {args.target:g}x); mean batch {mean_batch:.1f} over {batches} batches"
    )
    print(f"batch sizes over the whole run (size: count): {after['sizes']}")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
