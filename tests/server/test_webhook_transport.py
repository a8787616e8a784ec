"""The webhook sender over TLS on loopback: the request goes to the address that was checked,
yet the certificate is checked against the URL's own name (and Host is that name)."""

from __future__ import annotations

import datetime
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from server.webhooks.models import AttemptOutcome
from server.webhooks.transport import HttpSender


def _certificate(name: str, folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for `name`, and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    hosts: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        _Handler.hosts.append(self.headers["host"])
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tls_receiver(tmp_path) -> Iterator[tuple[int, Path]]:
    """An HTTPS server on 127.0.0.1 whose certificate names `localhost`; its port and cert."""
    cert, key = _certificate("localhost", tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Handler.hosts = []
    try:
        yield server.server_address[1], cert
    finally:
        server.shutdown()
        server.server_close()


def _trusting(cert: Path) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(cert))


def test_https_goes_to_the_checked_address_and_checks_the_urls_name(tls_receiver):
    port, cert = tls_receiver
    sender = HttpSender(5, allow_private=True, verify=_trusting(cert))
    try:
        answer = sender.send(f"https://localhost:{port}/hooks", {}, "{}")
    finally:
        sender.close()
    assert answer.outcome is AttemptOutcome.SUCCEEDED, answer.error
    assert answer.status_code == 204
    assert _Handler.hosts == [f"localhost:{port}"]


def test_a_certificate_for_another_name_fails_the_attempt(tls_receiver, tmp_path):
    port, _ = tls_receiver
    other, _ = _certificate("hooks.example.com", tmp_path)
    sender = HttpSender(5, allow_private=True, verify=_trusting(other))
    try:
        answer = sender.send(f"https://localhost:{port}/hooks", {}, "{}")
    finally:
        sender.close()
    assert answer.outcome is AttemptOutcome.FAILED
    assert "CERTIFICATE_VERIFY_FAILED" in answer.error
    assert _Handler.hosts == []
