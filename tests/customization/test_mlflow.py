"""`--mlflow URI` logs params, metrics per step and the adapter to a real MLflow server on loopback,
read back with MLflow's own client."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.importorskip("mlflow")
pytest.importorskip("trl")

from fmops.customization import FinetuneJob, run_finetune


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` with a SQLite backend on a free loopback port, stopped after the module."""
    root = tmp_path_factory.mktemp("mlflow")
    port = _free_port()
    mlflow = Path(sys.executable).parent / "mlflow"
    process = subprocess.Popen(
        [
            str(mlflow),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{root / 'mlflow.db'}",
            "--artifacts-destination",
            str(root / "artifacts"),
        ],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("mlflow server did not start")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


def test_a_run_is_logged_to_mlflow_with_params_metrics_and_adapter(
    mlflow_server: str, tiny_base: str, qa_data: Path, tmp_path: Path
) -> None:
    from mlflow.tracking import MlflowClient

    job = FinetuneJob(
        base=tiny_base,
        data=qa_data,
        output="tracked",
        mlflow=mlflow_server,
        evaluate=False,
        hyperparameters={"max_steps": 3, "save_steps": 3, "batch_size": 4, "lora_r": 4},
    )
    result = run_finetune(job)
    assert result.mlflow_run_id

    client = MlflowClient(tracking_uri=mlflow_server)
    run = client.get_run(result.mlflow_run_id)
    assert run.info.run_name == "tracked" and run.info.status == "FINISHED"
    assert run.data.params["lora_r"] == "4" and run.data.params["method"] == "lora"
    assert run.data.tags["fmops.run_id"] == result.run_id
    history = client.get_metric_history(result.mlflow_run_id, "loss")
    assert sorted(m.step for m in history) == [1, 2, 3]
    names = {a.path for a in client.list_artifacts(result.mlflow_run_id, "adapter")}
    assert "adapter/adapter_config.json" in names and "adapter/adapter_model.safetensors" in names
    local = client.download_artifacts(result.mlflow_run_id, "adapter/adapter_config.json", str(tmp_path))
    assert Path(local).read_text() == (result.adapter_path / "adapter_config.json").read_text()
