"""Remote locations: read datasets from s3:// (s3n://, s3a://), https:// and http://.

Readers take bytes, so a remote file is first streamed, in chunks and hashed on the way, to a temporary
file next to its cache entry, and renamed into place only once complete: an interrupted download leaves
nothing behind, and a large file never sits in memory twice. The cached copy is reused while the server
says it is unchanged (S3 ETag, HTTP ETag or Last-Modified on a conditional GET), and re-checked against
the sha256 recorded when it was downloaded.

boto3 and httpx are imported inside the functions that need them, so importing this module is cheap;
`fmops.data.sources` imports it on the first s3:// or http(s):// URI and it registers its schemes.

Settings (environment):
  FMOPS_S3_ENDPOINT_URL (else AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL): an S3-compatible endpoint.
  FMOPS_S3_UNSIGNED=1: anonymous S3 requests even when credentials exist (they are anonymous anyway
      when the credential chain finds none, which is how public buckets such as s3://fmeval are read).
  FMOPS_CA_BUNDLE: a PEM file of extra CAs to trust for https:// (added to the default ones) and for
      a custom https S3 endpoint; SSL_CERT_FILE / SSL_CERT_DIR replace the default CAs, as in OpenSSL.
      Certificate verification is never turned off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import ssl
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from fmops.core.errors import BadInputError, FmopsError, MissingDependencyError, RunError
from fmops.core.settings import fmops_home
from fmops.data.locations import one_line
from fmops.data.sources import DataSource, LocalSource, open_source, uri_scheme

logger = logging.getLogger(__name__)

S3_SCHEMES = ("s3", "s3n", "s3a")
HTTP_SCHEMES = ("https", "http")
CHUNK_SIZE = 1 << 20
# Buckets whose region we know, so that no request goes to the wrong region first (fmeval uses us-west-2).
KNOWN_BUCKET_REGIONS = {"fmeval": "us-west-2"}

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes done, total bytes or None) as a download goes."""

