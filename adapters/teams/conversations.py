"""Where the bot can write in Teams: conversation references, kept in AdapterState so that
notices reach a chat or channel after a restart and from any process sharing the database."""

from __future__ import annotations

from typing import Any

from botbuilder.schema import Activity, ConversationReference

from storage.adapter_state import AdapterState

KIND = "teams.conversation"
THREAD_MARK = ";messageid="


def destination_of(activity: Activity) -> str:
    """The conversation's id without the reply thread, so a channel gets new posts, not
    replies in the thread where `notify here` happened to be typed."""
    return (activity.conversation.id or "").split(THREAD_MARK, 1)[0]


class ConversationReferences:
    def __init__(self, state: AdapterState) -> None:
        self.state = state

    def remember(self, reference: ConversationReference) -> str:
        """Stores the reference under its destination; writes only when it changed."""
        data: dict[str, Any] = reference.serialize()  # a copy: the activity stays as it is
        destination = (reference.conversation.id or "").split(THREAD_MARK, 1)[0]
        data["conversation"]["id"] = destination
        data.pop("activityId", None)
        if self.state.get(KIND, destination) != data:
            self.state.put(KIND, destination, data)
        return destination

    def forget(self, destination: str) -> None:
        """The bot was removed: notices there fail at once instead of being retried."""
        if self.state.get(KIND, destination) is not None:
            self.state.put(KIND, destination, {"removed": True})

    def get(self, destination: str) -> ConversationReference | None:
        data = self.state.get(KIND, destination)
        if not data or data.get("removed"):
            return None
        return ConversationReference().deserialize(data)
