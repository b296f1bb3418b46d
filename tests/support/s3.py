"""A real S3 endpoint on loopback (moto's server on a free port), so tests go through boto3 as production does.

    with MotoS3Server() as s3:
        bucket = s3.create_bucket()
        s3.put(bucket, "datasets/x.jsonl", b"...")
        for name, value in s3.env().items():
            monkeypatch.setenv(name, value)   # FMOPS_S3_ENDPOINT_URL, fake credentials, no IMDS

The server's state is process-wide, so each test takes its own bucket (`create_bucket()` names it uniquely).
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

import pytest

# Environment that isolates boto3 from the machine's AWS setup (no profile files, no instance metadata).
_ISOLATION = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}
_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
_ENDPOINT_VARS = ("FMOPS_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3")


class MotoS3Server:
    """moto's threaded S3 server on 127.0.0.1 and a port the OS picks."""

    def __init__(self) -> None:
        self._server: Any = None
        self.endpoint_url = ""

    def __enter__(self) -> MotoS3Server:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one log line per request otherwise
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.endpoint_url = f"http://{host}:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self) -> Any:
        """A boto3 client for setting up and inspecting state (independent of fmops' own client)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_bucket(self, prefix: str = "fmops-test") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self.client().put_object(Bucket=bucket, Key=key, Body=data)

    def get(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        return self.client().head_object(Bucket=bucket, Key=key)

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    def env(self, *, anonymous: bool = False) -> dict[str, str]:
        """Variables that point fmops (and any boto3 client) at this server; anonymous: no credentials."""
        env = dict(_ISOLATION, FMOPS_S3_ENDPOINT_URL=self.endpoint_url)
        if not anonymous:
            env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
        return env


def use_s3_endpoint(
    monkeypatch: pytest.MonkeyPatch, endpoint_url: str, *, access_key: str | None = "testing"
) -> None:
    """Point this test's S3 requests at `endpoint_url` with a fake key (None: no credentials at all),
    and nothing from ~/.aws or instance metadata."""
    for name in (*_CREDENTIAL_VARS, *_ENDPOINT_VARS, "FMOPS_S3_UNSIGNED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _ISOLATION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FMOPS_S3_ENDPOINT_URL", endpoint_url)
    if access_key is not None:
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def use_s3_server(monkeypatch: pytest.MonkeyPatch, server: MotoS3Server, *, anonymous: bool = False) -> None:
    """Point this test at `server`: its endpoint, fake (or no) credentials, nothing from ~/.aws."""
    use_s3_endpoint(monkeypatch, server.endpoint_url, access_key=None if anonymous else "testing")