_S3_URI = re.compile(r"^(s3[na]?)://([^/?#]*)/?(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class Download:
    """A remote file copied to a local path, with what says whether it is still the same later."""

    uri: str
    path: Path
    sha256: str
    size: int
    validator: str | None = None  # "etag:<ETag>" or "modified:<Last-Modified>", when the server gave one


# --------------------------------------------------------------------------------------------- helpers


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/key` -> ("bucket", "key"); the key may be empty or a prefix."""
    match = _S3_URI.match(uri)
    if not match or not match.group(2):
        raise BadInputError(f"{uri}: not an S3 URI (expected s3://bucket/key)")
    return match.group(2), match.group(3)


def s3_endpoint_url() -> str | None:
    """The S3 endpoint override, if any (tests point it at a loopback server)."""
    for var in ("FMOPS_S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"):
        value = os.environ.get(var, "").strip()
        if value:
            return value
    return None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise MissingDependencyError("boto3", "s3", "Reading or writing s3:// locations") from None
    return boto3


# Variables that change which client (credentials, region, endpoint, trust) a new session would build.
_CLIENT_ENV = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_CA_BUNDLE",
    "AWS_EC2_METADATA_DISABLED",
    "FMOPS_S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "FMOPS_S3_UNSIGNED",
    "FMOPS_CA_BUNDLE",
)
# Building a session and client costs a few hundred milliseconds (service models, credential chain),
# and boto3 clients are thread-safe, so one per configuration is kept for the process.
_CLIENTS: dict[tuple[Any, ...], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def s3_client(bucket: str | None = None, *, signed: bool | None = None) -> Any:
    """A boto3 S3 client: usual credential chain, anonymous when there are no credentials.

    `signed=None` decides from the environment; the region is the bucket's when known, else the
    configured one (botocore follows S3's region redirects for the rest).
    """
    key = (KNOWN_BUCKET_REGIONS.get(bucket or ""), signed, *(os.environ.get(v) for v in _CLIENT_ENV))
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = _new_s3_client(bucket, signed)
    return client


def _new_s3_client(bucket: str | None, signed: bool | None) -> Any:
    boto3 = _import_boto3()
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session()
    if signed is None:
        signed = not _env_flag("FMOPS_S3_UNSIGNED") and session.get_credentials() is not None
    region = KNOWN_BUCKET_REGIONS.get(bucket or "") or session.region_name or "us-east-1"
    config = Config(
        signature_version=None if signed else UNSIGNED,
        retries={"max_attempts": 3, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="fmops",
    )
    # A custom https endpoint with a private CA (an on-premises S3, a test server) is trusted through
    # FMOPS_CA_BUNDLE like https:// datasets. AWS itself keeps botocore's trust store (or AWS_CA_BUNDLE):
    # botocore's `verify` replaces the default CAs rather than adding to them.
    endpoint = s3_endpoint_url()
    bundle = (os.environ.get("FMOPS_CA_BUNDLE", "").strip() or None) if endpoint else None
    return session.client("s3", region_name=region, endpoint_url=endpoint, config=config, verify=bundle)


def _has_credentials() -> bool:
    boto3 = _import_boto3()
    return boto3.session.Session().get_credentials() is not None


_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
    }
)


def _s3_error(uri: str, exc: BaseException) -> FmopsError:
    """One line for a boto3/botocore failure: missing or forbidden objects are the user's to fix."""
    from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("NoSuchKey", "404", "NotFound"):
            return BadInputError(f"{uri}: no such object (NoSuchKey)")
        if code == "NoSuchBucket":
            return BadInputError(f"{uri}: no such bucket (NoSuchBucket)")
        if code in _DENIED_CODES or code == "AllAccessDisabled":
            return BadInputError(
                f"{uri}: access denied ({code}); check the AWS credentials in use "
                "(AWS_PROFILE, AWS_ACCESS_KEY_ID...) or the bucket policy"
            )
        message = one_line(str(error.get("Message", "")) or str(exc))
        return RunError(f"{uri}: S3 error {code or status}: {message}")
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        where = s3_endpoint_url() or "AWS"
        return RunError(
            f"{uri}: cannot reach S3 at {where} ({one_line(str(exc))}); check the network connection"
        )
    if isinstance(exc, BotoCoreError):
        return RunError(f"{uri}: S3 request failed ({one_line(str(exc))})")
    return RunError(f"{uri}: {one_line(str(exc)) or type(exc).__name__}")


def _tls_verify() -> ssl.SSLContext | bool:
    """What httpx verifies server certificates against: FMOPS_CA_BUNDLE adds CAs, SSL_CERT_* replace them."""
    bundle = os.environ.get("FMOPS_CA_BUNDLE", "").strip()
    if bundle:
        path = Path(bundle).expanduser()
        if not path.is_file():
            raise BadInputError(f"FMOPS_CA_BUNDLE={bundle}: no such file")
        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
        context.load_verify_locations(cafile=str(path))
        return context
    cafile = os.environ.get("SSL_CERT_FILE", "").strip() or None
    capath = os.environ.get("SSL_CERT_DIR", "").strip() or None
    if cafile or capath:
        return ssl.create_default_context(cafile=cafile, capath=capath)
    return True


def _is_certificate_error(exc: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(current):
            return True
        current = current.__cause__ or current.__context__
    return False


def _file_name(uri: str) -> str:
    """The last path component of a URI (without query), used for the cache file and the format."""
    if uri_scheme(uri) in S3_SCHEMES:
        path = parse_s3_uri(uri)[1]
    else:
        path = urllib.parse.unquote(urllib.parse.urlsplit(uri).path)
    name = PurePosixPath(path).name
    return name or "download"


def sha256_file(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _write_stream(
    uri: str,
    dest: Path,
    chunks: Iterable[bytes],
    total: int | None,
    progress: ProgressCallback | None,
    interrupted: tuple[type[BaseException], ...],
) -> tuple[str, int]:
    """Write `chunks` to `dest` through a temporary file; returns (sha256, size). No partial file survives."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part")
    digest = hashlib.sha256()
    done = 0
    of_total = f" of {total}" if total is not None else ""
    try:
        with open(tmp, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        if total is not None and done != total:
            raise RunError(
                f"{uri}: the download was interrupted after {done}{of_total} bytes (the connection closed "
                "early); nothing was kept, try again"
            )
        os.replace(tmp, dest)
    except interrupted as e:
        raise RunError(
            f"{uri}: the download was interrupted ({one_line(str(e)) or type(e).__name__}); "
            "nothing was kept, try again"
        ) from None
    except OSError as e:
        raise RunError(f"{uri}: cannot write the download to {dest} ({e.strerror or e})") from None
    finally:
        tmp.unlink(missing_ok=True)
    return digest.hexdigest(), done


# ------------------------------------------------------------------------------------------- fetchers


def _get_object(bucket: str, kwargs: dict[str, Any]) -> Any:
    """GetObject with the credential chain; when those credentials are refused, once more anonymously,
    since a public bucket (such as s3://fmeval) may deny a principal it does not know."""
    from botocore.exceptions import ClientError

    client = s3_client(bucket)
    try:
        return client.get_object(**kwargs)
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code not in _DENIED_CODES or client.meta.config.signature_version is _unsigned():
            raise
        try:
            return s3_client(bucket, signed=False).get_object(**kwargs)
        except ClientError:
            raise e from None


def _unsigned() -> Any:
    from botocore import UNSIGNED

    return UNSIGNED


def _fetch_s3(uri: str, dest: Path, progress: ProgressCallback | None, known: str | None) -> Download | None:
    _import_boto3()
    from botocore.exceptions import BotoCoreError, ClientError
    from urllib3.exceptions import HTTPError as Urllib3Error

    bucket, key = parse_s3_uri(uri)
    if not key or key.endswith("/"):
        raise BadInputError(f"{uri}: names a folder (prefix); give the URI of a single file")
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if known and known.startswith("etag:"):
        kwargs["IfNoneMatch"] = known[len("etag:") :]
    try:
        response = _get_object(bucket, kwargs)
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if "IfNoneMatch" in kwargs and (code in ("304", "NotModified") or status == 304):
            return None
        raise _s3_error(uri, e) from None
    except BotoCoreError as e:
        raise _s3_error(uri, e) from None
    body = response["Body"]
    total = response.get("ContentLength")
    etag = response.get("ETag")
    try:
        sha, size = _write_stream(
            uri,
            dest,
            body.iter_chunks(CHUNK_SIZE),
            total,
            progress,
            (BotoCoreError, Urllib3Error, ConnectionError, TimeoutError),
        )
    finally:
        body.close()
    return Download(uri, dest, sha, size, f"etag:{etag}" if etag else None)


def _check_http_status(uri: str, status: int, reason: str) -> None:
    if status < 400:
        return
    what = f"HTTP {status}{' ' + reason if reason else ''}"
    if status in (404, 410):
        raise BadInputError(f"{uri}: not found ({what})")
    if status in (401, 403):
        raise BadInputError(f"{uri}: access denied ({what})")
    if status < 500:
        raise BadInputError(f"{uri}: the server refused the request ({what})")
    raise RunError(f"{uri}: server error ({what}); try again later")


def _fetch_http(
    uri: str, dest: Path, progress: ProgressCallback | None, known: str | None
) -> Download | None:
    import httpx

    headers: dict[str, str] = {}
    if known and known.startswith("etag:"):
        headers["If-None-Match"] = known[len("etag:") :]
    elif known and known.startswith("modified:"):
        headers["If-Modified-Since"] = known[len("modified:") :]
    timeout = httpx.Timeout(30.0, read=120.0)
    try:
        with (
            httpx.Client(verify=_tls_verify(), follow_redirects=True, timeout=timeout) as client,
            client.stream("GET", uri, headers=headers) as response,
        ):
            if response.status_code == 304 and headers:
                return None
            _check_http_status(uri, response.status_code, response.reason_phrase)
            length = response.headers.get("content-length")
            encoded = response.headers.get("content-encoding", "identity").lower() != "identity"
            total = int(length) if length and length.isdigit() and not encoded else None
            sha, size = _write_stream(
                uri, dest, response.iter_bytes(CHUNK_SIZE), total, progress, (httpx.TransportError,)
            )
            etag = response.headers.get("etag")
            modified = response.headers.get("last-modified")
    except httpx.TransportError as e:
        if _is_certificate_error(e):
            raise RunError(
                f"{uri}: the server's TLS certificate could not be verified ({one_line(str(e))}); if it is "
                "signed by a private CA, set FMOPS_CA_BUNDLE to that CA's PEM file"
            ) from None
        raise RunError(
            f"{uri}: cannot reach the server ({one_line(str(e)) or type(e).__name__}); "
            "check the network connection"
        ) from None
    validator = f"etag:{etag}" if etag else (f"modified:{modified}" if modified else None)
    return Download(uri, dest, sha, size, validator)


def _fetch_local(uri: str, dest: Path, progress: ProgressCallback | None) -> Download:
    source = open_source(uri)
    if not isinstance(source, LocalSource) or source.is_folder:
        raise BadInputError(f"{uri}: expected a single local file")
    total = source.path.stat().st_size

    def chunks() -> Iterator[bytes]:
        with open(source.path, "rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                yield chunk

    sha, size = _write_stream(uri, dest, chunks(), total, progress, ())
    return Download(uri, dest, sha, size, None)


def _fetch(uri: str, dest: Path, progress: ProgressCallback | None, known: str | None) -> Download | None:
    scheme = uri_scheme(uri)
    if scheme in S3_SCHEMES:
        return _fetch_s3(uri, dest, progress, known)
    if scheme in HTTP_SCHEMES:
        return _fetch_http(uri, dest, progress, known)
    if scheme in ("", "file"):
        return _fetch_local(uri, dest, progress)
    raise BadInputError(f"{uri}: cannot download from '{scheme}://' (use s3://, https://, http:// or a path)")


def download(uri: str, dest: Path, *, progress: ProgressCallback | None = None) -> Download:
    """Copy `uri` (s3://, https://, http://, file:// or a path) to `dest`, streaming and hashing as it goes.

    `dest` appears only once the copy is complete. Missing or forbidden objects raise BadInputError;
    network failures and interrupted transfers raise RunError. Both name the URI.
    """
    result = _fetch(uri, Path(dest), progress, None)
    assert result is not None  # no validator was sent, so there is no "not modified" answer
    return result


# ------------------------------------------------------------------------------------ cached sources


def download_cache_dir() -> Path:
    """Where remote dataset files given by URI are cached: FMOPS_HOME/downloads/<hash of the URI>/."""
    return fmops_home() / "downloads"


def _read_meta(path: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def cached_download(uri: str, *, progress: ProgressCallback | None = None) -> Download:
    """The local copy of a remote file, downloaded again only when the server says it changed."""
    folder = download_cache_dir() / hashlib.sha256(uri.encode("utf-8")).hexdigest()[:32]
    dest = folder / _file_name(uri)
    meta_path = folder / "download.json"
    meta = _read_meta(meta_path)
    result: Download | None = None
    if meta and meta.get("uri") == uri and meta.get("validator") and dest.is_file():
        result = _fetch(uri, dest, progress, str(meta["validator"]))
        if result is None:
            if dest.stat().st_size == meta.get("size") and sha256_file(dest) == meta.get("sha256"):
                logger.info("%s: unchanged, using the cached copy %s", uri, dest)
                return Download(uri, dest, str(meta["sha256"]), int(meta["size"]), str(meta["validator"]))
            logger.info("%s: the cached copy %s changed on disk; downloading it again", uri, dest)
    if result is None:
        logger.info("downloading %s to %s", uri, dest)
        try:
            result = download(uri, dest, progress=progress)
        except BaseException:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: a failed first download leaves nothing behind
            raise
    _write_json_atomic(
        meta_path,
        {"uri": uri, "sha256": result.sha256, "size": result.size, "validator": result.validator},
    )
    return result


class RemoteSource(DataSource):
    """A remote dataset file, read from its local cached copy (remote folders are not supported)."""

    def __init__(self, uri: str, downloaded: Download) -> None:
        super().__init__(uri)
        self.path = downloaded.path
        self.sha256 = downloaded.sha256

    @property
    def name(self) -> str:
        return _file_name(self.uri)

    @property
    def is_folder(self) -> bool:
        return False

    def read_bytes(self, member: str | None = None) -> bytes:
        if member is not None:
            raise BadInputError(f"{self.uri}: remote folders are not supported; give the URI of a file")
        try:
            return self.path.read_bytes()
        except OSError as e:
            raise RunError(
                f"{self.uri}: cannot read the downloaded copy {self.path} ({e.strerror or e})"
            ) from None

    def has_member(self, member: str) -> bool:
        return False


def open_remote(uri: str) -> DataSource:
    """The DataSource opener for s3://, https:// and http:// (downloads, or reuses the cached copy)."""
    return RemoteSource(uri, cached_download(uri))
