"""Access tokens as Entra shapes them (v1 JWTs: `aud`, `tid`, `appid`, `roles` for app-only,
`scp` and `amr` for a user, `exp`), signed with the fake's key, and their check by Graph and
Partner Center: signature, audience, expiry by the shared test clock, revocation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

GRAPH_AUDIENCE = "https://graph.microsoft.com"
PARTNER_CENTER_AUDIENCE = "https://api.partnercenter.microsoft.com"
AUDIENCES = (GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE)
RESERVED_SCOPES = frozenset({"openid", "profile", "offline_access"})
KEY_ID = "fake-signing-key-1"


def audience_of(scope: str) -> str | None:
    """The resource a requested scope names: `https://graph.microsoft.com/.default` is Graph."""
    for audience in AUDIENCES:
        if scope.rstrip("/").startswith(audience + "/") or scope == audience:
            return audience
    return None


@dataclass
class Issued:
    """What the fake remembers of a token it issued (for revocation and tests)."""

    uti: str
    audience: str
    user: str | None
    mfa: bool
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class TokenBook:
    key: rsa.RSAPrivateKey
    issued: dict[str, Issued] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)

    def issue(
        self,
        *,
        audience: str,
        tenant_id: str,
        client_id: str,
        now: datetime,
        lifetime: timedelta,
        roles: list[str] | None = None,
        user: str | None = None,
        user_oid: str | None = None,
        mfa: bool = True,
    ) -> str:
        uti = uuid.uuid4().hex
        claims: dict[str, Any] = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{tenant_id}/",
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            "appid": client_id,
            "appidacr": "2",
            "tid": tenant_id,
            "uti": uti,
            "ver": "1.0",
        }
        if user is None:
            claims.update(idtyp="app", oid=client_id, sub=client_id, roles=sorted(roles or []))
        else:
            claims.update(
                idtyp="user",
                oid=user_oid or str(uuid.uuid4()),
                sub=user_oid or str(uuid.uuid4()),
                upn=user,
                unique_name=user,
                scp="user_impersonation",
                amr=["pwd", "mfa"] if mfa else ["pwd"],
            )
        self.issued[uti] = Issued(uti, audience, user, mfa, claims)
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KEY_ID})

    def revoke_all(self) -> None:
        self.revoked.update(self.issued)

    def check(self, authorization: str, audience: str, now: datetime) -> Issued | str:
        """The token's record, or why it is refused (Graph's wording)."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Access token is empty."
        try:
            claims = jwt.decode(
                token.strip(),
                self.key.public_key(),
                algorithms=["RS256"],
                # exp and nbf are the test clock's, not the wall clock's: checked below
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError:
            return "Access token validation failure. Invalid signature."
        issued = self.issued.get(str(claims.get("uti")))
        if issued is None:
            return "Access token validation failure. Unknown token."
        if claims.get("aud") != audience:
            return "Access token validation failure. Invalid audience."
        if issued.uti in self.revoked or int(claims["exp"]) <= int(now.timestamp()):
            return "Lifetime validation failed, the token is expired."
        return issued
