"""Writing run folders to S3: `--output s3://...` runs write locally first, then upload here.

A run bound for S3 is written to a staging folder under FMOPS_HOME (the same URI gives the same folder, so a
rerun after a failed upload resumes from it), then every file goes up with its relative path, records first
and manifest.json last, so the manifest's presence marks a complete upload. The S3 client, its settings
and its error messages are the reading side's (`fmops.data.remote`).
"""

from __future__ import annotations

import logging
import mimetypes
import re
import time
from pathlib import Path
from typing import Any

from fmops.core.errors import BadInputError, RunError
from fmops.core.settings import fmops_home
from fmops.data.locations import one_line
from fmops.data.remote import S3_SCHEMES, _env_flag, _has_credentials, _import_boto3, parse_s3_uri, s3_client
from fmops.data.sources import uri_scheme

logger = logging.getLogger(__name__)

# Record files above this size go up in parts (boto3's transfer manager; S3 needs parts >= 5 MiB).
MULTIPART_THRESHOLD = 16 << 20
MULTIPART_CHUNKSIZE = 16 << 20
RETRY_BACKOFF_S = 0.5


def check_upload_access(s3_uri: str) -> None:
    """Before a run bound for `s3_uri` does any work: the URI is an S3 one, boto3 is installed and the
    credential chain finds credentials (an anonymous upload cannot succeed). Makes no request."""
    if uri_scheme(s3_uri) not in S3_SCHEMES:
        raise BadInputError(f"{s3_uri}: not an S3 URI (expected s3://bucket/prefix)")
    parse_s3_uri(s3_uri)  # a bucket is named
    _import_boto3()
    if not _env_flag("FMOPS_S3_UNSIGNED") and not _has_credentials():
        raise BadInputError(
            f"cannot write to {s3_uri}: no AWS credentials found (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY); nothing was run"
        )


def run_staging_dir(s3_uri: str) -> Path:
    """The local folder a run bound for `s3_uri` is written to before the upload:
    FMOPS_HOME/runs/s3/<bucket>/<prefix>. The same URI gives the same folder, so a rerun after a failed
    upload finds (and resumes) the local copy."""
    if uri_scheme(s3_uri) not in S3_SCHEMES:
        raise BadInputError(f"{s3_uri}: not an S3 URI (expected s3://bucket/prefix)")
    bucket, prefix = parse_s3_uri(s3_uri)
    parts = [p for p in prefix.split("/") if p and p not in (".", "..")]
    return fmops_home().joinpath("runs", "s3", bucket, *parts)


def _upload_order(local_dir: Path) -> list[Path]:
    """Every file except temporaries; records first and manifest.json last, so its presence marks a
    complete upload."""
    files = [
        p
        for p in local_dir.rglob("*")
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith((".tmp", ".part"))
    ]
    last = {"results.json": 1, "manifest.json": 2}

    def rank(path: Path) -> tuple[int, str]:
        rel = path.relative_to(local_dir)
        return (last.get(rel.as_posix(), 0), rel.as_posix())

    return sorted(files, key=rank)


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "application/jsonlines"
    if suffix == ".json":
        return "application/json"
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _upload_file(client: Any, path: Path, bucket: str, key: str, extra: dict[str, str], config: Any) -> None:
    """One upload through boto3's transfer manager (multipart above the threshold). A seam for tests."""
    client.upload_file(str(path), bucket, key, ExtraArgs=extra, Config=config)


_PERMANENT_CODES = (
    "NoSuchBucket",
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AllAccessDisabled",
)


def _upload_reason(exc: BaseException) -> str:
    """The cause of an upload failure without boto3's "Failed to upload <path> to <key>: " preamble."""
    text = str(exc)
    match = re.match(r"^Failed to upload .+? to \S+: (.*)$", text, re.DOTALL)
    return one_line(match.group(1) if match else text, 300) or type(exc).__name__


def _is_permanent(exc: BaseException) -> bool:
    """Failures a retry cannot fix (wrong bucket, no permission)."""
    text = str(exc)
    return any(f"({code})" in text for code in _PERMANENT_CODES)


def upload_run_folder(local_dir: Path, s3_uri: str, *, retries: int = 3) -> list[str]:
    """Upload every file of a run folder under `s3_uri` (a prefix), keeping relative paths.

    Large files go up in parts. A failed file is retried `retries` times (exponential backoff), then
    RunError says what failed and that the local copy is kept. Returns the URIs written, in order.
    """
    local_dir = Path(local_dir)
    if not local_dir.is_dir():
        raise BadInputError(f"{local_dir}: no such run folder to upload")
    if uri_scheme(s3_uri) not in S3_SCHEMES:
        raise BadInputError(f"{s3_uri}: not an S3 URI (expected s3://bucket/prefix)")
    bucket, prefix = parse_s3_uri(s3_uri)
    prefix = prefix.strip("/")
    kept = f"the local copy is kept at {local_dir}"
    files = _upload_order(local_dir)
    if not files:
        return []
    _import_boto3()
    from boto3.s3.transfer import TransferConfig

    if not _env_flag("FMOPS_S3_UNSIGNED") and not _has_credentials():
        raise RunError(
            f"cannot upload to {s3_uri}: no AWS credentials found (set AWS_PROFILE or AWS_ACCESS_KEY_ID and "
            f"AWS_SECRET_ACCESS_KEY); {kept}"
        )
    client = s3_client(bucket)
    config = TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD, multipart_chunksize=MULTIPART_CHUNKSIZE, max_concurrency=4
    )
    uploaded: list[str] = []
    for path in files:
        rel = path.relative_to(local_dir).as_posix()
        key = f"{prefix}/{rel}" if prefix else rel
        target = f"s3://{bucket}/{key}"
        attempt = 0
        while True:
            try:
                _upload_file(client, path, bucket, key, {"ContentType": _content_type(path)}, config)
                break
            except Exception as e:  # boto3 wraps failures in several families; all end the same way
                if _is_permanent(e) or attempt >= retries:
                    raise RunError(
                        f"uploading {rel} to {target} failed after {attempt + 1} attempt(s) "
                        f"({_upload_reason(e)}); {kept}"
                    ) from None
                delay = RETRY_BACKOFF_S * 2**attempt
                logger.warning("uploading %s to %s failed (%s); retrying in %.1fs", rel, target, e, delay)
                time.sleep(delay)
                attempt += 1
        uploaded.append(target)
    return uploaded
