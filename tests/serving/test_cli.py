"""`fmops serve` as the integrator mounts it: options reach the app, imports stay lazy, a real process serves."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

import fmops.serving
from fmops.cli.serve import serve_command
from tests.conftest import REPO


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve_command)

    @app.command("other")
    def _other() -> None:  # a second command, so `serve` is a subcommand as in `fmops serve`
        """Nothing."""

    return app


def test_options_reach_the_model_and_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(fmops.serving, "run_server", lambda app, **kw: seen.update(app=app, **kw))
    result = CliRunner().invoke(
        _app(),
        [
            "serve",
            "echo/e",
            "-M",
            "latency=0",
            "--port",
            "8123",
            "--max-batch-size",
            "4",
            "--batch-wait-ms",
            "2",
            "--served-name",
            "mine",
            "--max-queue",
            "9",
            "--context-window",
            "64",
        ],
    )
    assert result.exit_code == 0, result.output
    service = seen["app"].state.service
    assert (seen["host"], seen["port"]) == ("127.0.0.1", 8123)
    assert service.name == "mine" and service.model.api.batch_size == 4  # batch size went to the provider
    assert service.batcher.max_batch_size == 4 and service.batcher.max_queue == 9
    assert service.batcher.batch_wait_s == pytest.approx(0.002) and service.tokens.context_window == 64
    assert "serving echo/e as 'mine'" in result.output


def test_user_mistakes_are_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(_app(), ["serve", f"hf/{tmp_path / 'nothing'}"])
    assert missing.exit_code == 2 and "error: hf:" in missing.output
    adapter = runner.invoke(_app(), ["serve", "echo/e", "--adapter", str(tmp_path)])
    assert adapter.exit_code == 2 and "adapter" in adapter.output


def test_importing_the_command_imports_no_server_or_torch() -> None:
    code = (
        "import sys, fmops.cli.serve; print([m for m in ('fastapi', 'uvicorn', 'torch') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_real_process_serves_until_interrupted(tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "FMOPS_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "fmops.serving", "echo/e", "--port", str(port), "--log-level", "warning"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.1)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/v1/completions", json={"model": "echo/e", "prompt": "hi"}
        )
        assert answer.json()["choices"][0]["text"] == "hi"
    finally:
        proc.send_signal(2)  # Ctrl-C: uvicorn shuts down gracefully
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "serving echo/e as 'echo/e' on http://127.0.0.1:" in err


def test_the_server_module_needs_no_cli_and_imports_nothing_heavy() -> None:
    code = (
        "import sys, fmops.serving.__main__\n"
        "print([m for m in sys.modules if m.startswith(('fmops.cli', 'fmops.models', 'fastapi', 'uvicorn'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip() == "[]"


def test_the_server_module_shows_a_mistake_as_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "FMOPS_HOME": str(tmp_path)}
    args = [sys.executable, "-m", "fmops.serving", f"hf/{tmp_path / 'nothing'}"]
    out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, env=env)
    assert out.returncode == 2 and "\nerror: hf:" in out.stderr and "Traceback" not in out.stderr
