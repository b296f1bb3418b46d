"""Benchmark of `fmops gateway` against a fixed-latency upstream, and against the LiteLLM proxy.

    .venv/bin/python bench/bench_gateway.py [--rates 50,100,500] [--duration 6] [--latency-ms 20]
        [--workers 2] [--ledger-requests 10000] [--litellm /work/litellm-venv/bin/litellm]

Everything runs on loopback in separate processes: the upstream (a minimal OpenAI-compatible server that
answers every request after `--latency-ms`, with usage that varies per request), the gateway (`fmops
gateway --workers N`, with a key, a budget, RPM/TPM limits in Redis and the ledger all on; per-request
JSON logs off) and the load generator (this process: open-loop arrivals at a fixed rate, aiohttp).

Printed: for each rate, p50/p95 latency straight to the upstream and through each proxy, and what the
proxy adds; max throughput (closed loop, 64 concurrent clients); then `--ledger-requests` requests from 3
teams spread over 2 gateway replicas sharing PostgreSQL and Redis, checked row by row against the ledger
(no row lost, token counts equal to the upstream's). LiteLLM (no database: its database mode downloads
Prisma engines at start-up) runs in the same invocation when `--litellm` points at its CLI in a separate
venv (`python3 -m venv /work/litellm-venv && /work/litellm-venv/bin/pip install 'litellm[proxy]'`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _run(coro: Any) -> Any:
    """Run on uvloop when installed: the load generator and the upstream then spend less of the cores they
    share with the proxy under test (the same for every proxy measured)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


