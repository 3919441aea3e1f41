"""The live backend's parts, built once from the settings by `app.py`: the partner app's
tokens, one HTTPS client per service (HTTP/1.1 keep-alive; SSL_CERT_FILE honoured), the
port, and the webhook receiver's verifier."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import httpx

from adapters.microsoft.live.backend import KeyValue, LiveMicrosoft
from adapters.microsoft.live.graph import Graph
from adapters.microsoft.live.http import MicrosoftApi, RetryPolicy
from adapters.microsoft.live.partner_center import PartnerCenter
from adapters.microsoft.live.tokens import GRAPH_SCOPE, PARTNER_CENTER_SCOPE, AppTokens, app_tokens
from adapters.microsoft.live.webhooks import (
    CallbackVerifier,
    allowed_hosts,
    fetch_with,
    trust_roots,
)

if TYPE_CHECKING:
    from settings import Settings

WEBHOOK_REPLAY_WINDOW = timedelta(days=7)  # Partner Center retries, then queues, for days


@dataclass
class LiveParts:
    tokens: AppTokens
    graph: Graph
    partner_center: PartnerCenter
    backend: LiveMicrosoft
    login_http: httpx.Client


def _client() -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(10.0, connect=5.0),
        limits=httpx.Limits(max_keepalive_connections=5, keepalive_expiry=60),
        headers={"User-Agent": "onboarding-bot"},
    )


def build_live(settings: Settings, state: KeyValue, policy: RetryPolicy | None = None) -> LiveParts:
    login_http = _client()
    tokens = app_tokens(settings, login_http)
    policy = policy or RetryPolicy(budget_seconds=settings.microsoft_time_budget_seconds)
    graph = Graph(
        MicrosoftApi(
            name="Microsoft Graph",
            base_url=settings.graph_url,
            token=tokens.scoped(GRAPH_SCOPE),
            http=_client(),
            policy=policy,
        )
    )
    partner_center = PartnerCenter(
        MicrosoftApi(
            name="Partner Center",
            base_url=settings.partner_center_url,
            token=tokens.scoped(PARTNER_CENTER_SCOPE),
            http=_client(),
            policy=policy,
            partner_center=True,
        )
    )
    backend = LiveMicrosoft(
        graph,
        partner_center,
        state,
        reseller_link=settings.partner_reseller_link,
        transfer_type=settings.p2p_transfer_type,
    )
    return LiveParts(tokens, graph, partner_center, backend, login_http)


def callback_verifier(settings: Settings) -> CallbackVerifier:
    """Certificates are checked against real time, whatever clock the bot runs on."""
    return CallbackVerifier(
        hosts=allowed_hosts(settings.partner_center_webhook_cert_hosts),
        roots=trust_roots(),
        fetch=fetch_with(_client()),
        now=lambda: datetime.now(UTC),
    )
