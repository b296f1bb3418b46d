"""Writing run folders to S3 (`fmops.data.upload`), against a local moto S3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError, RunError
from fmops.data import upload
from tests.support.s3 import MotoS3Server, use_s3_server

#: The contents of the run's one records file.
DATA = b'{"question": "q", "answer": "a"}\n'


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3Server]:
    with MotoS3Server() as server:
        yield server


@pytest.fixture
def bucket(s3: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    use_s3_server(monkeypatch, s3)
    return s3.create_bucket()


def _run_folder(root: Path, big: int = 0) -> Path:
    run = root / "run"
    (run / "records").mkdir(parents=True)
    (run / "records" / "qa_accuracy_d.jsonl").write_bytes(DATA if not big else b"x" * big)
    (run / "results.json").write_text("[]\n")
    (run / "manifest.json").write_text("{}\n")
    (run / "report.html").write_text("<html></html>\n")
    (run / "records" / ".qa_accuracy_d.jsonl.tmp").write_text("half")
    return run


def test_upload_run_folder(s3: MotoS3Server, bucket: str, tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    uploaded = upload.upload_run_folder(run, f"s3://{bucket}/runs/r1/")
    prefix = f"s3://{bucket}/runs/r1/"
    assert uploaded == [
        prefix + "records/qa_accuracy_d.jsonl",
        prefix + "report.html",
        prefix + "results.json",
        prefix + "manifest.json",
    ]
    assert s3.keys(bucket) == sorted(u[len(f"s3://{bucket}/") :] for u in uploaded)
    assert s3.get(bucket, "runs/r1/records/qa_accuracy_d.jsonl") == DATA
    assert s3.head(bucket, "runs/r1/results.json")["ContentType"] == "application/json"
    assert s3.head(bucket, "runs/r1/records/qa_accuracy_d.jsonl")["ContentType"] == "application/jsonlines"


def test_large_record_file_goes_up_in_parts(
    s3: MotoS3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upload, "MULTIPART_THRESHOLD", 5 << 20)
    monkeypatch.setattr(upload, "MULTIPART_CHUNKSIZE", 5 << 20)
    run = _run_folder(tmp_path, big=11 << 20)
    upload.upload_run_folder(run, f"s3://{bucket}/big")
    head = s3.head(bucket, "big/records/qa_accuracy_d.jsonl")
    assert head["ContentLength"] == 11 << 20
    assert head["ETag"].strip('"').endswith("-3")  # three parts


def test_failed_upload_is_retried(
    s3: MotoS3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    real = upload._upload_file
    calls: list[str] = []

    def flaky(client, path, bucket_, key, extra, config):  # type: ignore[no-untyped-def]
        calls.append(key)
        if len(calls) <= 2:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
        real(client, path, bucket_, key, extra, config)

    monkeypatch.setattr(upload, "_upload_file", flaky)
    monkeypatch.setattr(upload, "RETRY_BACKOFF_S", 0.0)
    uploaded = upload.upload_run_folder(_run_folder(tmp_path), f"s3://{bucket}/retry")
    assert len(uploaded) == 4
    assert calls[:3] == ["retry/records/qa_accuracy_d.jsonl"] * 3


def test_upload_that_keeps_failing_says_where_the_local_copy_is(
    s3: MotoS3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import EndpointConnectionError

    attempts: list[int] = []

    def down(*args: object) -> None:
        attempts.append(1)
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(upload, "_upload_file", down)
    monkeypatch.setattr(upload, "RETRY_BACKOFF_S", 0.0)
    run = _run_folder(tmp_path)
    with pytest.raises(RunError, match=r"failed after 3 attempt\(s\).*the local copy is kept at") as info:
        upload.upload_run_folder(run, f"s3://{bucket}/down", retries=2)
    assert str(info.value).endswith(str(run))
    assert len(attempts) == 3


def test_upload_to_missing_bucket_fails_at_once(s3: MotoS3Server, bucket: str, tmp_path: Path) -> None:
    run = _run_folder(tmp_path)
    with pytest.raises(RunError, match=r"NoSuchBucket.*local copy is kept at") as info:
        upload.upload_run_folder(run, "s3://no-such-bucket-fmops/runs")
    assert "after 1 attempt(s)" in str(info.value)
    assert (run / "results.json").is_file()


def test_upload_needs_credentials(s3: MotoS3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    use_s3_server(monkeypatch, s3, anonymous=True)
    with pytest.raises(RunError, match=r"no AWS credentials found.*local copy is kept"):
        upload.upload_run_folder(_run_folder(tmp_path), "s3://any/runs")


def test_upload_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="no such run folder"):
        upload.upload_run_folder(tmp_path / "missing", "s3://b/p")
    with pytest.raises(BadInputError, match="not an S3 URI"):
        upload.upload_run_folder(tmp_path, "https://example.invalid/p")


def test_run_staging_dir(_isolated_home: Path) -> None:
    assert (
        upload.run_staging_dir("s3://b/runs/../x/r1/")
        == _isolated_home / "runs" / "s3" / "b" / "runs" / "x" / "r1"
    )
    with pytest.raises(BadInputError):
        upload.run_staging_dir("/local/path")
