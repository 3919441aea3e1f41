"""The key material of the fake, made once per test session (RSA keys take a moment): the TLS
CA of the loopback servers, the webhook signing chains, the partner app's certificate and the
key that signs the access tokens the fake issues."""

from __future__ import annotations

import functools
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SIGNING_HOST = "pcnotifications-dispatch.microsoft.com"
RSA = trustme.KeyType.RSA


@dataclass(frozen=True)
class SigningChain:
    """A webhook signing leaf with its key, and the root that issued it."""

    leaf_der: bytes
    leaf_key: rsa.RSAPrivateKey
    root_pem: bytes


@dataclass(frozen=True)
class Materials:
    tls_ca: trustme.CA
    server_context: ssl.SSLContext
    microsoft_chain: SigningChain  # root O=Microsoft Corporation, trusted through ca_bundle
    wrong_issuer_chain: SigningChain  # trusted, but issued by the TLS CA (no Microsoft in Issuer)
    untrusted_chain: SigningChain  # says O=Microsoft Corporation, root not in ca_bundle
    app_certificate_pem: str  # the partner app's credential: private key + certificate
    token_key: rsa.RSAPrivateKey  # signs the fake's access and id tokens

    def ca_bundle_pem(self) -> bytes:
        return self.tls_ca.cert_pem.bytes() + self.microsoft_chain.root_pem


def _chain(root: trustme.CA) -> SigningChain:
    leaf = root.issue_cert(
        SIGNING_HOST,
        common_name=SIGNING_HOST,
        organization_name="Microsoft Corporation",
        key_type=RSA,
    )
    cert = x509.load_pem_x509_certificate(leaf.cert_chain_pems[0].bytes())
    key = serialization.load_pem_private_key(leaf.private_key_pem.bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return SigningChain(
        leaf_der=cert.public_bytes(serialization.Encoding.DER),
        leaf_key=key,
        root_pem=root.cert_pem.bytes(),
    )


def new_app_certificate_pem() -> str:
    """What an operator makes with `openssl req -x509` and uploads to the app registration."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "onboarding-bot")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return (key_pem + cert.public_bytes(serialization.Encoding.PEM)).decode("ascii")


@functools.cache
def materials() -> Materials:
    tls_ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    return Materials(
        tls_ca=tls_ca,
        server_context=server_context,
        microsoft_chain=_chain(
            trustme.CA(
                organization_name="Microsoft Corporation",
                organization_unit_name="Test Root Certificate Authority",
                key_type=RSA,
            )
        ),
        wrong_issuer_chain=_chain(tls_ca),
        untrusted_chain=_chain(
            trustme.CA(
                organization_name="Microsoft Corporation",
                organization_unit_name="Forged Root Certificate Authority",
                key_type=RSA,
            )
        ),
        app_certificate_pem=new_app_certificate_pem(),
        token_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )


def certificate_of(pem: str) -> x509.Certificate:
    start = pem.index("-----BEGIN CERTIFICATE-----")
    return x509.load_pem_x509_certificate(pem[start:].encode("ascii"))
