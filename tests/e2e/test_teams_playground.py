"""The bot as the Microsoft 365 Agents Playground (a Teams-like client from npm) sees it: the
real `app.py` process, the playground started only through a wrapper that keeps it on this
machine (every socket on 127.0.0.1, no browser, no telemetry): the project's
`scripts/teams-playground.js`, and ../shared/tools/teams-playground.js too when ../shared sits
beside this clone. Driven through the HTTP and WebSocket interface the playground's page uses."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from tests.e2e.teams_support import assert_valid_card, button, card_text, free_port

ROOT = Path(__file__).resolve().parents[2]
WRAPPERS = {
    "project wrapper": ROOT / "scripts" / "teams-playground.js",
    "shared wrapper": ROOT.parent / "shared" / "tools" / "teams-playground.js",
}
CACHE = ROOT / ".cache" / "playground"  # gitignored
PACKAGE = "@microsoft/m365agentsplayground"
VERSION = "0.2.28"
CHAT = "personal-chat-1"
USER = {"id": "user-id-0"}
# The Playground's mock tenant and its current user (Alex Wilber), from its default config.
PLAYGROUND_ADMIN = (
    "teams:00000000-0000-0000-0000-0000000000001:00000000-0000-0000-0000-0000000000020"
)


def installed() -> Path:
    """The package, installed into the cache folder with npm the first time."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("the Teams playground test needs Node.js and npm (apt-get install nodejs npm)")
    package_dir = CACHE / "node_modules" / "@microsoft" / "m365agentsplayground"
    if (package_dir / "dist").is_dir():
        return package_dir
    CACHE.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            npm,
            "install",
            "--no-audit",
            "--no-fund",
            "--no-save",
            "--prefix",
            str(CACHE),
            f"{PACKAGE}@{VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if result.returncode != 0 or not (package_dir / "dist").is_dir():
        pytest.fail(
            f"npm could not install {PACKAGE}@{VERSION} into {CACHE} (is the npm "
            f"registry reachable?):\n{result.stderr.strip()[-1500:]}",
            pytrace=False,
        )
    return package_dir


def wait_http(url: str, process: subprocess.Popen, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            out = process.stdout.read() if process.stdout else ""
            pytest.fail(f"{what} exited ({process.returncode}):\n{out[-2000:]}", pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not answer {url} in {seconds:.0f} s", pytrace=False)
        time.sleep(0.2)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def listening_addresses(pid: int) -> set[str]:
    """The local addresses of every TCP socket the process listens on (Linux /proc)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[len("socket:[") : -1])
    found = set()
    for table, width in (("tcp", 8), ("tcp6", 32)):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    address = fields[1].split(":")[0]
                    assert len(address) == width
                    found.add(_ip(address))
    return found


def _ip(hex_address: str) -> str:
    """/proc/net/tcp{,6} write addresses as 32-bit words in host (little-endian) order."""
    raw = b"".join(
        bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)
    )
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


@pytest.fixture(params=list(WRAPPERS))
def wrapper(request: pytest.FixtureRequest) -> Path:
    path = WRAPPERS[request.param]
    if not path.is_file():
        pytest.skip(f"{request.param} not run: ../shared/tools/{path.name} not beside this clone")
    return path


@pytest.fixture
def playground(tmp_path: Path, wrapper: Path) -> Iterator[str]:
    package_dir = installed()
    bot_port, port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MICROSOFT_APP", "SLACK_", "DATABASE_", "PORT", "HOST"))
    }
    bot = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env={
            **env,
            "PORT": str(bot_port),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "BOT_ADMINS": PLAYGROUND_ADMIN,
        },
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    client = None
    try:
        wait_http(f"http://127.0.0.1:{bot_port}/healthz", bot, "app.py")
        client = subprocess.Popen(
            [
                "node",
                str(wrapper),
                "-e",
                f"http://127.0.0.1:{bot_port}/api/messages",
                "-c",
                "msteams",
                "--dt",
                "-p",
                str(port),
                "--service-url",
                f"http://127.0.0.1:{port}/_connector",
            ],
            cwd=CACHE,
            env={
                **env,
                "PLAYGROUND_PKG_DIR": str(package_dir),
                "M365_AGENTS_PLAYGROUND_CONVERSATION_ID": CHAT,
            },
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        wait_http(f"http://127.0.0.1:{port}/_debug/ping", client, "the playground")
        if Path("/proc/net/tcp").exists():
            addresses = listening_addresses(client.pid)
            assert addresses and addresses <= {"127.0.0.1"}, f"playground listens on {addresses}"
        yield f"http://127.0.0.1:{port}"
    finally:
        if client:
            stop(client)
        stop(bot)


class Stream:
    """The playground page's WebSocket: every message the bot creates or updates."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def next(self, action: str, timeout: float = 15) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"no {action} from the playground in {timeout} s"
            msg = await asyncio.wait_for(self.ws.receive(), remaining)
            assert msg.type == aiohttp.WSMsgType.TEXT, msg
            event = json.loads(msg.data)
            if event.get("action") == action:
                return event["message"]


@pytest.fixture
async def stream(playground: str) -> AsyncIterator[tuple[aiohttp.ClientSession, Stream]]:
    async with aiohttp.ClientSession(base_url=playground) as session:
        config = await (await session.get("/_internal/v1/testConfig")).json()
        assert config["config"]["personalChat"]["id"] == CHAT
        async with session.ws_connect("/_ws_conversation/v1/conversations/stream") as ws:
            yield session, Stream(ws)


def card_of(message: dict[str, Any]) -> dict[str, Any]:
    attachment = message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert_valid_card(attachment["content"])
    return attachment["content"]


async def test_a_message_typed_in_the_playground_gets_the_bots_card_and_buttons_work(stream):
    session, events = stream
    typed = await session.post(
        f"/_conversation/v1/conversations/{CHAT}/messages",
        json={"from": USER, "text": "help", "textFormat": "plain"},
    )
    assert typed.status == 200
    helped = card_of(await events.next("createMessage"))
    assert "notify here [all|failures|off]" in card_text(helped)

    await session.post(
        f"/_conversation/v1/conversations/{CHAT}/messages",
        json={
            "from": USER,
            "textFormat": "plain",
            "text": 'enroll "ABC Technologies Inc." john.doe@abctech.com abctech.com US',
        },
    )
    message = await events.next("createMessage")
    enrolled = card_of(message)
    assert "✓ Enrolled ABC Technologies Inc." in card_text(enrolled)

    clicked = await session.post(
        "/_conversation/v1/submit",
        json={
            "conversation": {"id": CHAT},
            "from": USER,
            "replyToId": message["messageId"],
            "value": button(enrolled, "Send reminder email"),
        },
    )
    assert clicked.status == 200
    updated = await events.next("updateMessage")
    assert updated["messageId"] == message["messageId"]  # the card changed in place
    assert "✓ Reminder sent: reseller → john.doe@abctech.com." in card_text(card_of(updated))
