"""Run folders and live consoles shared by the web tests (built once per xdist worker)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reports._fixtures import build_comparison, build_run

ADMIN_KEY = "admin-secret-key-for-tests"


@dataclass
class Folders:
    root: Path
    comparison: Path
    robustness: Path


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> Folders:
    """A comparison folder (three models, four evaluations) and a robustness run folder beside it."""
    root = tmp_path_factory.mktemp("web-runs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FMOPS_HOME", str(tmp_path_factory.mktemp("web-build-home")))
        comparison = build_comparison(root)
        (root / "robust").mkdir()
        robustness = build_run(root / "robust", "qa_accuracy_semantic_robustness", model="echo/r")
    return Folders(root, comparison, robustness)


@dataclass
class LiveConsole:
    url: str
    app: object


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_console(settings: object) -> Iterator[LiveConsole]:
    """Serve a console on a free loopback port in a thread; stop it afterwards."""
    import uvicorn

    from fmops.web import create_app

    app = create_app(settings)  # type: ignore[arg-type]
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("console did not start")
        time.sleep(0.02)
    try:
        yield LiveConsole(f"http://127.0.0.1:{port}", app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
