"""/metrics with several uvicorn workers: whichever worker answers the scrape counts every worker's requests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from fmops.gateway import Tenancy, load_gateway_config, open_gateway_database

pytest.importorskip("prometheus_client")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _requests_counted(text: str) -> float:
    return sum(
        float(m.group(1))
        for m in re.finditer(r'^fmops_gateway_requests_total\{[^}]*model="chat"[^}]*\} (\S+)$', text, re.M)
    )


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _pids(folder: Path, kind: str) -> set[str]:
    return {p.stem.rsplit("_", 1)[-1] for p in folder.glob(f"{kind}_*.db")}


def test_metrics_add_up_every_worker(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    config.write_text(
        yaml.safe_dump({"routes": [{"name": "chat", "model": "echo/x"}], "log_requests": False})
    )
    home, metrics_dir = tmp_path / "home", tmp_path / "metrics"
    env = {**os.environ, "FMOPS_HOME": str(home), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    os.environ["FMOPS_HOME"] = str(home)  # the key below goes to the same SQLite database
    try:
        key = Tenancy(open_gateway_database(load_gateway_config(config))).create_key("t").key
    finally:
        os.environ.pop("FMOPS_HOME")
    port = _port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fmops", "gateway", "--config", str(config), "--port", str(port),
         "--workers", "2", "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    body = {"model": "chat", "messages": [{"role": "user", "content": "hi there"}], "max_tokens": 2}
    try:
        deadline = time.monotonic() + 120
        while len(_pids(metrics_dir, "histogram")) < 2 or not _healthy(url):  # both workers built
            assert process.poll() is None and time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.2)
        sent = 0
        # One connection per request, until both workers have answered some (the kernel picks one).
        while len(_pids(metrics_dir, "counter")) < 2 or sent < 20:
            assert sent < 400, "every request went to one worker"
            response = httpx.post(
                f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
            )
            assert response.status_code == 200
            sent += 1
        # Every scrape, whichever worker answers it, counts all of them.
        scrapes = [_requests_counted(httpx.get(f"{url}/metrics").text) for _ in range(6)]
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    assert scrapes == [sent] * 6
