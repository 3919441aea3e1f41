"""The key material of the fake, made once per test session (RSA keys take a moment): the TLS
CA of the loopback servers, the webhook signing chains, the partner app's certificate and the
key that signs the access tokens the fake issues."""

from __future__ import annotations

import functools
import ssl
import threading
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


class Materials:
    """Made once per test session; the signing leaves (RSA keys, slow to make) on first use."""

    def __init__(self) -> None:
        self.tls_ca = trustme.CA()
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.tls_ca.issue_cert("localhost", "127.0.0.1").configure_cert(self.server_context)
        # roots need no RSA key (only the leaves sign webhooks): ECDSA is quick to make
        self.microsoft_root = trustme.CA(
            organization_name="Microsoft Corporation",
            organization_unit_name="Test Root Certificate Authority",
        )
        self.app_certificate_pem = new_app_certificate_pem()  # the partner app's credential
        self.token_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._chains: dict[str, SigningChain] = {}
        self._lock = threading.Lock()

    def ca_bundle_pem(self) -> bytes:
        """The TLS CA and the webhook signing root: what SSL_CERT_FILE trusts."""
        return self.tls_ca.cert_pem.bytes() + self.microsoft_root.cert_pem.bytes()

    def chain(self, kind: str) -> SigningChain:
        """`microsoft`: issued by the trusted O=Microsoft Corporation root; `wrong-issuer`:
        trusted (issued by the TLS CA) but no Microsoft in its Issuer; `untrusted`: claims
        O=Microsoft Corporation from a root that is not in the bundle; `expired`: the right
        chain, but its validity ended yesterday; `other-subject`: the right chain, issued to
        another host than pcnotifications-dispatch.microsoft.com."""
        with self._lock:
            if kind not in self._chains:
                if kind == "microsoft":
                    root = self.microsoft_root
                elif kind == "wrong-issuer":
                    root = self.tls_ca
                elif kind == "untrusted":
                    root = trustme.CA(
                        organization_name="Microsoft Corporation",
                        organization_unit_name="Forged Root Certificate Authority",
                    )
                elif kind == "expired":
                    yesterday = datetime.now(UTC) - timedelta(days=1)
                    self._chains[kind] = _chain(self.microsoft_root, not_after=yesterday)
                    return self._chains[kind]
                elif kind == "other-subject":
                    self._chains[kind] = _chain(self.microsoft_root, host="notifications.example")
                    return self._chains[kind]
                else:
                    raise ValueError(f"no signing chain {kind!r}")
                self._chains[kind] = _chain(root)
            return self._chains[kind]


def _chain(
    root: trustme.CA, host: str = SIGNING_HOST, not_after: datetime | None = None
) -> SigningChain:
    leaf = root.issue_cert(
        host,
        common_name=host,
        organization_name="Microsoft Corporation",
        not_before=not_after - timedelta(days=365) if not_after else None,
        not_after=not_after,
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


def new_app_certificate_pem(
    valid_from: timedelta = timedelta(days=-1), valid_until: timedelta = timedelta(days=365)
) -> str:
    """What an operator makes with `openssl req -x509` and uploads to the app registration:
    its key and certificate, valid from and until these offsets from now."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "onboarding-bot")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + valid_from)
        .not_valid_after(now + valid_until)
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
    return Materials()


def certificate_of(pem: str) -> x509.Certificate:
    start = pem.index("-----BEGIN CERTIFICATE-----")
    return x509.load_pem_x509_certificate(pem[start:].encode("ascii"))
