"""The service on the embedded parts (sandbox Microsoft, outbox mail, local MSP Hub) over a
real engine, as the integration tests and benchmarks build it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from adapters.hub.directory import LocalHubDirectory
from adapters.mail.outbox import OutboxMailer
from adapters.microsoft.sandbox import SandboxMicrosoft
from bot.ports import Clock
from bot.service import OnboardingService
from storage.adapter_state import AdapterState
from storage.unit_of_work import SqlStore
from tests.refusing_microsoft import RefusingMicrosoft

PARTNER_ID = "11111111-2222-4333-8444-555555555555"


def sandboxed_service(
    engine: Engine, clock: Clock, *, partner_id: str = PARTNER_ID, **options: Any
) -> OnboardingService:
    """`options` are `OnboardingService`'s own (partner_name, notifiers, bootstrap_admins, …)."""
    sandbox = SandboxMicrosoft(AdapterState(engine), clock, partner_id)
    outbox = OutboxMailer(engine, clock)
    return OnboardingService(
        SqlStore(engine),
        sandbox,
        outbox,
        LocalHubDirectory(engine),
        clock,
        simulator=sandbox,
        outbox=outbox,
        **options,
    )


def refusing_service(
    engine: Engine, clock: Clock, *, partner_id: str = PARTNER_ID, **options: Any
) -> tuple[OnboardingService, RefusingMicrosoft]:
    """The sandboxed service, its Microsoft side wrapped in a double that refuses on demand
    (see `tests.refusing_microsoft`); `sandbox ...` still plays the customer."""
    sandbox = SandboxMicrosoft(AdapterState(engine), clock, partner_id)
    microsoft = RefusingMicrosoft(sandbox)
    outbox = OutboxMailer(engine, clock)
    service = OnboardingService(
        SqlStore(engine),
        microsoft,
        outbox,
        LocalHubDirectory(engine),
        clock,
        simulator=sandbox,
        outbox=outbox,
        **options,
    )
    return service, microsoft
