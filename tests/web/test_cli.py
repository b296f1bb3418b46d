"""`fmops web` as the contract states it: it serves `/` and the page of a --runs run folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.web._folders import write_run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_fmops_web_serves_the_runs_given(tmp_path: Path) -> None:
    run = write_run(tmp_path / "runs" / "my-run", model="echo/a", records=5)
    port = _free_port()
    env = {**os.environ, "FMOPS_HOME": str(tmp_path / "home")}
    server = subprocess.Popen(
        [sys.executable, "-m", "fmops", "web", "--port", str(port), "--runs", str(run)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                home = httpx.get(f"{url}/", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "fmops web did not start"
                time.sleep(0.2)
        assert home.status_code == 200 and "my-run" in home.text
        page = httpx.get(f"{url}/open", params={"path": str(run)}, follow_redirects=True, timeout=5)
        assert page.status_code == 200 and "<h1>my-run</h1>" in page.text
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_fmops_web_refuses_a_public_address_without_auth(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fmops", "web", "--host", "0.0.0.0", "--runs", str(tmp_path)],
        env={**os.environ, "FMOPS_HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0: without --auth the console only listens on loopback (127.0.0.1); "
        "add --auth to serve it to others"
    ]
