"""A row of the customer grid offers the customer card's own Finish and Cancel buttons (and
Show), as the card would for the same viewer: the row works out only those two, not every
action of the card."""

from __future__ import annotations

import pytest

from bot.domain import SYSTEM_ACTOR, Onboarding
from bot.presenters import customer_actions, row_actions
from bot.records import Role
from bot.views import ActionRole
from tests.unit.test_domain import ALICE, T0, completed, enrolled, established, transfer


def customers() -> dict[str, Onboarding]:
    pending = established()
    pending.initiate_p2p(T0, ALICE, transfer())
    failed = established()
    failed.initiate_p2p(T0, ALICE, transfer())
    failed.fail_p2p(T0, SYSTEM_ACTOR, "refused")
    finished = completed(with_p2p=True)
    finished.finish(T0, ALICE)
    cancelled = established()
    cancelled.cancel(T0, ALICE)
    return {
        "enrolled": enrolled()[0],
        "established": established(),
        "transfer pending": pending,
        "transfer failed": failed,
        "completed": completed(),
        "finished": finished,
        "cancelled": cancelled,
    }


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("state", list(customers()))
def test_a_row_offers_the_cards_finish_and_cancel(state: str, role: Role):
    ob = customers()[state]
    on_card = [
        a for a in customer_actions(ob, role) if a.role in (ActionRole.FINISH, ActionRole.CANCEL)
    ]
    show, *rest = row_actions(ob, role)
    assert (show.label, show.line, show.role) == ("Show", f"show {ob.id}", ActionRole.OPEN)
    assert rest == on_card


def test_an_admin_sees_finish_and_cancel_on_a_completed_row_and_a_viewer_neither():
    ob = completed()
    assert [a.role for a in row_actions(ob, Role.ADMIN)] == [
        ActionRole.OPEN,
        ActionRole.FINISH,
        ActionRole.CANCEL,
    ]
    assert [a.role for a in row_actions(ob, Role.VIEWER)] == [ActionRole.OPEN]
