"""A Partner Center webhook callback: proven to come from Microsoft before anything in it is
believed, then read for what to re-read (never for what it claims).

`CallbackVerifier.verify` follows Microsoft's own sample (developer/partner-center-webhooks,
`AuthorizeSignatureAttribute`; reference §6.4) and hardens it: the certificate is fetched
only over HTTPS from PARTNER_CENTER_WEBHOOK_CERT_HOSTS (never from any URL a request names),
cached by URL, its chain verified against the trust store (SSL_CERT_FILE's bundle, else
certifi's) at the current time, its issuer Microsoft's, and the RSA-SHA256 (PKCS#1 v1.5)
signature checked over the exact body bytes (once more without a UTF-8 BOM).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.records import MicrosoftEvent, MicrosoftEventKind

log = logging.getLogger("onboarding.webhooks")

MICROSOFT_ISSUER = "Microsoft Corporation"
SIGNING_NAME = "pcnotifications-dispatch.microsoft.com"  # the signer Microsoft's docs show
# Where a signing certificate's issuing CAs may be downloaded from (its Authority Information
# Access), besides PARTNER_CENTER_WEBHOOK_CERT_HOSTS: Microsoft's and DigiCert's PKI hosts.
CA_ISSUER_HOSTS = frozenset(
    {"www.microsoft.com", "caissuers.microsoft.com", "cacerts.digicert.com"}
)
MAX_ISSUERS = 3
MAX_CERTIFICATE_BYTES = 64 * 1024
BOM = b"\xef\xbb\xbf"

CUSTOMER_EVENTS = frozenset(
    {
        "reseller-relationship-accepted-by-customer",
        "indirect-reseller-relationship-accepted-by-customer",
    }
)
GDAP_EVENTS = frozenset(
    {
        "granular-admin-relationship-approved",
        "granular-admin-relationship-activated",
        "granular-admin-relationship-expired",
        "granular-admin-relationship-terminated",
    }
)
ACCESS_EVENTS = frozenset(
    {
        "granular-admin-access-assignment-created",
        "granular-admin-access-assignment-activated",
        "granular-admin-access-assignment-updated",
        "granular-admin-access-assignment-deleted",
    }
)
TRANSFER_EVENTS = frozenset({"create-transfer", "complete-transfer", "fail-transfer"})
TEST_EVENT = "test-created"
# What `webhooks register` subscribes to, in this order (those Partner Center offers).
OUR_EVENTS: tuple[str, ...] = (
    "reseller-relationship-accepted-by-customer",
    "indirect-reseller-relationship-accepted-by-customer",
    "granular-admin-relationship-approved",
    "granular-admin-relationship-activated",
    "granular-admin-relationship-expired",
    "granular-admin-relationship-terminated",
    "granular-admin-access-assignment-created",
    "granular-admin-access-assignment-activated",
    "granular-admin-access-assignment-updated",
    "granular-admin-access-assignment-deleted",
    "create-transfer",
    "complete-transfer",
    "fail-transfer",
    TEST_EVENT,
)


class CallbackRefused(Exception):
    """Not a callback from Microsoft (or not one to act on): the HTTP status to answer, and
    why, for the log (never the body, never the signature)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- which hosts, which roots ---------------------------------------------------------------


def allowed_hosts(setting: str) -> frozenset[str]:
    """PARTNER_CENTER_WEBHOOK_CERT_HOSTS: comma-separated `host` or `host:port` entries."""
    return frozenset(h.strip().lower() for h in setting.split(",") if h.strip())


def host_allowed(url: str, hosts: Iterable[str]) -> bool:
    """HTTPS, no user info, and the host (with its port when the entry names one; the
    default port otherwise) on the list."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username or parts.password or not parts.hostname:
        return False
    host = parts.hostname.lower()
    for entry in hosts:
        name, _, entry_port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        if entry_port:
            if host == name and port == int(entry_port):
                return True
        elif host == entry and port in (None, 443):
            return True
    return False


def trust_roots() -> list[object]:
    """The trust store: the PEM bundle at SSL_CERT_FILE when set, else certifi's."""
    from cryptography import x509

    path = os.environ.get("SSL_CERT_FILE", "").strip()
    if not path:
        import certifi

        path = certifi.where()
    return list(x509.load_pem_x509_certificates(Path(path).read_bytes()))


