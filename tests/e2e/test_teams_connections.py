"""Replies travel on kept connections: the bot reuses its Bot Framework clients from turn to
turn (the SDK made new ones, and a new connection, for every reply), and each reply still
goes to the connector of the conversation it answers, also when two conversations live at
two service URLs (Teams' regions)."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.teams_support import (
    PERSONAL,
    Chat,
    FakeConnector,
    TeamsClient,
    TeamsUser,
    last_card,
    serving,
    teams_world,
)

BOB = TeamsUser("29:1bob", "Bob Builder", "aad-bob-0002")
BOB_CHAT = Chat("a:1personal-bob")


async def test_replies_to_two_service_urls_each_reach_their_own_connector_on_one_connection(
    tmp_path: Path,
):
    async with teams_world(tmp_path) as w:
        other = FakeConnector()
        async with serving(other.app()) as other_url:
            other.url = other_url
            bob = TeamsClient(w.teams.bot_url, other, w.teams.session, BOB)
            for _ in range(3):
                alice_sent = await w.teams.say(PERSONAL, "help")
                bob_sent = await bob.say(BOB_CHAT, "help")
                assert [s.conversation for s in alice_sent] == [PERSONAL.id]
                assert [s.conversation for s in bob_sent] == [BOB_CHAT.id]
                assert "enroll" in last_card(alice_sent).text
                assert "enroll" in last_card(bob_sent).text
            assert len(w.connector.sent) == 3 and len(other.sent) == 3
            # three turns each, one connection each: kept, not opened per reply
            assert len(set(w.connector.peernames)) == 1, w.connector.peernames
            assert len(set(other.peernames)) == 1, other.peernames
            assert set(w.connector.peernames).isdisjoint(other.peernames)
