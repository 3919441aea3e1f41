"""The adapter that sends the bot's replies: the SDK's `CloudAdapter`, handing each Adaptive
Card's JSON to msrest to send as it is.

The SDK's connector client writes an activity with msrest, which walks an attachment's
content as a "generic object", node by node, copying every dict, list and string of it: 3 to
5 ms for a dashboard's 10 KB card, on every reply. A card is JSON already, so the adapter
gives msrest the card's content as a model whose additional properties are the card: msrest
sends a model's additional properties as they are (one `dict.update`, what its
`Model.enable_additional_properties_sending` is for), and `json` then writes the body as
before. The activity the bot made is not changed; only the copy that is sent holds the model.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar

from botbuilder.core import CardFactory, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, Attachment, ResourceResponse
from msrest.serialization import Model

CARD_TYPE = CardFactory.content_types.adaptive_card


class CardJson(Model):
    """An Adaptive Card's JSON (dicts, lists, strings, numbers, booleans, None), which msrest
    sends as it is."""

    # msrest declares it as an instance attribute, but reads it per class, as here
    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {  # type: ignore[misc]
        "additional_properties": {"key": "", "type": "{object}"},
    }

    def __init__(self, content: dict[str, Any]) -> None:
        super().__init__()
        self.additional_properties = content


def _is_card(attachment: Attachment) -> bool:
    return attachment.content_type == CARD_TYPE and type(attachment.content) is dict


def with_card_json(activity: Activity) -> Activity:
    """`activity`, or a copy of it whose Adaptive Cards msrest sends as they are (the
    activity itself and its attachments stay as they are)."""
    attachments = activity.attachments or []
    if not any(_is_card(a) for a in attachments):
        return activity
    sent = copy.copy(activity)
    sent.attachments = [_card_json(a) if _is_card(a) else a for a in attachments]
    return sent


def _card_json(attachment: Attachment) -> Attachment:
    sent = copy.copy(attachment)
    sent.content = CardJson(attachment.content)
    return sent


class TeamsAdapter(CloudAdapter):
    """`CloudAdapter`, sending and updating activities with their cards' JSON as it is."""

    async def send_activities(
        self, context: TurnContext, activities: list[Activity]
    ) -> list[ResourceResponse]:
        return await super().send_activities(context, [with_card_json(a) for a in activities])

    async def update_activity(self, context: TurnContext, activity: Activity) -> Any:
        return await super().update_activity(context, with_card_json(activity))