def fetch_with(http: object) -> Callable[[str], bytes]:
    """Downloads a certificate with an httpx.Client: no redirects, at most 64 KiB, 5 s."""
    import httpx

    assert isinstance(http, httpx.Client)

    def fetch(url: str) -> bytes:
        with http.stream("GET", url, timeout=5.0, follow_redirects=False) as response:
            if response.status_code != 200:
                raise CallbackRefused(401, f"the certificate URL answered {response.status_code}")
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > MAX_CERTIFICATE_BYTES:
                    raise CallbackRefused(401, "the certificate is larger than 64 KiB")
            return data

    return fetch


# -- verifying ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Signed:
    signature: bytes
    certificate_url: str


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value.strip()
    return ""


def read_signature_headers(headers: Mapping[str, str]) -> _Signed:
    """Step 1 and 2 of Microsoft's sample, with its answers: 401 without a signature, 400
    without the certificate URL or the algorithm."""
    authorization = _header(headers, "authorization")
    ms_signature = _header(headers, "x-ms-signature")
    scheme, _, parameter = authorization.partition(" ")
    parameter = parameter.strip()
    if not parameter and not ms_signature:
        raise CallbackRefused(401, "no signature (neither Authorization nor x-ms-signature)")
    is_signature = scheme.lower() == "signature" and bool(parameter)
    if not is_signature and not ms_signature.lower().startswith("signature"):
        raise CallbackRefused(401, "the Authorization scheme is not Signature")
    certificate_url = _header(headers, "x-ms-certificate-url")
    algorithm = _header(headers, "x-ms-signature-algorithm")
    if not certificate_url:
        raise CallbackRefused(400, "no X-MS-Certificate-Url header")
    if not algorithm:
        raise CallbackRefused(400, "no X-MS-Signature-Algorithm header")
    kind, _, digest = algorithm.partition("-")
    if kind.lower() != "rsa" or digest.lower() != "sha256":
        raise CallbackRefused(401, f"unsupported signature algorithm {algorithm[:20]!r}")
    value = parameter if is_signature else ms_signature.partition(" ")[2].strip()
    try:
        signature = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CallbackRefused(401, "the signature is not base64") from None
    if not signature:
        raise CallbackRefused(401, "the signature is empty")
    return _Signed(signature, certificate_url)


