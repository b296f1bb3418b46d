"""A small HTTP(S) file server on loopback, with a certificate made at test time and injectable faults.

    with FileServer(tmp_path) as server:            # HTTPS; FileServer(tmp_path, tls=False) for HTTP
        server.add("/data/x.jsonl", b"...")
        server.add_fault("/data/x.jsonl", "truncate")   # or "status" (status=503), "drop", "forbid_signed"
        monkeypatch.setenv("FMOPS_CA_BUNDLE", str(server.ca_file))
        load ... server.url("/data/x.jsonl")

The certificate is signed by a throw-away CA (written to `ca_file`) for 127.0.0.1 and localhost, so a
client trusts it through a CA-bundle setting and never by turning verification off. Files carry an
ETag and answer If-None-Match with 304, as real servers do.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

FaultKind = Literal["truncate", "status", "drop", "forbid_signed"]


def make_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """Write a CA certificate and a server certificate/key for 127.0.0.1 and localhost; returns
    (ca_file, cert_file, key_file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    valid = {
        "not_valid_before": now - datetime.timedelta(minutes=5),
        "not_valid_after": now + datetime.timedelta(days=1),
    }

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fmops test CA")])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"])
        .not_valid_after(valid["not_valid_after"])
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid["not_valid_before"])
        .not_valid_after(valid["not_valid_after"])
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    directory.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return ca_file, cert_file, key_file


@dataclass
class Fault:
    """What to do to GETs of one path; `times=None`: every time, else the next N requests."""

    kind: FaultKind
    status: int = 500
    times: int | None = None


class FileServer:
    """Serves in-memory files over HTTPS (default) or HTTP on 127.0.0.1 and a free port."""

    def __init__(self, cert_dir: Path, *, tls: bool = True) -> None:
        self.tls = tls
        self.cert_dir = Path(cert_dir)
        self.ca_file = self.cert_dir / "ca.pem"
        self.files: dict[str, bytes] = {}
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------------------- set-up
    def add(self, path: str, data: bytes) -> str:
        """Serve `data` at `path`; returns its URL."""
        with self._lock:
            self.files[path] = data
        return self.url(path)

    def add_fault(self, path: str, kind: FaultKind, *, status: int = 500, times: int | None = None) -> None:
        with self._lock:
            self.faults[path] = Fault(kind, status, times)

    def url(self, path: str) -> str:
        assert self._server is not None, "start the server first"
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}{path}"

    def gets(self, path: str, status: int | None = None) -> int:
        """How many GETs of `path` were answered (with `status`, when given)."""
        with self._lock:
            return sum(
                1
                for method, p, s in self.requests
                if method == "GET" and p == path and (status is None or s == status)
            )

    # ----------------------------------------------------------------------------- lifecycle
    def __enter__(self) -> FileServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        if self.tls:
            _, cert_file, key_file = make_certificate(self.cert_dir)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert_file, key_file)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            fault = self.faults.get(path)
            if fault is None:
                return None
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    del self.faults[path]
            return fault


def _handler_for(owner: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def _serve(self, with_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            with owner._lock:
                data = owner.files.get(path)
            fault = owner._take_fault(path) if with_body else None
            if fault is not None and fault.kind == "forbid_signed":
                # A public S3 object that refuses unknown principals: 403 to signed requests only.
                fault = Fault("status", 403) if "Authorization" in self.headers else None
            if fault is not None and fault.kind == "status":
                self._send_empty(fault.status)
                return
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if data is None:
                self._send_empty(404)
                return
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("ETag", etag)
            if fault is not None and fault.kind == "truncate":
                self.send_header("Connection", "close")
            self.end_headers()
            if not with_body:
                return
            if fault is not None and fault.kind == "truncate":
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(data)

        def send_response(self, code: int, message: str | None = None) -> None:
            with owner._lock:
                owner.requests.append((self.command, self.path.split("?", 1)[0], code))
            super().send_response(code, message)

        def _send_empty(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_GET(self) -> None:
            self._serve(with_body=True)

        def do_HEAD(self) -> None:
            self._serve(with_body=False)

    return Handler
