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
from typing import Any
from urllib.parse import parse_qsl, quote

from aiohttp import web


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
        self.download_piece = 16 * 1024  # bytes per write of a file download
        self.download_pause = 0.001  # seconds between those writes (raise it: a slow host)
        self._ts = itertools.count(1)
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""

    # -- life --------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application(client_max_size=20 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
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
        refused = self.refuse.get((method, str(args.get("channel", ""))))
        if refused:
            return web.json_response({"ok": False, "error": refused})
        handler = getattr(self, "m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        call.result = {"ok": True, **handler(args)}
        return web.json_response(call.result)

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

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

    def m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{uuid.uuid4().hex[:10].upper()}"
        self.files[file_id] = (str(args.get("filename")), b"")
        return {"upload_url": f"{self.base}/upload/{file_id}", "file_id": file_id}

    def m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "files": [
                {"id": f["id"], "title": f.get("title"), "name": self.files[f["id"]][0]}
                for f in args.get("files", [])
            ]
        }

    def m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"channel": {"id": "D" + str(args.get("users", "")).lstrip("U")}}

    # -- beside the Web API --------------------------------------------------------------------

    async def _response(self, request: web.Request) -> web.Response:
        self._record(
            Call("response_url", await request.json(), dict(request.headers), str(request.url))
        )
        return web.Response(text="ok")

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        data = await request.read()
        name = self.files.get(file_id, ("upload", b""))[0]
        self.files[file_id] = (name, data)
        self._record(
            Call(
                "upload",
                {"file_id": file_id, "name": name, "data": data},
                dict(request.headers),
                str(request.url),
            )
        )
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