class CallbackVerifier:
    def __init__(
        self,
        *,
        hosts: frozenset[str],
        roots: list[object],
        fetch: Callable[[str], bytes],
        now: Callable[[], datetime],
    ) -> None:
        self.hosts = hosts
        self.roots = roots
        self.fetch = fetch
        self.now = now
        self._certificates: dict[str, list[object]] = {}
        self._lock = threading.Lock()

    def verify(self, headers: Mapping[str, str], body: bytes) -> None:
        """Returns when the callback is Microsoft's; raises CallbackRefused otherwise."""
        signed = read_signature_headers(headers)
        if not host_allowed(signed.certificate_url, self.hosts):
            raise CallbackRefused(
                401,
                f"certificate URL host not allowed ({_host_of(signed.certificate_url)}; "
                "PARTNER_CENTER_WEBHOOK_CERT_HOSTS): nothing fetched",
            )
        leaf = self._verified_leaf(signed.certificate_url)
        _check_signature(leaf, signed.signature, body)

    def _verified_leaf(self, url: str) -> object:
        """The certificate at `url`, its chain verified now: from the cache when it is
        there and still valid, else downloaded (once more when the cached one fails)."""
        with self._lock:
            cached = self._certificates.get(url)
        if cached is not None:
            try:
                return self._chain_checked(cached)
            except CallbackRefused:
                with self._lock:
                    self._certificates.pop(url, None)
        try:
            certificates = _load_certificates(self.fetch(url))
        except CallbackRefused:
            raise
        except Exception as err:  # network, TLS: not Microsoft's certificate as far as we know
            raise CallbackRefused(
                401, f"cannot fetch the certificate ({type(err).__name__})"
            ) from None
        chain = self._with_issuers(certificates)
        leaf = self._chain_checked(chain)
        _note_subject(leaf, url)
        with self._lock:
            self._certificates[url] = chain
        return leaf

    def _with_issuers(self, certificates: list[object]) -> list[object]:
        """The certificates and the issuing CAs they name in Authority Information Access
        that neither they nor the trust store hold: Partner Center's URL serves the leaf
        alone, and its issuing CA is not a root (X509Certificate2.Verify fetches it the same
        way on Windows). Only from CA_ISSUER_HOSTS or the allowed hosts; what is fetched
        proves nothing by itself, the chain verification decides."""
        from cryptography import x509

        found = list(certificates)
        root_subjects = {r.subject for r in self.roots if isinstance(r, x509.Certificate)}
        for _ in range(MAX_ISSUERS):
            last = found[-1]
            assert isinstance(last, x509.Certificate)
            held = {c.subject for c in found if isinstance(c, x509.Certificate)}
            if last.issuer in root_subjects or last.issuer == last.subject:
                break
            issuer = next(
                (c for c in self._issuer_urls(last) if c is not None and c.subject == last.issuer),
                None,
            )
            if issuer is None or issuer.subject in held:
                break
            found.append(issuer)
        return found

    def _issuer_urls(self, certificate: object) -> Iterator[Any]:
        from cryptography import x509
        from cryptography.x509.oid import AuthorityInformationAccessOID

        assert isinstance(certificate, x509.Certificate)
        try:
            access = certificate.extensions.get_extension_for_class(
                x509.AuthorityInformationAccess
            ).value
        except x509.ExtensionNotFound:
            return
        for description in access:
            if description.access_method != AuthorityInformationAccessOID.CA_ISSUERS:
                continue
            url = str(description.access_location.value)
            if not self._issuer_host_allowed(url):
                log.info("not fetching the issuing CA from %s: host not allowed", url[:120])
                continue
            try:
                yield _load_certificates(self.fetch(url))[0]
            except Exception as err:  # the chain check then says what is missing
                log.info("cannot fetch the issuing CA at %s (%s)", url[:120], type(err).__name__)

    def _issuer_host_allowed(self, url: str) -> bool:
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or parts.username or not parts.hostname:
            return False
        if parts.hostname.lower() in CA_ISSUER_HOSTS:
            return True
        return parts.scheme == "https" and host_allowed(url, self.hosts)

    def _chain_checked(self, certificates: list[object]) -> object:
        from cryptography import x509
        from cryptography.x509 import verification

        leaf, *intermediates = certificates
        assert isinstance(leaf, x509.Certificate)
        now = self.now()
        if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
            raise CallbackRefused(401, "the signing certificate is not valid now")
        roots = [r for r in self.roots if isinstance(r, x509.Certificate)]
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(roots))
            .time(now)
            .extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                # The leaf is whatever Microsoft signs callbacks with (its name and key
                # usages are not documented): its chain and issuer are what is checked.
                ee_policy=verification.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        try:
            verifier.verify(leaf, [c for c in intermediates if isinstance(c, x509.Certificate)])
        except verification.VerificationError as err:
            raise CallbackRefused(
                401, f"the signing certificate does not chain to a trusted root ({err})"[:200]
            ) from None
        organisations = [
            str(a.value) for a in leaf.issuer.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
        ]
        if MICROSOFT_ISSUER not in organisations:
            raise CallbackRefused(
                401, f"the signing certificate's issuer is not {MICROSOFT_ISSUER}"
            )
        return leaf


