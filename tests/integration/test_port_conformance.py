"""Every implementation offers every method of the port it implements, as declared there, so a
port that grows a method fails here rather than in the middle of a use case."""

from __future__ import annotations

import inspect
import typing

import pytest

from adapters.clock import FixedClock, SystemClock
from adapters.hub.directory import LocalHubDirectory
from adapters.mail.graph import GraphMailer
from adapters.mail.outbox import OutboxMailer
from adapters.microsoft.live.backend import LiveMicrosoft
from adapters.microsoft.sandbox import SandboxMicrosoft
from adapters.slack.notifier import SlackNotifier
from adapters.teams.notifier import TeamsNotifier
from bot import ports
from storage.access import SqlAccess
from storage.imports import SqlBulkImports, SqlGdapNames, SqlPartners
from storage.ledger import SqlLedger
from storage.onboardings import SqlActivities, SqlOnboardings
from storage.subscriptions import SqlDigests, SqlSubscriptions
from storage.timers import SqlTimers
from storage.unit_of_work import SqlStore, SqlUnitOfWork

IMPLEMENTATIONS: list[tuple[type, type]] = [
    (ports.Store, SqlStore),
    (ports.OnboardingRepository, SqlOnboardings),
    (ports.ActivityRepository, SqlActivities),
    (ports.BulkImportRepository, SqlBulkImports),
    (ports.PartnerRepository, SqlPartners),
    (ports.GdapNameRepository, SqlGdapNames),
    (ports.AccessRepository, SqlAccess),
    (ports.DeliveryLedger, SqlLedger),
    (ports.TimerRepository, SqlTimers),
    (ports.SubscriptionRepository, SqlSubscriptions),
    (ports.DigestRepository, SqlDigests),
    (ports.Mailer, OutboxMailer),
    (ports.MailOutbox, OutboxMailer),
    (ports.StoreMailer, OutboxMailer),
    (ports.Hub, LocalHubDirectory),
    (ports.MicrosoftPartner, SandboxMicrosoft),
    (ports.MicrosoftPartner, LiveMicrosoft),
    (ports.Mailer, GraphMailer),
    (ports.CustomerSimulator, SandboxMicrosoft),
    (ports.Notifier, SlackNotifier),
    (ports.Notifier, TeamsNotifier),
    (ports.Clock, SystemClock),
    (ports.Clock, FixedClock),
]


def shape(function: object) -> list[tuple[str, object, object]]:
    parameters = inspect.signature(function).parameters.values()  # type: ignore[arg-type]
    return [(p.name, p.kind, p.default) for p in parameters]


def protocols_of_module() -> set[type]:
    return {
        value
        for value in vars(ports).values()
        if isinstance(value, type)
        and getattr(value, "_is_protocol", False)
        and value.__module__ == ports.__name__
    }


@pytest.mark.parametrize(
    ("port", "implementation"), IMPLEMENTATIONS, ids=lambda c: getattr(c, "__name__", "")
)
def test_implementation_matches_its_port(port, implementation):
    for name, declared in inspect.getmembers(port, inspect.isfunction):
        if name.startswith("_"):
            continue
        offered = getattr(implementation, name, None)
        assert offered is not None, f"{implementation.__name__} lacks {name}"
        assert shape(offered) == shape(declared), f"{implementation.__name__}.{name}"
    for name in typing.get_type_hints(port):
        if name in ("platform",):
            assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"


def test_every_port_has_an_implementation_checked_here():
    checked = {port for port, _ in IMPLEMENTATIONS} | {ports.UnitOfWork}
    assert protocols_of_module() <= checked, protocols_of_module() - checked


def test_the_unit_of_work_offers_every_repository_the_port_names(store):
    with store.transaction() as uow:
        assert isinstance(uow, SqlUnitOfWork)
        for name, declared in typing.get_type_hints(ports.UnitOfWork).items():
            repository = getattr(uow, name)
            implementation = dict(IMPLEMENTATIONS_BY_PORT)[declared]
            assert isinstance(repository, implementation), name


IMPLEMENTATIONS_BY_PORT = [
    (p, i) for p, i in IMPLEMENTATIONS if p.__name__.endswith(("Repository", "Ledger"))
]
