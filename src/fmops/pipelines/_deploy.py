"""The deploy step: start (or reload) an `fmops serve` process for a registry alias, then send one request.

A deployment is a detached `fmops serve registry:NAME/VERSION` process; FMOPS_HOME/deployments/NAME@ALIAS.json
records it. Deploying again keeps a healthy process that serves the alias's current version and replaces
one that serves an older version (the alias moved: reload).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from fmops.core.errors import RunError
from fmops.core.settings import fmops_home
from fmops.pipelines._step import Params, Step, StepContext, StepResult


class Deployment(BaseModel):
    name: str
    alias: str
    version: int
    pid: int
    host: str
    port: int
    log: str
    started_at: float

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"


def deployment_file(name: str, alias: str) -> Path:
    return fmops_home() / "deployments" / f"{name}@{alias}.json"


def read_deployment(name: str, alias: str) -> Deployment | None:
    path = deployment_file(name, alias)
    if not path.is_file():
        return None
    return Deployment.model_validate_json(path.read_text(encoding="utf-8"))


def stop_deployment(name: str, alias: str, timeout_s: float = 20.0) -> bool:
    """Stop the deployment of NAME@ALIAS if it runs; True when there was one."""
    deployment = read_deployment(name, alias)
    if deployment is None:
        return False
    _terminate(deployment.pid, timeout_s)
    deployment_file(name, alias).unlink(missing_ok=True)
    return True


class DeployParams(Params):
    name: str
    alias: str = "production"
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0: any free port.")
    request: str | None = Field(default=None, description="One prompt sent through the deployed model.")
    max_tokens: int = Field(default=16, gt=0)
    model_args: list[str] = Field(default_factory=list)
    startup_timeout_s: float = Field(default=180.0, gt=0)


class DeployStep(Step):
    """Outputs `base_url`, `version`, `pid` and, with `request`, the model's `response`."""

    Params = DeployParams

    def key_extras(self, params: DeployParams) -> dict[str, Any]:
        return {"version": _alias_version(params.name, params.alias)}

    def still_valid(self, params: DeployParams, outputs: dict[str, Any]) -> bool:
        deployment = read_deployment(params.name, params.alias)
        return (
            deployment is not None
            and deployment.version == outputs.get("version")
            and _alive(deployment.pid)
            and _healthy(deployment.root)
        )

    def run(self, params: DeployParams, ctx: StepContext) -> StepResult:
        from fmops.registry import model_registry

        version = model_registry().get(params.name, params.alias)
        if version.status != "Approved":
            raise RunError(
                f"{params.name}@{params.alias} is version {version.version}, {version.status}: "
                "only an Approved version is deployed"
            )
        current = read_deployment(params.name, params.alias)
        action = "started"
        if current is not None and _alive(current.pid):
            if current.version == version.version and _healthy(current.root):
                deployment, action = current, "kept"
            else:
                ctx.say(f"reload: stopping version {current.version} (pid {current.pid})")
                _terminate(current.pid, 20.0)
                action = "reloaded"
        if action != "kept":
            deployment = _start(params, version.version, ctx)
        response = _one_request(deployment, params) if params.request else None
        return StepResult(
            outputs={
                "base_url": deployment.root + "/v1",
                "model": params.name,
                "version": deployment.version,
                "pid": deployment.pid,
                "action": action,
                "response": response,
            },
            summary=f"{params.name}@{params.alias} v{deployment.version} {action} at {deployment.root}"
            + (f"; answered {response!r}" if response is not None else ""),
        )


def _alias_version(name: str, alias: str) -> int | None:
    from fmops.core.errors import BadInputError
    from fmops.registry import model_registry

    try:
        return model_registry().get(name, alias).version
    except BadInputError:
        return None


def _start(params: DeployParams, version: int, ctx: StepContext) -> Deployment:
    port = params.port or _free_port(params.host)
    log = ctx.work_dir / "serve.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "fmops",
        "serve",
        f"registry:{params.name}/{version}",
        "--host",
        params.host,
        "--port",
        str(port),
        "--served-name",
        params.name,
        "--log-level",
        "warning",
    ]
    for arg in params.model_args:
        command += ["-M", arg]
    with log.open("ab") as sink:
        # Its own session: the deployment outlives the pipeline run that started it.
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
    deployment = Deployment(
        name=params.name,
        alias=params.alias,
        version=version,
        pid=process.pid,
        host=params.host,
        port=port,
        log=str(log),
        started_at=time.time(),
    )
    deadline = time.monotonic() + params.startup_timeout_s
    while not _healthy(deployment.root):
        if process.poll() is not None or time.monotonic() > deadline:
            _terminate(process.pid, 5.0)
            tail = log.read_text(encoding="utf-8", errors="replace")[-1500:]
            raise RunError(f"`fmops serve` for {params.name}@{params.alias} did not come up:\n{tail}")
        time.sleep(0.2)
    path = deployment_file(params.name, params.alias)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(deployment.model_dump_json(indent=2), encoding="utf-8")
    return deployment


def _one_request(deployment: Deployment, params: DeployParams) -> str:
    import httpx

    body = {
        "model": params.name,
        "messages": [{"role": "user", "content": params.request}],
        "max_tokens": params.max_tokens,
        "temperature": 0,
    }
    try:
        response = httpx.post(f"{deployment.root}/v1/chat/completions", json=body, timeout=120)
        response.raise_for_status()
        return str(response.json()["choices"][0]["message"]["content"])
    except (httpx.HTTPError, KeyError, IndexError, json.JSONDecodeError) as exc:
        raise RunError(f"the request through {params.name}@{params.alias} failed: {exc}") from None


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _healthy(root: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{root}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process counts as gone.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def _terminate(pid: int, timeout_s: float) -> None:
    if not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
