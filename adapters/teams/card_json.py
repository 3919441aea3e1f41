"""An Adaptive Card's JSON in an activity, sent as it is: neither copied node by node by
msrest when the SDK writes the activity, nor deep-copied by the SDK before it sends it.

The SDK writes an activity with msrest, which walks an attachment's content as a "generic
object", copying every dict, list and string of it (3 to 5 ms for a dashboard's 10 KB card),
and `TurnContext` deep-copies every activity it sends (0.5 ms more for the same card). A card
is JSON already and is not changed once it is in an activity, so the activity holds it as a
`CardJson`: a model whose additional properties are the card, which msrest sends as they are
(one `dict.update`, what its `Model.enable_additional_properties_sending` is for), and which a
deep copy shares instead of copying. `json` then writes the body as before.
"""

from __future__ import annotations

from typing import Any, ClassVar

from botbuilder.core import CardFactory
from botbuilder.schema import Attachment
from msrest.serialization import Model


class CardJson(Model):
    """An Adaptive Card's JSON (dicts, lists, strings, numbers, booleans, None), which msrest
    sends as it is and a deep copy shares."""

    # msrest declares it as an instance attribute, but reads it per class, as here
    _attribute_map: ClassVar[dict[str, dict[str, str]]] = {  # type: ignore[misc]
        "additional_properties": {"key": "", "type": "{object}"},
    }

    def __init__(self, card: dict[str, Any]) -> None:
        super().__init__()
        self.additional_properties = card

    @property
    def card(self) -> dict[str, Any]:
        return self.additional_properties

    def __deepcopy__(self, memo: dict[int, Any]) -> CardJson:
        return self  # never changed once in an activity: the SDK's copy may share it


def card_attachment(card: dict[str, Any]) -> Attachment:
    """The attachment that carries `card`: `CardFactory.adaptive_card`'s, its content kept as
    `CardJson`."""
    attachment = CardFactory.adaptive_card(card)
    attachment.content = CardJson(card)
    return attachment