def _note_subject(leaf: object, url: str) -> None:
    """Whether Microsoft still signs as pcnotifications-dispatch.microsoft.com is not
    documented (reference §10.6): another name is accepted (chain and issuer decide) and
    logged once per certificate, so an operator can see what Microsoft uses today."""
    from cryptography import x509

    assert isinstance(leaf, x509.Certificate)
    names = [str(a.value) for a in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names += san.value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        pass
    if SIGNING_NAME not in names:
        log.warning(
            "Partner Center webhook certificate %s is issued to %s, not %s (accepted: its "
            "chain and issuer are Microsoft's)",
            url[:120],
            ", ".join(names)[:120] or "no name",
            SIGNING_NAME,
        )


def _load_certificates(data: bytes) -> list[object]:
    from cryptography import x509

    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            found: list[object] = list(x509.load_pem_x509_certificates(data))
        else:
            found = [x509.load_der_x509_certificate(data)]
    except ValueError:
        raise CallbackRefused(401, "the certificate URL holds no X.509 certificate") from None
    return found


def _check_signature(leaf: object, signature: bytes, body: bytes) -> None:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    assert isinstance(leaf, x509.Certificate)
    key = leaf.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise CallbackRefused(401, "the signing certificate has no RSA key")
    bodies = [body] + ([body[len(BOM) :]] if body.startswith(BOM) else [])
    for candidate in bodies:
        try:
            key.verify(signature, candidate, padding.PKCS1v15(), hashes.SHA256())
            return
        except InvalidSignature:
            continue
    raise CallbackRefused(401, "the signature does not match the body")


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).netloc or "no host")[:80]
    except ValueError:
        return "no host"


# -- reading the event ----------------------------------------------------------------------


@dataclass(frozen=True)
class Callback:
    """A verified event: its name, what it points at, and the key replays share."""

    name: str
    resource_uri: str
    audit_uri: str
    changed: str
    event: MicrosoftEvent | None  # None: nothing for the bot to re-read (test-created, …)

    @property
    def replay_key(self) -> str:
        """(EventName, ResourceUri, AuditUri, ResourceChangeUtcDate): one delivery."""
        return "\n".join((self.name, self.resource_uri, self.audit_uri, self.changed))


_RELATIONSHIP = re.compile(r"granularAdminRelationships/([^/?#]+)", re.IGNORECASE)


def read_callback(body: bytes) -> Callback:
    """The event envelope (reference §6.3): AuditUri or AuditUrl, ids from the URIs."""
    try:
        data = json.loads(body[len(BOM) :] if body.startswith(BOM) else body)
    except (ValueError, UnicodeDecodeError):
        raise CallbackRefused(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise CallbackRefused(400, "the body is not an event object")
    name = str(data.get("EventName") or "").strip()
    resource = str(data.get("ResourceUri") or "").strip()
    audit = str(data.get("AuditUri") or data.get("AuditUrl") or "").strip()
    changed = str(data.get("ResourceChangeUtcDate") or "").strip()
    if not name:
        raise CallbackRefused(400, "the event has no EventName")
    return Callback(name, resource, audit, changed, _event(name.lower(), resource, audit))


def _last_segment(uri: str) -> str | None:
    path = urlsplit(uri).path.rstrip("/")
    last = path.rsplit("/", 1)[-1] if path else ""
    return last or None


def _event(name: str, resource: str, audit: str) -> MicrosoftEvent | None:
    if name in CUSTOMER_EVENTS:
        return MicrosoftEvent(MicrosoftEventKind.CUSTOMER, tenant_id=_last_segment(resource))
    if name in GDAP_EVENTS or name in ACCESS_EVENTS:
        found = _RELATIONSHIP.search(resource)
        kind = MicrosoftEventKind.GDAP if name in GDAP_EVENTS else MicrosoftEventKind.ACCESS
        return MicrosoftEvent(kind, relationship_id=found.group(1) if found else None)
    if name in TRANSFER_EVENTS:
        # ResourceUri is the customer ({base}/v1/customers/{c}); the AuditUri's last segment
        # is {partner}_{customer}_{transfer}_{operation}_{ticks}.
        parts = (_last_segment(audit) or "").split("_")
        return MicrosoftEvent(
            MicrosoftEventKind.TRANSFER,
            tenant_id=_last_segment(resource),
            transfer_id=parts[2] if len(parts) > 2 and parts[2] else None,
        )
    return None
