"""A loopback server that plays Slack for tests: the Web API methods the bot uses, the
`response_url`s, the upload URLs and the private file downloads, recording every call.

Answers are the documented JSON shapes. Every Web API call must carry the bot token
(`invalid_auth` otherwise), and a private file is served only with `Authorization: Bearer`
and that token, as Slack's file host does.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote
from zoneinfo import ZoneInfo

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from adapters.slack.manifest import bot_scopes

DEFAULT_TIME_ZONE = "America/Los_Angeles"  # a new Slack account's zone until its owner sets one


@dataclass
class Call:
    method: str  # a Web API method, "response_url", "upload" or "download"
    args: dict[str, Any]
    headers: dict[str, str] = field(repr=False, default_factory=dict)
    url: str = ""
    result: dict[str, Any] = field(default_factory=dict)  # what the fake answered

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    """slack_sdk sends some methods form-encoded with JSON strings inside (blocks, files)."""
    for key in ("blocks", "view", "files", "attachments"):
        value = args.get(key)
        if isinstance(value, str) and value[:1] in "[{":
            args[key] = json.loads(value)
    return args


class FakeSlack:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.file_urls: dict[str, str] = {}  # file id -> the URL files.info gives, if not ours
        self.file_sizes: dict[str, int] = {}  # file id -> the size files.info gives, if not real
        self.views: dict[str, dict[str, Any]] = {}
        self.refuse: dict[tuple[str, str], str] = {}  # (method, channel) -> error
        self.rate_limited: dict[str, float] = {}  # method -> Retry-After, once
        self.violations: list[str] = []  # payloads Slack would have refused (see the end)
        self.response_url_uses: dict[str, int] = {}
        self.upload_lengths: dict[str, int] = {}  # file id -> the length getUploadURLExternal had
        self.completed: set[str] = set()  # file ids shared by files.completeUploadExternal
        self.upload_failures = 0  # answer this many next upload POSTs 500, as a file host can
        self.download_piece = 16 * 1024  # bytes per write of a file download
        self.download_pause = 0.001  # seconds between those writes (raise it: a slow host)
        self.time_zones: dict[str, str] = {}  # user id -> user.tz (else DEFAULT_TIME_ZONE)
        self.unknown_users: set[str] = set()  # users.info answers user_not_found for these
        self.scopes = set(bot_scopes())  # the token's grant: the manifest's bot scopes
        self._ts = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/files-pri/{file_id}/{name}", self._download)
        app.router.add_get("/files-moved/{file_id}/{name}", self._moved)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()
            self._runner = None
        if self.violations:
            found, self.violations = self.violations, []
            raise AssertionError("payloads Slack would refuse:\n" + "\n".join(found))

    def check(self, what: str, problems: list[str]) -> list[str]:
        self.violations += [f"{what}: {p}" for p in problems]
        return problems

    @property
    def api_url(self) -> str:
        return f"{self.base}/api/"

    def response_url(self) -> str:
        return f"{self.base}/response/{uuid.uuid4().hex}"

    def add_file(
        self, name: str, data: bytes, *, url: str | None = None, size: int | None = None
    ) -> dict[str, Any]:
        """A file as a user uploaded it in a file_input: the object Slack puts in the state.
        `url`: where files.info says it is, if not on this server ("{id}" is its id);
        `size`: what files.info says its size is, if not its real one."""
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.files[file_id] = (name, data)
        if url:
            self.file_urls[file_id] = url.format(id=file_id)
        if size is not None:
            self.file_sizes[file_id] = size
        return self._file_object(file_id)

    def _file_object(self, file_id: str) -> dict[str, Any]:
        name, data = self.files[file_id]
        url = self.file_urls.get(file_id, f"{self.base}/files-pri/{file_id}/{quote(name)}")
        return {
            "id": file_id,
            "name": name,
            "title": name,
            "mimetype": "text/csv",
            "filetype": "csv",
            "size": self.file_sizes.get(file_id, len(data)),
            "is_external": False,
            "url_private": url,
            "url_private_download": url,
        }

    # -- looking at what happened ------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def posts_to(self, url: str) -> list[Call]:
        return [c for c in self.calls if c.method == "response_url" and c.url == url]

    async def wait_for(
        self,
        method: str,
        where: Callable[[Call], bool] = lambda c: True,
        count: int = 1,
        timeout: float = 10.0,
        after: int = 0,
    ) -> list[Call]:
        """The first `count` calls of `method` (from call number `after`) that match."""
        deadline = time.monotonic() + timeout
        while True:
            found = [c for c in self.calls[after:] if c.method == method and where(c)]
            if len(found) >= count:
                return found[:count]
            left = deadline - time.monotonic()
            if left <= 0:
                seen = [c.method for c in self.calls[after:]]
                raise AssertionError(f"no {count}× {method} within {timeout}s; calls: {seen}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))

    async def answer_to(self, url: str, count: int = 1, timeout: float = 10.0) -> Call:
        """The `count`-th message posted to a response_url."""
        calls = await self.wait_for("response_url", lambda c: c.url == url, count, timeout)
        return calls[-1]

    async def quiet(self, seconds: float = 0.3, timeout: float = 15.0) -> None:
        """Waits until no call has arrived for `seconds` (the bot's work after an ack)."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            if len(self.calls) == last:
                return
            last = len(self.calls)
            await asyncio.sleep(seconds)

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    # -- the Web API ---------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json":
                args.update(json.loads(raw or b"{}"))
            else:
                args.update(parse_qsl(raw.decode(), keep_blank_values=True))
        args = _decode_json_fields(args)
        headers = dict(request.headers)
        call = Call(method, args, headers, str(request.url))
        self._record(call)
        if headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method in self.rate_limited:
            retry_after = self.rate_limited.pop(method)
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(int(retry_after))},
            )
        refused = self.refuse.get((method, str(args.get("channel", args.get("channel_id", "")))))
        if refused:
            return web.json_response({"ok": False, "error": refused})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        problems = self.check(method, self._payload_problems(method, args))
        if problems:
            call.result = {
                "ok": False,
                "error": "invalid_arguments" if method.startswith("views.") else "invalid_blocks",
                "response_metadata": {"messages": [f"[ERROR] {p}" for p in problems]},
            }
            return web.json_response(call.result)
        answer = handler(args)
        call.result = {"ok": "error" not in answer, **answer}
        return web.json_response(call.result)

    @staticmethod
    def _payload_problems(method: str, args: dict[str, Any]) -> list[str]:
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            return message_problems(args)
        if method in ("views.open", "views.update", "views.publish", "views.push"):
            return view_problems(args.get("view"))
        return []

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        """A person's profile as Slack gives it (`user.tz` is their time zone, with its
        label and UTC offset now); `missing_scope` without `users:read` in `scopes`."""
        if "users:read" not in self.scopes:
            return {
                "error": "missing_scope",
                "needed": "users:read",
                "provided": ",".join(sorted(self.scopes)),
            }
        user_id = str(args.get("user", ""))
        if user_id[:1] not in ("U", "W") or user_id in self.unknown_users:
            return {"error": "user_not_found"}
        tz = self.time_zones.get(user_id, DEFAULT_TIME_ZONE)
        now = datetime.now(ZoneInfo(tz))
        offset = now.utcoffset()
        name = user_id.lower()
        return {
            "user": {
                "id": user_id,
                "team_id": "T0PARTNER",
                "name": name,
                "deleted": False,
                "color": "9f69e7",
                "real_name": name.capitalize(),
                "tz": tz,
                "tz_label": now.tzname() or tz,
                "tz_offset": int(offset.total_seconds()) if offset else 0,
                "profile": {
                    "avatar_hash": "ge3b51ca72de",
                    "status_text": "",
                    "status_emoji": "",
                    "real_name": name.capitalize(),
                    "display_name": name,
                    "real_name_normalized": name.capitalize(),
                    "display_name_normalized": name,
                    "team": "T0PARTNER",
                },
                "is_admin": False,
                "is_owner": False,
                "is_primary_owner": False,
                "is_restricted": False,
                "is_ultra_restricted": False,
                "is_bot": False,
                "updated": 1502138686,
                "is_app_user": False,
                "has_2fa": False,
            }
        }

    def m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://partner-team.slack.com/",
            "team": "Partner Team",
            "user": "onboarding",
            "team_id": "T0PARTNER",
            "user_id": "U0BOT",
            "bot_id": "B0BOT",
            "is_enterprise_install": False,
        }

    def m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = str(args.get("channel"))
        if channel.startswith("U"):  # a user id posts in the app's DM with that user
            channel = "D" + channel[1:]
        ts = self._next_ts()
        return {
            "channel": channel,
            "ts": ts,
            "message": {
                "type": "message",
                "text": args.get("text"),
                "ts": ts,
                "blocks": args.get("blocks"),
                "bot_id": "B0BOT",
            },
        }

    def m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}

    def m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"message_ts": self._next_ts()}

    def _view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{uuid.uuid4().hex[:10].upper()}"
        stored = {
            **view,
            "id": view_id,
            "hash": uuid.uuid4().hex,
            "state": {"values": {}},
            "team_id": "T0PARTNER",
            "app_id": "A0APP",
        }
        self.views[view_id] = stored
        return {"view": stored}

    def m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args["view"])

    def m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args["view"], args.get("view_id"))

    def m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._view(args["view"])

    def m_files_info(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"file": self._file_object(str(args["file"]))}

    # Files go in three steps (files.getUploadURLExternal, a POST of the bytes to the URL it
    # gives, files.completeUploadExternal), with Slack's own refusals: a missing filename or
    # length, a length that is not a positive whole number, completing a file never got,
    # never uploaded or already completed.

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not length:
            missing = "filename" if not filename else "length"
            return _error("invalid_arguments", f"missing required field: {missing}")
        if not length.isdigit() or int(length) < 1:
            return _error("invalid_arguments", "length must be a positive integer")
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.files[file_id] = (filename, b"")
        self.upload_lengths[file_id] = int(length)
        return {"upload_url": f"{self.base}/upload/v1/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        wanted = args.get("files")
        if not isinstance(wanted, list) or not wanted:
            return _error("invalid_arguments", "missing required field: files")
        shared = []
        for f in wanted:
            file_id = str(f.get("id", "")) if isinstance(f, dict) else ""
            name, data = self.files.get(file_id, ("", b""))
            if file_id not in self.upload_lengths or file_id in self.completed or not data:
                return _error("file_not_found", f"file {file_id!r} was not uploaded")
            shared.append((file_id, f.get("title") or name, name, data))
        self.completed.update(file_id for file_id, *_ in shared)
        return {
            "files": [
                {
                    "id": file_id,
                    "name": name,
                    "title": title,
                    "mimetype": "text/csv" if name.lower().endswith(".csv") else "text/plain",
                    "size": len(data),
                    "url_private": f"{self.base}/files-pri/{file_id}/{quote(name)}",
                }
                for file_id, title, name, data in shared
            ]
        }

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": "D" + str(args.get("users", "")).lstrip("U")}}

    # -- beside the Web API --------------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        payload = await request.json()
        self._record(Call("response_url", payload, dict(request.headers), str(request.url)))
        key = request.match_info["key"]
        self.response_url_uses[key] = self.response_url_uses.get(key, 0) + 1
        if self.response_url_uses[key] > RESPONSE_URL_USES:  # as Slack answers the 6th post
            return web.Response(status=404, text="used_url")
        if self.check("response_url", message_problems(payload)):
            return web.Response(status=400, text="invalid_blocks")
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL takes the bytes as the body, or as the `file` field of a form, and
        answers "OK - LENGTH"; an unknown URL is 404, and `upload_failures` answer 500."""
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            form = await request.post()
            field = form.get("file")
            data = field.file.read() if isinstance(field, web.FileField) else b""
        else:
            data = await request.read()
        name = self.files.get(file_id, ("upload", b""))[0]
        self._record(
            Call(
                "upload",
                {"file_id": file_id, "name": name, "data": data},
                dict(request.headers),
                str(request.url),
            )
        )
        if file_id not in self.upload_lengths or file_id in self.completed:
            return web.Response(status=404, text="Not Found")
        if self.upload_failures:
            self.upload_failures -= 1
            return web.Response(status=500, text="Internal Server Error")
        if len(data) != self.upload_lengths[file_id]:
            self.check(
                "upload", [f"{len(data)} bytes sent, {self.upload_lengths[file_id]} announced"]
            )
        self.files[file_id] = (name, data)
        return web.Response(text=f"OK - {len(data)}")

    async def _moved(self, request: web.Request) -> web.Response:
        """A redirect to the file: a client that follows it would carry the token along."""
        self._record(Call("moved", {"file_id": request.match_info["file_id"]}, {}, ""))
        file_id, name = request.match_info["file_id"], request.match_info["name"]
        raise web.HTTPFound(f"{self.base}/files-pri/{file_id}/{name}")

    async def _download(self, request: web.Request) -> web.Response:
        headers = dict(request.headers)
        self._record(
            Call("download", {"file_id": request.match_info["file_id"]}, headers, str(request.url))
        )
        if headers.get("Authorization") != f"Bearer {self.token}":
            # What Slack's file host does without the token: a sign-in page, not the file.
            return web.Response(text="<html>Sign in</html>", content_type="text/html")
        data = self.files[request.match_info["file_id"]][1]
        # As a real file host sends it: chunked, in many writes with pauses between them, so
        # a client that reads once gets only what has arrived by then.
        answer = web.StreamResponse(headers={"Content-Type": "text/csv"})
        answer.enable_chunked_encoding()
        await answer.prepare(request)
        for start in range(0, len(data), self.download_piece):
            await answer.write(data[start : start + self.download_piece])
            await asyncio.sleep(self.download_pause)
        await answer.write_eof()
        return answer


def _error(code: str, message: str) -> dict[str, Any]:
    """Slack's answer to arguments it refuses; `_api` turns it into `ok: false`."""
    return {"error": code, "response_metadata": {"messages": [f"[ERROR] {message}"]}}


# -- what Slack refuses -----------------------------------------------------------------------
#
# Every message and view the bot sends is parsed with slack_sdk's own models (`Block.parse`,
# `View`, `.validate_json()`) and held to Slack's documented limits, which those models check
# only at the top level. A payload Slack would refuse is answered as Slack answers it and
# recorded in `violations`; `stop()` fails the test that produced it.

MESSAGE_BLOCKS = 50
RESPONSE_URL_USES = 5  # posts a response_url takes (within 30 minutes)
VIEW_BLOCKS = 100
MESSAGE_TEXT = 40_000
# (block or element type, key) -> most characters of that text; "*" is any type.
TEXT_LIMITS: dict[tuple[str, str], int] = {
    ("section", "text"): 3000,
    ("section", "fields"): 2000,
    ("header", "text"): 150,
    ("context", "elements"): 3000,
    ("input", "label"): 2000,
    ("input", "hint"): 2000,
    ("button", "text"): 75,
    ("confirm", "title"): 100,
    ("confirm", "text"): 300,
    ("confirm", "confirm"): 30,
    ("confirm", "deny"): 30,
    ("option", "text"): 75,
    ("option", "description"): 75,
    ("option_group", "label"): 75,
    ("*", "placeholder"): 150,
    ("view", "title"): 24,
    ("view", "submit"): 24,
    ("view", "close"): 24,
}
STRING_LIMITS: dict[tuple[str, str], int] = {
    ("*", "block_id"): 255,
    ("*", "action_id"): 255,
    ("button", "value"): 2000,
    ("button", "url"): 3000,
    ("option", "value"): 150,
    ("view", "private_metadata"): 3000,
    ("view", "callback_id"): 255,
    ("view", "external_id"): 255,
}
COUNT_LIMITS: dict[tuple[str, str], int] = {
    ("section", "fields"): 10,
    ("context", "elements"): 10,
    ("actions", "elements"): 25,
    ("*", "options"): 100,
    ("*", "option_groups"): 100,
    ("*", "initial_options"): 100,
}


def _limit(table: dict[tuple[str, str], int], kind: str, key: str) -> int | None:
    return table.get((kind, key), table.get(("*", key)))


def _text_of(value: Any) -> list[str]:
    """The strings of a text object, or of a list of them (fields, context elements)."""
    if isinstance(value, dict) and value.get("type") in ("plain_text", "mrkdwn"):
        return [str(value.get("text", ""))]
    if isinstance(value, list):
        return [t for v in value for t in _text_of(v)]
    return []


def _walk(node: Any, kind: str, path: str, found: list[str]) -> None:
    """Slack's limits on every nested object (the models check only the top level)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, kind, f"{path}[{i}]", found)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") in ("plain_text", "mrkdwn"):
        if not str(node.get("text", "")):
            found.append(f"{path}: an empty {node['type']} text")
        return
    kind = str(node.get("type") or ("option" if "value" in node and "text" in node else kind))
    if "options" in node and "label" in node and "type" not in node:
        kind = "option_group"
    for key, value in node.items():
        where = f"{path}.{key}"
        most = _limit(TEXT_LIMITS, kind, key)
        if most is not None:
            for text in _text_of(value):
                if len(text) > most:
                    found.append(f"{where}: {len(text)} characters, Slack's limit is {most}")
        most = _limit(STRING_LIMITS, kind, key)
        if most is not None and isinstance(value, str) and len(value) > most:
            found.append(f"{where}: {len(value)} characters, Slack's limit is {most}")
        most = _limit(COUNT_LIMITS, kind, key)
        if most is not None and isinstance(value, list) and len(value) > most:
            found.append(f"{where}: {len(value)} items, Slack's limit is {most}")
        _walk(value, "confirm" if key == "confirm" else kind, where, found)


def _blocks_problems(blocks: Any, most: int, path: str) -> list[str]:
    if not isinstance(blocks, list):
        return [f"{path}: not a list of blocks"]
    found = [f"{path}: {len(blocks)} blocks, Slack's limit is {most}"] if len(blocks) > most else []
    for i, block in enumerate(blocks):
        parsed = Block.parse(block) if isinstance(block, dict) else None
        if parsed is None:
            found.append(f"{path}[{i}]: not a block slack_sdk knows ({block!r:.80})")
            continue
        try:
            parsed.validate_json()
        except SlackObjectFormationError as err:
            found.append(f"{path}[{i}] ({block.get('type')}): {err}")
    _walk(blocks, "", path, found)
    return found


def message_problems(args: dict[str, Any]) -> list[str]:
    """Why Slack would refuse this chat.postMessage / chat.update / response_url payload."""
    found = []
    text = args.get("text")
    if text is not None and len(str(text)) > MESSAGE_TEXT:
        found.append(f"text: {len(str(text))} characters, Slack's limit is {MESSAGE_TEXT}")
    if "blocks" in args:
        found += _blocks_problems(args["blocks"], MESSAGE_BLOCKS, "blocks")
    elif not text:
        found.append("a message with neither text nor blocks")
    return found


def view_problems(view: Any) -> list[str]:
    """Why Slack would refuse this view (views.open / update / publish, a modal ack)."""
    if not isinstance(view, dict):
        return [f"view: not an object ({view!r:.80})"]
    found = []
    try:
        View(**view).validate_json()
    except (SlackObjectFormationError, TypeError) as err:
        found.append(f"view: {err}")
    found += _blocks_problems(view.get("blocks", []), VIEW_BLOCKS, "view.blocks")
    _walk({k: v for k, v in view.items() if k != "blocks"}, "view", "view", found)
    return found
