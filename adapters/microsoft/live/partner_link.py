"""`python app.py partner-link`: the one call that needs a person (App+User). A partner
user with MFA signs in with the device-code flow, the bot asks Partner Center for the
reseller-relationship link once and keeps it in the store. Nothing else is kept: msal's
token cache lives in memory and dies with the command, so no refresh token stays behind."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from adapters.microsoft.live.backend import RESELLER_LINK_KEY, STATE_KIND, KeyValue
from adapters.microsoft.live.errors import MicrosoftRefused
from adapters.microsoft.live.partner_center import PartnerCenter
from adapters.microsoft.live.tokens import PARTNER_CENTER_USER_SCOPE, MsalHttp
from bot.errors import ProviderError

AGAIN = "then run python app.py partner-link again"


def sign_in_problem(result: dict[str, Any]) -> str:
    """What Entra's refusal of the sign-in means, and what to do."""
    codes = {int(c) for c in result.get("error_codes") or [] if str(c).isdigit()}
    error = str(result.get("error") or "error")
    said = "".join(str(result.get("error_description") or "").splitlines()[0:1])[:200]
    if 7000218 in codes or "client_assertion" in said:
        return (
            "Entra refused the device-code sign-in: turn on Authentication > Allow public "
            f"client flows in the app's registration, {AGAIN} ({error}: {said})"
        )
    if codes & {50076, 50079, 50072, 900421}:
        return (
            "The sign-in needs multi-factor authentication: sign in with a user that has MFA "
            f"registered (a member of Admin agents), {AGAIN} ({error}: {said})"
        )
    if error == "expired_token" or codes & {70020}:
        return f"Nobody signed in before the code expired: {AGAIN}."
    if error in ("authorization_declined", "access_denied"):
        return f"The sign-in was declined: {AGAIN} ({error})."
    return f"Entra refused the sign-in ({error}: {said}): {AGAIN}."


def partner_link(
    *,
    tenant_id: str,
    client_id: str,
    login_url: str,
    http: httpx.Client,
    partner_center: PartnerCenter,
    state: KeyValue,
    now: Callable[[], datetime],
    out: Callable[[str], None] = print,
    configured_link: str = "",
) -> int:
    import msal

    authority = f"{login_url.rstrip('/')}/{tenant_id}"
    host = urlsplit(authority).hostname or ""
    app = msal.PublicClientApplication(
        client_id,
        authority=authority,
        http_client=MsalHttp(http),
        instance_discovery=None if host == "login.microsoftonline.com" else False,
    )
    flow = app.initiate_device_flow(scopes=[PARTNER_CENTER_USER_SCOPE])
    if "user_code" not in flow:
        out(sign_in_problem(flow))
        return 1
    out(
        str(
            flow.get("message") or f"Open {flow.get('verification_uri')}, enter {flow['user_code']}"
        )
    )
    result = app.acquire_token_by_device_flow(flow)  # waits until signed in, or the code expires
    if "access_token" not in result:
        out(sign_in_problem(result))
        return 1
    try:
        url = partner_center.relationship_request_url(
            str(result["access_token"]), partner_center.deadline(60)
        )
    except MicrosoftRefused as refused:
        if refused.said.status == 401 or refused.said.code == "900421":
            out(
                "Partner Center refused the signed-in user "
                f"({refused.said}): sign in with a user that has MFA and is an Admin agent "
                f"of your partner account, {AGAIN}."
            )
        else:
            out(f"{refused}: {AGAIN}.")
        return 1
    except ProviderError as err:
        out(f"{err}")
        return 1
    finally:
        result.clear()  # the user's tokens go no further than this call
    if not url.startswith("https://"):
        out(f"Partner Center returned no link ({url[:80]!r}): {AGAIN}.")
        return 1
    state.put(STATE_KIND, RESELLER_LINK_KEY, {"url": url, "stored_at": now().isoformat()})
    out(f"Reseller invitation link stored: {url}")
    if configured_link and configured_link != url:
        out(
            "Note: PARTNER_RESELLER_LINK is set and is sent instead; unset it to send the "
            "stored link."
        )
    return 0
