"""Remote dataset locations, against real servers on loopback only:
moto's S3 server, and a local HTTPS/HTTP server whose certificate is made at test time."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fmops.core.errors import BadInputError, RunError
from fmops.data import DataConfig, load_dataset, remote
from tests.support.https import FileServer
from tests.support.s3 import MotoS3Server, use_s3_endpoint, use_s3_server

pytest.importorskip("boto3")
pytest.importorskip("moto")
pytest.importorskip("cryptography")

ROWS = [{"question": f"q{i}", "answer": f"a{i}"} for i in range(5)]
DATA = "".join(json.dumps(r) + "\n" for r in ROWS).encode()


def _config(uri: str) -> DataConfig:
    return DataConfig(
        dataset_name="d", dataset_uri=uri, model_input_location="question", target_output_location="answer"
    )


def _cache_files(home: Path) -> list[Path]:
    return (
        [p for p in (home / "downloads").rglob("*") if p.is_file()] if (home / "downloads").exists() else []
    )


@pytest.fixture(scope="module")
def s3() -> Iterator[MotoS3Server]:
    with MotoS3Server() as server:
        yield server


@pytest.fixture
def bucket(s3: MotoS3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    use_s3_server(monkeypatch, s3)
    return s3.create_bucket()


@pytest.fixture(scope="module")
def https(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    with FileServer(tmp_path_factory.mktemp("tls")) as server:
        yield server


@pytest.fixture
def trust(https: FileServer, monkeypatch: pytest.MonkeyPatch) -> FileServer:
    monkeypatch.setenv("FMOPS_CA_BUNDLE", str(https.ca_file))
    return https


# ------------------------------------------------------------------------------------------ S3 in


def test_s3_dataset_loads_and_is_reused_while_unchanged(
    s3: MotoS3Server, bucket: str, _isolated_home: Path
) -> None:
    s3.put(bucket, "data/qa.jsonl", DATA)
    uri = f"s3://{bucket}/data/qa.jsonl"
    dataset = load_dataset(_config(uri), num_records=None)
    assert dataset.uri == uri
    assert [r["model_input"] for r in dataset.records] == [r["question"] for r in ROWS]
    assert dataset.sha256 == hashlib.sha256(DATA).hexdigest()
    cached = [p for p in _cache_files(_isolated_home) if p.name == "qa.jsonl"]
    assert len(cached) == 1
    first_mtime = cached[0].stat().st_mtime_ns

    again = load_dataset(_config(uri), num_records=None)  # conditional GET: 304, the cached copy stays
    assert again.sha256 == dataset.sha256
    assert cached[0].stat().st_mtime_ns == first_mtime

    s3.put(bucket, "data/qa.jsonl", DATA + b'{"question": "new", "answer": "x"}\n')
    changed = load_dataset(_config(uri), num_records=None)
    assert changed.total_rows == len(ROWS) + 1


@pytest.mark.parametrize("scheme", ["s3n", "s3a"])
def test_hadoop_style_s3_schemes(s3: MotoS3Server, bucket: str, scheme: str) -> None:
    s3.put(bucket, "qa.jsonl", DATA)
    assert load_dataset(_config(f"{scheme}://{bucket}/qa.jsonl")).total_rows == len(ROWS)


def test_public_object_is_read_anonymously_without_credentials(
    s3: MotoS3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = s3.create_bucket()
    s3.put(name, "public.jsonl", DATA)
    s3.client().put_object_acl(Bucket=name, Key="public.jsonl", ACL="public-read")
    s3.put(name, "private.jsonl", DATA)
    use_s3_server(monkeypatch, s3, anonymous=True)
    client = remote.s3_client(name)
    assert client.meta.config.signature_version is not None  # UNSIGNED: no credentials in the chain
    assert load_dataset(_config(f"s3://{name}/public.jsonl")).total_rows == len(ROWS)
    with pytest.raises(BadInputError, match=r"access denied") as info:
        load_dataset(_config(f"s3://{name}/private.jsonl"))
    assert str(info.value).startswith(f"s3://{name}/private.jsonl: ")


def test_missing_s3_object_and_bucket_are_one_line_bad_input(bucket: str) -> None:
    uri = f"s3://{bucket}/nope/missing.jsonl"
    with pytest.raises(BadInputError) as info:
        load_dataset(_config(uri))
    assert str(info.value) == f"{uri}: no such object (NoSuchKey)"
    with pytest.raises(BadInputError, match=r"^s3://no-such-bucket-fmops/x\.jsonl: no such bucket"):
        load_dataset(_config("s3://no-such-bucket-fmops/x.jsonl"))


@pytest.mark.parametrize("uri", ["s3://bucket-only", "s3://b/folder/", "s3:///key.jsonl"])
def test_s3_uri_must_name_a_file(uri: str, bucket: str) -> None:
    with pytest.raises(BadInputError, match=r"folder|not an S3 URI"):
        load_dataset(_config(uri))


def test_interrupted_s3_download_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _isolated_home: Path
) -> None:
    # An S3-compatible endpoint that closes the connection half-way through the body.
    with FileServer(tmp_path, tls=False) as fake_s3:
        fake_s3.add("/bkt/big.jsonl", DATA * 2000)
        fake_s3.add_fault("/bkt/big.jsonl", "truncate", times=1)
        use_s3_endpoint(monkeypatch, fake_s3.url(""))
        with pytest.raises(
            RunError, match=r"^s3://bkt/big\.jsonl: the download was interrupted .* nothing was kept"
        ):
            load_dataset(_config("s3://bkt/big.jsonl"))
        assert _cache_files(_isolated_home) == []
        assert load_dataset(_config("s3://bkt/big.jsonl"), num_records=None).total_rows == 2000 * len(ROWS)


def test_refused_credentials_fall_back_to_anonymous(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FileServer(tmp_path, tls=False) as fake_s3:
        fake_s3.add("/pub/qa.jsonl", DATA)
        fake_s3.add_fault("/pub/qa.jsonl", "forbid_signed")
        use_s3_endpoint(monkeypatch, fake_s3.url(""), access_key="someone-else")
        assert load_dataset(_config("s3://pub/qa.jsonl")).total_rows == len(ROWS)
        assert fake_s3.gets("/pub/qa.jsonl", 403) == 1
        assert fake_s3.gets("/pub/qa.jsonl", 200) == 1


def test_https_s3_endpoint_with_private_ca(
    https: FileServer, trust: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    https.add("/tls-bucket/qa.jsonl", DATA)
    use_s3_endpoint(monkeypatch, https.url(""))
    assert load_dataset(_config("s3://tls-bucket/qa.jsonl")).total_rows == len(ROWS)


def test_unreachable_s3_endpoint_is_a_run_error(monkeypatch: pytest.MonkeyPatch) -> None:
    use_s3_endpoint(monkeypatch, "http://127.0.0.1:9")
    with pytest.raises(RunError, match=r"^s3://b/k\.jsonl: cannot reach S3 at http://127\.0\.0\.1:9"):
        load_dataset(_config("s3://b/k.jsonl"))


# ----------------------------------------------------------------------------------- HTTPS / HTTP in


def test_https_dataset_with_ca_bundle_and_etag_reuse(trust: FileServer) -> None:
    url = trust.add("/https/qa.jsonl", DATA)
    assert load_dataset(_config(url)).total_rows == len(ROWS)
    assert load_dataset(_config(url)).total_rows == len(ROWS)
    assert trust.gets("/https/qa.jsonl", 200) == 1
    assert trust.gets("/https/qa.jsonl", 304) == 1


def test_ssl_cert_file_is_honoured(https: FileServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FMOPS_CA_BUNDLE", raising=False)
    monkeypatch.setenv("SSL_CERT_FILE", str(https.ca_file))
    url = https.add("/https/ssl-cert-file.jsonl", DATA)
    assert load_dataset(_config(url)).total_rows == len(ROWS)


def test_untrusted_certificate_is_refused_with_a_hint(
    https: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FMOPS_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)
    url = https.add("/https/untrusted.jsonl", DATA)
    with pytest.raises(RunError, match=r"certificate could not be verified.*FMOPS_CA_BUNDLE") as info:
        load_dataset(_config(url))
    assert str(info.value).startswith(url)


def test_query_string_does_not_hide_the_format(trust: FileServer) -> None:
    url = trust.add("/https/signed.jsonl", DATA) + "?X-Signature=abc&expires=1"
    assert load_dataset(_config(url)).total_rows == len(ROWS)


def test_http_404_and_500(trust: FileServer) -> None:
    missing = trust.url("/https/missing.jsonl")
    with pytest.raises(BadInputError) as info:
        load_dataset(_config(missing))
    assert str(info.value) == f"{missing}: not found (HTTP 404 Not Found)"
    url = trust.add("/https/flaky.jsonl", DATA)
    trust.add_fault("/https/flaky.jsonl", "status", status=503, times=1)
    with pytest.raises(RunError, match=r"server error \(HTTP 503"):
        load_dataset(_config(url))
    assert load_dataset(_config(url)).total_rows == len(ROWS)


@pytest.mark.parametrize("fault", ["truncate", "drop"])
def test_interrupted_https_download_leaves_no_partial_file(
    trust: FileServer, fault: str, _isolated_home: Path
) -> None:
    path = f"/https/interrupted-{fault}.jsonl"
    url = trust.add(path, DATA * 5000)
    trust.add_fault(path, fault, times=1)  # type: ignore[arg-type]
    with pytest.raises(RunError, match=r"interrupted|cannot reach") as info:
        load_dataset(_config(url))
    assert str(info.value).startswith(url + ": ")
    assert "\n" not in str(info.value)
    assert _cache_files(_isolated_home) == []
    assert load_dataset(_config(url), num_records=None).total_rows == 5000 * len(ROWS)


def test_tampered_cache_is_downloaded_again(trust: FileServer, _isolated_home: Path) -> None:
    url = trust.add("/https/tampered.jsonl", DATA)
    load_dataset(_config(url))
    (cached,) = [p for p in _cache_files(_isolated_home) if p.name == "tampered.jsonl"]
    cached.write_bytes(b'{"question": "forged", "answer": "x"}\n')
    dataset = load_dataset(_config(url), num_records=None)
    assert dataset.sha256 == hashlib.sha256(DATA).hexdigest()
    assert trust.gets("/https/tampered.jsonl", 200) == 2


def test_plain_http_streams_in_chunks_with_progress(tmp_path: Path) -> None:
    payload = DATA * 40_000  # ~2.6 MB: several chunks
    with FileServer(tmp_path, tls=False) as server:
        url = server.add("/big.jsonl", payload)
        seen: list[tuple[int, int | None]] = []
        result = remote.download(
            url, tmp_path / "out" / "big.jsonl", progress=lambda d, t: seen.append((d, t))
        )
    assert result.sha256 == hashlib.sha256(payload).hexdigest()
    assert result.size == len(payload) == result.path.stat().st_size
    assert result.validator and result.validator.startswith("etag:")
    assert len(seen) >= 3
    assert seen[-1] == (len(payload), len(payload))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_other_schemes_are_still_refused() -> None:
    with pytest.raises(BadInputError, match=r"^gs://b/k\.jsonl: URI scheme 'gs://' is not supported"):
        load_dataset(_config("gs://b/k.jsonl"))
