"""A signing certificate whose issuing CA is not in the trust store, as Microsoft's is (the
certificate URL serves the leaf alone; its issuer chains to a public root): the verifier
downloads the issuing CA the leaf names in Authority Information Access, from an allowed
host only, and the chain decides. Served here by a loopback HTTPS server of the test."""

from __future__ import annotations

import base64
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import AuthorityInformationAccessOID, NameOID

from adapters.microsoft.live.webhooks import CallbackRefused, CallbackVerifier, fetch_with

NOW = datetime.now(UTC)
BODY = b'{"EventName":"test-created","ResourceUri":"x","ResourceName":"test"}'


def name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Microsoft Corporation"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def certificate(subject, issuer, key, signer, *, ca: bool, aia: str | None = None):
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
    if aia:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(aia),
                    )
                ]
            ),
            False,
        )
    return builder.sign(signer, hashes.SHA256())


class Files(BaseHTTPRequestHandler):
    files: ClassVar[dict[str, bytes]] = {}
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.asked.append(self.path)
        data = self.files.get(self.path)
        self.send_response(200 if data else 404)
        self.end_headers()
        self.wfile.write(data or b"")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def pki(cloud):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    server.socket = cloud.materials.server_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"localhost:{server.server_address[1]}"
    root_key = ec.generate_private_key(ec.SECP256R1())
    issuing_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = certificate(name("Test Root"), name("Test Root"), root_key, root_key, ca=True)
    issuing = certificate(name("Test Issuing CA"), root.subject, issuing_key, root_key, ca=True)
    leaf = certificate(
        name("pcnotifications-dispatch.microsoft.com"),
        issuing.subject,
        leaf_key,
        issuing_key,
        ca=False,
        aia=f"https://{host}/issuing.crt",
    )
    der = serialization.Encoding.DER
    Files.files = {"/leaf.cer": leaf.public_bytes(der), "/issuing.crt": issuing.public_bytes(der)}
    Files.asked = []
    yield host, root, leaf_key
    server.shutdown()


def verifier(cloud, hosts, root):
    return CallbackVerifier(
        hosts=frozenset(hosts),
        roots=[root],
        fetch=fetch_with(httpx.Client(verify=cloud.ssl_context())),
        now=lambda: datetime.now(UTC),
    )


def signed(key, host):
    signature = key.sign(BODY, padding.PKCS1v15(), hashes.SHA256())
    return {
        "Authorization": "Signature " + base64.b64encode(signature).decode(),
        "X-MS-Certificate-Url": f"https://{host}/leaf.cer",
        "X-MS-Signature-Algorithm": "rsa-sha256",
    }


def test_the_issuing_ca_is_fetched_from_an_allowed_host_and_the_chain_verified(cloud, pki):
    host, root, key = pki
    check = verifier(cloud, {host}, root)
    check.verify(signed(key, host), BODY)
    check.verify(signed(key, host), BODY)  # both cached now
    assert Files.asked == ["/leaf.cer", "/issuing.crt"]


def test_without_its_issuing_ca_the_chain_fails(cloud, pki):
    host, root, key = pki
    del Files.files["/issuing.crt"]
    with pytest.raises(CallbackRefused, match="does not chain to a trusted root"):
        verifier(cloud, {host}, root).verify(signed(key, host), BODY)