# -- the upstream -----------------------------------------------------------------------------------
async def _serve_upstream(port: int, latency_s: float) -> None:
    """HTTP/1.1 keep-alive, one canned chat completion per request after `latency_s` (usage varies)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length) if length else b""
                await asyncio.sleep(latency_s)
                prompt = 5 + len(body) % 17
                completion = 3 + len(body) % 5
                answer = json.dumps(
                    {
                        "id": "chatcmpl-bench",
                        "object": "chat.completion",
                        "created": 0,
                        "model": "up",
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "ok"},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": prompt,
                            "completion_tokens": completion,
                            "total_tokens": prompt + completion,
                        },
                    }
                ).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


# -- processes ------------------------------------------------------------------------------------
def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout: float = 120.0, headers: dict[str, str] | None = None) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {timeout:g} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_gateway(
    folder: Path, upstream: str, workers: int, *, database_url: str | None, prefix: str, name: str
) -> tuple[subprocess.Popen[bytes], int, Path]:
    import yaml

    config = folder / f"{name}.yaml"
    data: dict[str, Any] = {
        "routes": [
            {
                "name": "chat",
                "model": "openai/up",
                "args": {"base_url": upstream},
                "prices": {"input_per_1k": 0.001, "output_per_1k": 0.002},
                "limits": {"rpm": 10_000_000, "tpm": 1_000_000_000},
                "max_retries": 0,
            }
        ],
        "redis_url": REDIS,
        "redis_prefix": prefix,
        "log_requests": False,
        "key_limits": {"rpm": 10_000_000, "tpm": 1_000_000_000},
    }
    if database_url:
        data["database_url"] = database_url
    config.write_text(yaml.safe_dump(data))
    port = _port()
    env = {**os.environ, "FMOPS_HOME": str(folder / "home")}
    process = subprocess.Popen(
        [sys.executable, "-m", "fmops", "gateway", "--config", str(config), "--port", str(port),
         "--workers", str(workers), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    return process, port, config


def _keys(config: Path, folder: Path, teams: list[str]) -> list[str]:
    os.environ["FMOPS_HOME"] = str(folder / "home")
    from fmops.gateway import Tenancy, load_gateway_config, open_gateway_database

    tenancy = Tenancy(open_gateway_database(load_gateway_config(config)))
    # A budget far above what the bench spends: reserved and settled on every request, never refusing.
    return [tenancy.create_key(t, budget_usd=1_000_000.0, period="daily").key for t in teams]


# -- load -------------------------------------------------------------------------------------------
BODY = {
    "model": "chat",
    "messages": [{"role": "user", "content": "How many legs does a spider have?"}],
    "max_tokens": 8,
}


async def _open_loop(
    url: str, headers: dict[str, str], rate: float, duration: float
) -> tuple[list[float], int]:
    """Requests arriving at `rate`/s for `duration` s whatever the answers do; (latencies in s, errors)."""
    import aiohttp

    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=2000, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one() -> None:
            nonlocal errors
            started = time.perf_counter()
            try:
                async with session.post(url, json=BODY, headers=headers) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                        return
            except (aiohttp.ClientError, TimeoutError):
                errors += 1
                return
            latencies.append(time.perf_counter() - started)

        # Warm the connection pool and the server's caches first.
        await asyncio.gather(*(one() for _ in range(20)))
        latencies.clear()
        errors = 0
        total = int(rate * duration)
        start = time.perf_counter()
        tasks = []
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.ensure_future(one()))
        await asyncio.gather(*tasks)
    return latencies, errors


async def _closed_loop(url: str, headers: dict[str, str], clients: int, duration: float) -> tuple[float, int]:
    import aiohttp

    done = errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        deadline = time.perf_counter() + duration

        async def client() -> None:
            nonlocal done, errors
            while time.perf_counter() < deadline:
                try:
                    async with session.post(url, json=BODY, headers=headers) as response:
                        await response.read()
                        if response.status == 200:
                            done += 1
                        else:
                            errors += 1
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        return done / (time.perf_counter() - start), errors


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_seconds(pid: int | None) -> float:
    """User + system CPU of a process and all its children (a proxy's workers), whatever else runs here."""
    if pid is None:
        return 0.0
    import psutil

    try:
        root = psutil.Process(pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def _measure(
    name: str, url: str, headers: dict[str, str], rates: list[float], duration: float, pid: int | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"rates": {}}
    for rate in rates:
        cpu, own = _cpu_seconds(pid), time.process_time()
        latencies, errors = _run(_open_loop(url, headers, rate, duration))
        cpu, own = _cpu_seconds(pid) - cpu, time.process_time() - own
        out["rates"][rate] = {
            "p50_ms": _pct(latencies, 0.5) * 1000,
            "p95_ms": _pct(latencies, 0.95) * 1000,
            "errors": errors,
            "n": len(latencies),
            # 20 warm-up requests are inside the CPU window too.
            "cpu_ms": cpu * 1000 / max(1, len(latencies) + errors + 20) if pid else None,
            "client_cpu_ms": own * 1000 / max(1, len(latencies) + errors + 20),
        }
        r = out["rates"][rate]
        cpu_text = f"  proxy CPU {r['cpu_ms']:.2f} ms/request" if pid else ""
        cpu_text += f"  (load generator {r['client_cpu_ms']:.2f})"
        print(f"  {name:>9} @ {rate:>4g} req/s: p50 {r['p50_ms']:7.2f} ms  p95 {r['p95_ms']:7.2f} ms  "
              f"errors {errors}/{len(latencies) + errors}{cpu_text}", flush=True)  # fmt: skip
    cpu, own = _cpu_seconds(pid), time.process_time()
    throughput, errors = _run(_closed_loop(url, headers, 64, duration))
    cpu, own = _cpu_seconds(pid) - cpu, time.process_time() - own
    out["max_rps"] = throughput
    out["cpu_ms"] = cpu * 1000 / max(1, throughput * duration) if pid else None
    cpu_text = f"; proxy CPU {out['cpu_ms']:.2f} ms/request" if pid else ""
    cpu_text += f" (load generator {own * 1000 / max(1, throughput * duration):.2f})"
    print(
        f"  {name:>9} max throughput: {throughput:.0f} req/s (64 clients, {errors} errors){cpu_text}",
        flush=True,
    )
    return out


# -- the ledger check -------------------------------------------------------------------------------
def _ledger_check(folder: Path, upstream: str, n: int, workers: int) -> None:
    """`n` requests from 3 teams over 2 replicas sharing PostgreSQL and Redis; every answer in the ledger."""
    import aiohttp
    import psycopg
    from sqlalchemy import func, select

    from fmops.gateway._tables import LedgerEntry

    schema = f"bench_gw_{uuid.uuid4().hex[:8]}"
    prefix = f"fmops:bench:{uuid.uuid4().hex[:8]}:"
    db = f"{PG}?schema={schema}"
    replicas = [
        _start_gateway(folder, upstream, workers, database_url=db, prefix=prefix, name=f"replica{i}")
        for i in range(2)
    ]
    try:
        for _, port, _ in replicas:
            _wait_http(f"http://127.0.0.1:{port}/health")
        keys = _keys(replicas[0][2], folder, ["alpha", "beta", "gamma"])
        time.sleep(0.5)
        answers: list[tuple[str, int, int]] = []

        async def run() -> int:
            errors = 0
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64)) as session:
                gate = asyncio.Semaphore(64)

                async def one(i: int) -> None:
                    nonlocal errors
                    port = replicas[i % 2][1]
                    body = {**BODY, "messages": [{"role": "user", "content": "x" * (i % 97)}]}
                    async with (
                        gate,
                        session.post(
                            f"http://127.0.0.1:{port}/v1/chat/completions",
                            json=body,
                            headers={"authorization": f"Bearer {keys[i % 3]}"},
                        ) as response,
                    ):
                        data = await response.json()
                        if response.status != 200:
                            errors += 1
                            return
                        usage = data["usage"]
                        answers.append(
                            (
                                response.headers["x-request-id"],
                                usage["prompt_tokens"],
                                usage["completion_tokens"],
                            )
                        )

                await asyncio.gather(*(one(i) for i in range(n)))
            return errors

        started = time.perf_counter()
        errors = _run(run())
        wall = time.perf_counter() - started
        from fmops.store import open_database

        engine = open_database(db)
        ids = [a[0] for a in answers]
        deadline = time.monotonic() + 60
        while True:
            with engine.connect() as conn:
                found = conn.scalar(
                    select(func.count()).select_from(LedgerEntry).where(LedgerEntry.request_id.in_(ids))
                )
            if found == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        with engine.connect() as conn:
            rows = {
                r.request_id: (r.input_tokens, r.output_tokens)
                for r in conn.execute(select(LedgerEntry).where(LedgerEntry.request_id.in_(ids)))
            }
        mismatched = sum(1 for rid, i, o in answers if rows.get(rid) != (i, o))
        print(
            f"  ledger: {n} requests from 3 teams over 2 replicas in {wall:.1f} s ({n / wall:.0f} req/s), "
            f"{errors} errors; {len(rows)}/{len(answers)} answered requests in the ledger, "
            f"{mismatched} with token counts different from the upstream's",
            flush=True,
        )
        engine.dispose()
    finally:
        for process, _, _ in replicas:
            _stop(process)
        with psycopg.connect("host=127.0.0.1 user=postgres dbname=test", autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        import redis

        client = redis.Redis.from_url(REDIS)
        stale = list(client.scan_iter(f"{prefix}*"))
        if stale:
            client.delete(*stale)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rates", default="50,100,500")
    parser.add_argument("--duration", type=float, default=6.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--ledger-requests", type=int, default=10_000)
    parser.add_argument("--litellm", default="/work/litellm-venv/bin/litellm")
    # One worker: under CPU contention uvicorn's supervisor kills LiteLLM workers that start too slowly
    # to answer its health ping, and they never come up.
    parser.add_argument("--litellm-workers", type=int, default=1)
    parser.add_argument("--proxies", default="fmops,litellm", help="which proxies to measure")
    parser.add_argument("--serve-upstream", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_upstream:
        with contextlib.suppress(KeyboardInterrupt):
            _run(_serve_upstream(args.serve_upstream, args.latency_ms / 1000))
        return

    rates = [float(r) for r in args.rates.split(",") if r]
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}; upstream latency {args.latency_ms:g} ms; "
          f"{args.workers} worker(s) per proxy", flush=True)  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-gw-") as tmp:
        folder = Path(tmp)
        up_port = _port()
        upstream = subprocess.Popen(
            [sys.executable, __file__, "--serve-upstream", str(up_port), "--latency-ms", str(args.latency_ms)]
        )
        up_url = f"http://127.0.0.1:{up_port}/v1"
        processes = [upstream]
        results: dict[str, Any] = {}
        try:
            time.sleep(1.0)
            results["direct"] = _measure("upstream", f"{up_url}/chat/completions", {}, rates, args.duration)

            proxies = args.proxies.split(",")
            if "fmops" in proxies:
                prefix = f"fmops:bench:{uuid.uuid4().hex[:8]}:"
                gateway, port, config = _start_gateway(
                    folder, up_url, args.workers, database_url=None, prefix=prefix, name="gw"
                )
                processes.append(gateway)
                _wait_http(f"http://127.0.0.1:{port}/health")
                key = _keys(config, folder, ["bench"])[0]
                results["fmops"] = _measure(
                    "fmops", f"http://127.0.0.1:{port}/v1/chat/completions",
                    {"authorization": f"Bearer {key}"}, rates, args.duration, gateway.pid,
                )  # fmt: skip
                _stop(gateway)

            if "litellm" in proxies and args.litellm and Path(args.litellm).exists():
                import yaml

                lconfig = folder / "litellm.yaml"
                lconfig.write_text(yaml.safe_dump({"model_list": [{"model_name": "chat", "litellm_params": {
                    "model": "openai/up", "api_base": up_url, "api_key": "unused"}}]}))  # fmt: skip
                lport = _port()
                master = (
                    f"sk-bench-{uuid.uuid4().hex}"  # it refuses to start without one (no database: no keys)
                )
                litellm = subprocess.Popen(
                    [
                        args.litellm,
                        "--config",
                        str(lconfig),
                        "--port",
                        str(lport),
                        "--num_workers",
                        str(args.litellm_workers),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_MASTER_KEY": master},
                )
                processes.append(litellm)
                _wait_http(f"http://127.0.0.1:{lport}/health/liveliness", timeout=600)
                results["litellm"] = _measure(
                    "litellm",
                    f"http://127.0.0.1:{lport}/v1/chat/completions",
                    {"authorization": f"Bearer {master}"},
                    rates,
                    args.duration,
                    litellm.pid,
                )
                _stop(litellm)
            elif "litellm" in proxies:
                print(f"  litellm: skipped ({args.litellm} not found)")

            print("\nadded latency over the upstream alone (p50 / p95, ms):")
            for rate in rates:
                base = results["direct"]["rates"][rate]
                line = [f"  {rate:>4g} req/s"]
                for name in ("fmops", "litellm"):
                    if name in results:
                        r = results[name]["rates"][rate]
                        line.append(
                            f"{name} +{r['p50_ms'] - base['p50_ms']:.2f} / +{r['p95_ms'] - base['p95_ms']:.2f}"
                        )
                print("   ".join(line))
            for name in ("fmops", "litellm"):
                if name in results:
                    print(f"  max throughput {name}: {results[name]['max_rps']:.0f} req/s, "
                          f"{results[name]['cpu_ms']:.2f} ms of proxy CPU per request")  # fmt: skip
            if args.ledger_requests:
                print()
                _ledger_check(folder, up_url, args.ledger_requests, 1)
        finally:
            for process in processes:
                _stop(process)


if __name__ == "__main__":
    main()
