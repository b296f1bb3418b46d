"""MLflow interop against a real local `mlflow server` (SQLite backend), started once for this module."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fmops.cli import app
from fmops.registry import export_to_mlflow, import_from_mlflow, model_registry, register_model


@pytest.fixture(scope="module")
def mlflow_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("mlflow")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mlflow = Path(sys.executable).with_name("mlflow")
    process = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--default-artifact-root",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        # No background job workers: the registry needs none, and they cost seconds of CPU.
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
        stdout=(folder / "server.log").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 300  # a cold start creates MLflow's tables; slow on a loaded machine
    while True:
        try:
            if httpx.get(f"{uri}/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"mlflow server did not start:\n{(folder / 'server.log').read_text()[-2000:]}")
        time.sleep(0.5)
    yield uri
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def test_export_then_import_round_trips_versions_status_lineage_and_aliases(
    mlflow_uri: str, tmp_path: Path
) -> None:
    from mlflow import MlflowClient

    register_model("mlqa", "echo/a", lineage={"base_model": "zoo/tiny", "evaluation_runs": ["runs/1"]})
    register_model("mlqa", "echo/b", args={"prefix": "b:"})
    registry = model_registry()
    registry.approve("mlqa", 2, reason="gate passed")
    registry.promote("mlqa", 1, "production")
    registry.promote("mlqa", 2, "production")
    registry.promote("mlqa", 1, "staging")

    report = export_to_mlflow(mlflow_uri, ["mlqa"])
    assert report.versions == {"mlqa": [1, 2]} and report.aliases == {"mlqa": {"production": 2, "staging": 1}}
    client = MlflowClient(tracking_uri=mlflow_uri, registry_uri=mlflow_uri)
    assert client.get_registered_model("mlqa").aliases == {"production": "2", "staging": "1"}
    tags = {v.version: v.tags for v in client.search_model_versions("name='mlqa'")}
    assert tags["2"]["fmops.spec"] == "echo/b" and tags["2"]["fmops.status"] == "Approved"
    assert '"base_model":"zoo/tiny"' in tags["1"]["fmops.lineage"]
    assert export_to_mlflow(mlflow_uri, ["mlqa"]).skipped == {"mlqa": [1, 2]}  # idempotent

    fresh = f"sqlite:///{tmp_path / 'other.sqlite'}"
    imported = import_from_mlflow(mlflow_uri, ["mlqa"], url=fresh)
    assert imported.versions == {"mlqa": [1, 2]}
    entry = model_registry(fresh).show("mlqa")
    assert entry.aliases == {"production": 2, "staging": 1}
    assert [v.status for v in entry.versions] == ["PendingManualApproval", "Approved"]
    assert entry.versions[1].model_spec().args == {"prefix": "b:"}
    assert entry.versions[0].model_spec().lineage.evaluation_runs == ["runs/1"]
    assert import_from_mlflow(mlflow_uri, ["mlqa"], url=fresh).versions == {}  # idempotent


def test_cli_export(mlflow_uri: str) -> None:
    register_model("mlcli", "echo/a")
    model_registry().promote("mlcli", 1, "production")
    result = CliRunner().invoke(app, ["registry", "export", "--mlflow", mlflow_uri, "mlcli"])
    assert result.exit_code == 0, result.output
    assert "mlcli: exported versions 1" in result.stdout and "mlcli: aliases production→1" in result.stdout
    unreachable = CliRunner().invoke(app, ["registry", "export", "--mlflow", "http://127.0.0.1:9", "mlcli"])
    assert unreachable.exit_code == 1 and "MLflow at http://127.0.0.1:9" in unreachable.output
