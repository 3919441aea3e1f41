"""GDAP requests: the form with Microsoft's recommended roles pre-selected, and the admin
relationship created at Microsoft, bound to the customer's tenant, with its approval mail.

Microsoft's answer decides what the partner sees: sent (waiting for the customer), kept (it
did not answer: "waiting for Microsoft", sent again by the scheduler) or Failed with its
reason (a refusal that retrying cannot fix)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from bot import keys, labels, mails
from bot.activity import SYSTEM_ACTOR, Activity, Actor
from bot.customers import Customers, resolve
from bot.domain import GDAP_DEFAULT_DAYS, Change, GdapRequest, Onboarding, Step
from bot.errors import ProviderError, ValidationError
from bot.forms import default_gdap_name, gdap_form
from bot.gdap_roles import GLOBAL_ADMINISTRATOR_ID
from bot.history import enqueue_mail, record
from bot.ports import UnitOfWork
from bot.records import GdapRelationship, Role
from bot.schedule import RETRY_FOR, retry_delay, retry_timer
from bot.validation import clean_duration, clean_gdap_name, clean_roles, collect
from bot.views import CustomerCard, Form
from bot.wiring import Wiring


@dataclass
class GdapRequests:
    wiring: Wiring
    customers: Customers

    def form(self, reference: str, actor: Actor | None = None) -> Form:
        if actor:
            self.wiring.access.require(actor, Role.OPERATOR, "GDAP requests")
        with self.wiring.store.transaction() as uow:
            ob = resolve(uow, reference)
            ob.require(Change.REQUEST_GDAP)
            name = next(
                n
                for n in (default_gdap_name(ob, attempt) for attempt in range(1, 1000))
                if not uow.gdap_names.taken(n)
            )
        return gdap_form(ob, name)

    def request(
        self, reference: str, values: dict[str, str | list[str]], actor: Actor
    ) -> CustomerCard:
        self.wiring.access.require(actor, Role.OPERATOR, "GDAP requests")
        roles = values.get("roles") or []
        if isinstance(roles, str):
            roles = roles.replace(";", ",").split(",")
        checked = collect(
            {
                "name": (clean_gdap_name, str(values.get("name", ""))),
                "duration": (clean_duration, str(values.get("duration", GDAP_DEFAULT_DAYS))),
                "roles": (clean_roles, list(roles)),
            },
            labels.GDAP,
        )
        name, days = str(checked["name"]), cast(int, checked["duration"])
        role_ids = cast(list[str], checked["roles"])
        w = self.wiring
        if GLOBAL_ADMINISTRATOR_ID in role_ids:
            w.access.require(actor, Role.ADMIN, "a GDAP request with Global Administrator")
        now = w.clock.now()
        with w.store.transaction() as uow:
            if uow.gdap_names.taken(name):
                raise _name_taken(name)
            ob = resolve(uow, reference, for_update=True)
            ob.require(Change.REQUEST_GDAP)
            if not uow.gdap_names.claim(name, ob.id, now):  # taken a moment ago by someone else
                raise _name_taken(name)
            request = GdapRequest(name, days, list(role_ids))
            answer = self._create(ob, request)
            changes = self._settle(uow, ob, request, answer, now, actor)
        if isinstance(answer, ProviderError) and answer.permanent:
            headline = f"Microsoft refused the GDAP request: {answer}"
        elif isinstance(answer, ProviderError):
            headline = (
                f"Microsoft did not answer yet ({answer}): the GDAP request is kept and sent "
                "again automatically; the card shows when it is there."
            )
        else:
            headline = f"GDAP request sent to {ob.email} for approval."
            if not request.auto_extend:
                headline += " It will not auto-extend: Global Administrator is among the roles."
        return self.customers.after_change(ob.id, headline, changes, actor=actor)

    def resend(self, onboarding_id: str) -> list[Activity]:
        """Sends again a request Microsoft did not answer (the scheduler calls it). The live
        backend finds a relationship it created by its unique name, so a request that did
        reach Microsoft is never made twice. After a day without an answer the step Failed."""
        w = self.wiring
        now = w.clock.now()
        with w.store.transaction() as uow:
            ob = uow.onboardings.get(onboarding_id, for_update=True)
            if ob is None or not ob.is_open or ob.microsoft_wait(Step.GDAP) is None:
                return []
            request = ob.gdap
            assert request is not None
            answer = self._create(ob, request)
            return self._settle(uow, ob, request, answer, now, SYSTEM_ACTOR)

    def _create(self, ob: Onboarding, request: GdapRequest) -> GdapRelationship | ProviderError:
        """Microsoft's answer to creating the relationship: the relationship, or its refusal."""
        try:
            return self.wiring.microsoft.create_gdap_relationship(
                name=request.relationship_name,
                duration_days=request.duration_days,
                role_ids=request.role_ids,
                auto_extend=request.auto_extend,
                customer_tenant_id=ob.customer_tenant_id,
                customer_name=ob.name,
            )
        except ProviderError as err:
            return err

    def _settle(
        self,
        uow: UnitOfWork,
        ob: Onboarding,
        request: GdapRequest,
        answer: GdapRelationship | ProviderError,
        now: datetime,
        actor: Actor,
    ) -> list[Activity]:
        """Applies Microsoft's answer to a new request (first try or resend): sent with its
        approval mail, kept to be sent again, or Failed with Microsoft's reason."""
        w = self.wiring
        first = request is not ob.gdap
        if isinstance(answer, ProviderError):
            waited = now - (ob.gdap_started_at or now) if not first else timedelta(0)
            if answer.permanent:
                uow.gdap_names.release(request.relationship_name, ob.id)  # Microsoft has none
                change = ob.refuse_gdap(now, actor, request, str(answer))
            elif waited >= RETRY_FOR:  # the name stays taken: Microsoft may have it after all
                change = ob.fail_gdap(
                    now,
                    SYSTEM_ACTOR,
                    f'Microsoft did not answer the request "{request.relationship_name}" for '
                    f"{RETRY_FOR // timedelta(hours=1)} hours (last: {answer})",
                )
            elif first:
                retry_at = now + retry_delay(timedelta(0), answer.retry_after)
                change = ob.keep_gdap_request(now, actor, request, str(answer), retry_at)
            else:
                request.waiting = str(answer) or request.waiting
                uow.timers.schedule(
                    [retry_timer(ob.id, Step.GDAP, now + retry_delay(waited, answer.retry_after))]
                )
                uow.onboardings.save(ob)
                return []
        elif first:
            request.relationship_id, request.approval_url = answer.id, answer.approval_url
            request.ends_unapproved_at = answer.ends_unapproved_at
            change = ob.request_gdap(now, actor, request)
        else:
            change = ob.gdap_created(now, answer.id, answer.approval_url, answer.ends_unapproved_at)
        record(uow, ob, change, w.sync_after)
        uow.onboardings.save(ob)
        if not isinstance(answer, ProviderError):
            enqueue_mail(
                uow,
                keys.gdap_request_mail(ob.id, answer.id),
                mails.gdap_approval(ob, w.partner_name),
                now,
            )
        return [change]


def _name_taken(name: str) -> ValidationError:
    return ValidationError.for_fields(
        {
            "name": (
                f'An admin relationship named "{name}" already exists; Microsoft needs a name '
                "that is unique across all your relationships (any case)."
            )
        },
        labels.GDAP,
    )
