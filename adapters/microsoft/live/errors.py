"""Microsoft's refusals in words a partner engineer can act on: what Microsoft said (its
code and message, from Graph's OData envelope or Partner Center's `{code, description}`),
what it means, and what fixes it. Throttling and outages are not here: `http.py` retries
those and reports them as "did not answer in time"."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from bot.errors import ProviderError

DOCTOR = "run python app.py doctor"
# "Partner Customer Delegated Administration": GDAP calls need it in the partner tenant.
PARTNER_DELEGATED_ADMIN_APP_ID = "2832473f-ec63-45fb-976f-5d45a7d4bb91"
CREDENTIALS = (
    "check PARTNER_TENANT_ID, PARTNER_CLIENT_ID and PARTNER_CLIENT_CERTIFICATE or "
    "PARTNER_CLIENT_SECRET"
)

# Partner Center error codes (developer/error-codes), for transfers and customers: the
# sentence, and whether trying again later can help.
_PARTNER_CENTER_CODES: dict[str, tuple[str, bool]] = {
    "20002": (
        "Partner Center says this customer has no reseller relationship with you yet: the "
        "customer must accept the reseller invitation first",
        False,
    ),
    "900100": ("Partner Center does not know this customer or transfer", False),
    "900101": (
        "another transfer of this customer is already in progress: let it finish, or cancel "
        "it in Partner Center, then initiate the transfer again",
        False,
    ),
    "900104": ("Partner Center is still processing this transfer", True),
    "900135": ("Partner Center asked to try again later", True),
    "900136": (
        "Partner Center is missing the current partner's email or domain details: check the "
        "Current Partner Microsoft ID and email, then initiate the transfer again",
        False,
    ),
    "900137": (
        "your partner account is not enabled for partner-to-partner transfers: enable it in "
        "Partner Center (or ask Microsoft support), then initiate the transfer again",
        False,
    ),
    "900147": (
        "Partner Center needs a valid domain of the current partner: check the Current "
        "Partner Microsoft ID and email, then initiate the transfer again",
        False,
    ),
    "900148": (
        "the Current Partner Microsoft ID is your own tenant: enter the current (source) "
        "partner's tenant id, then initiate the transfer again",
        False,
    ),
    "900421": (
        "Partner Center needs a sign-in with multi-factor authentication: sign in with a user "
        "that has MFA and run python app.py partner-link again",
        False,
    ),
}


class MicrosoftRefused(ProviderError):
    """A refusal with what Microsoft said, so a caller can tell one from another (a 409 for
    a transfer already in progress, say) without reading the sentence."""

    def __init__(self, message: str, said: Said, *, permanent: bool = True) -> None:
        super().__init__(message, permanent=permanent)
        self.said = said


@dataclass(frozen=True)
class Said:
    """What Microsoft's error body says."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        parts = [str(self.status)]
        if self.code and self.code != str(self.status):
            parts.append(f"{self.code}:")
        if self.message:
            parts.append(self.message)
        return " ".join(parts).rstrip(":")


def said(response: httpx.Response) -> Said:
    """Graph: {"error": {"code", "message"}}; Partner Center: {"code", "description"} (or
    {"statusCode", "message"} when throttled). Anything else: the start of the text."""
    code, message = "", ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code, message = str(error.get("code") or ""), str(error.get("message") or "")
        elif isinstance(error, str):
            code, message = error, str(body.get("error_description") or "")
        else:
            code = str(body.get("code") or body.get("errorCode") or "")
            message = str(body.get("description") or body.get("message") or "")
    elif response.text:
        message = response.text
    message = " ".join(message.split())[:300]
    return Said(response.status_code, code.strip(), message)


def refusal(service: str, method: str, path: str, response: httpx.Response) -> ProviderError:
    """The ProviderError for an answer that is neither success, throttling nor an outage."""
    what = said(response)
    status = what.status
    known = _PARTNER_CENTER_CODES.get(what.code)
    if known:
        sentence, transient = known
        return MicrosoftRefused(
            f"{_capital(sentence)} ({service}: {what})", what, permanent=not transient
        )
    if status == 401:
        extra = (
            " (and that the app is registered in Partner Center: Account settings > App management)"
            if "Partner Center" in service
            else ""
        )
        return MicrosoftRefused(
            f"Microsoft refused the app's credentials ({service}: {what}): {CREDENTIALS}"
            f"{extra}; {DOCTOR}",
            what,
        )
    if status == 403:
        return MicrosoftRefused(f"{_forbidden(service, path, what)} ({service}: {what})", what)
    if status == 412:
        return MicrosoftRefused(
            f"{service} says the record changed meanwhile ({what}): the bot will read it again",
            what,
            permanent=False,
        )
    if status == 404:
        return MicrosoftRefused(
            f"{service} has no such record ({method} {path.split('?')[0]}: {what})", what
        )
    return MicrosoftRefused(
        f"{service} refused the request ({method} {path.split('?')[0]}: {what})", what
    )


def _forbidden(service: str, path: str, what: Said) -> str:
    text = f"{what.code} {what.message}".lower()
    if "findtenantinformation" in path.lower():
        return (
            "The app may not look up tenants: grant it the Microsoft Graph application "
            "permission CrossTenantInformation.ReadBasic.All (admin consent); " + DOCTOR
        )
    if "delegatedadmin" in path.lower():
        if "service principal" in text or PARTNER_DELEGATED_ADMIN_APP_ID in text:
            return (
                "The Partner Customer Delegated Administration service principal is missing "
                "in your tenant: " + DOCTOR
            )
        return (
            "Microsoft Graph refused GDAP: the app lacks the application permission "
            "DelegatedAdminRelationship.ReadWrite.All (with admin consent), or the Partner "
            "Customer Delegated Administration service principal is missing in your tenant: "
            + DOCTOR
        )
    if "/groups/" in path.lower():
        return "The app may not read groups: grant it GroupMember.Read.All or Group.Read.All"
    return f"{service} refused the app: check its permissions; {DOCTOR}"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
