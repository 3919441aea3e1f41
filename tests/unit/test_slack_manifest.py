"""`manifest.yml` creates the Slack app the code needs: the command and its usage from the
one command table, one URL for everything, the App Home, and exactly the scopes of the Web
API methods the adapter calls."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.manifest import (
    CLIENT_HELPERS,
    COMMAND,
    DESCRIPTION,
    METHOD_SCOPES,
    bot_scopes,
    usage_hint,
)
from bot.commands import COMMANDS

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text("utf-8"))
EVENTS_PATH = "/slack/events"


def test_the_slash_command_matches_the_command_table():
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["description"] == DESCRIPTION
    assert command["usage_hint"] == usage_hint()
    assert command["usage_hint"].split(" | ") == [c.name for c in COMMANDS if not c.sandbox_only]
    assert len(command["usage_hint"]) <= 1000 and len(command["description"]) <= 2000
    assert command["should_escape"] is False  # the bot escapes user text itself


def test_one_url_serves_commands_interactivity_options_and_events():
    settings = MANIFEST["settings"]
    urls = [
        MANIFEST["features"]["slash_commands"][0]["url"],
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    assert all(url.startswith("https://") and url.endswith(EVENTS_PATH) for url in urls)
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    home = MANIFEST["features"]["app_home"]
    assert home["home_tab_enabled"] is True and home["messages_tab_enabled"] is True


def _methods_called() -> set[str]:
    """Web API methods called anywhere in adapters/slack (client.<method>(…) calls)."""
    known = {name for name in dir(AsyncWebClient) if not name.startswith("_")}
    called: set[str] = set()
    for path in (ROOT / "adapters" / "slack").glob("*.py"):
        for name in re.findall(r"client\.([A-Za-z_0-9]+)\(", path.read_text("utf-8")):
            if name in CLIENT_HELPERS:
                called.update(CLIENT_HELPERS[name])
            elif name in known:
                called.add(name.replace("_", "."))
    return called


def test_every_method_called_is_covered_by_a_declared_scope_and_no_more():
    called = _methods_called()
    assert called, "the scan found no Web API calls"
    assert called - {"auth.test"} <= set(METHOD_SCOPES), called - set(METHOD_SCOPES)
    needed = {"commands"} | {s for m in called for s in METHOD_SCOPES[m]}
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == bot_scopes() == sorted(needed)


SCHEMAS = ROOT.parent / "shared" / "schemas"
BACKGROUND_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


def manifest_problems(manifest: dict) -> list[str]:
    """Everything Slack's own manifest schema (the version the manifest declares; none is
    1.0.0) finds wrong, plus the background colour, whose `regex` keyword validators skip."""
    major = (manifest.get("_metadata") or {}).get("major_version", 1)
    schema = json.loads((SCHEMAS / f"slack-manifest.schema.{major}.0.0.json").read_text("utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    problems = [
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in validator.iter_errors(manifest)
    ]
    colour = (manifest.get("display_information") or {}).get("background_color")
    if colour is not None and not BACKGROUND_COLOR.match(str(colour)):
        problems.append(f"display_information.background_color: {colour!r} is not #RGB or #RRGGBB")
    return problems


def test_the_manifest_is_valid_against_slacks_manifest_schema():
    if not (SCHEMAS / "slack-manifest.schema.1.0.0.json").is_file():
        pytest.skip("../shared/schemas/ is not beside this clone: Slack's manifest schema absent")
    assert manifest_problems(MANIFEST) == []
    # The check itself finds what Slack would refuse.
    broken = {
        **MANIFEST,
        "display_information": {**MANIFEST["display_information"], "background_color": "blue"},
        "features": {**MANIFEST["features"], "bot_user": {"always_online": True}},
    }
    found = manifest_problems(broken)
    assert any("background_color" in p for p in found)
    assert any("display_name" in p for p in found), found
