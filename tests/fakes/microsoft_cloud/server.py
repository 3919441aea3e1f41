"""Real HTTPS servers for the fake: aiohttp on its own event loop in a background thread, one
site per Microsoft host (login, Graph, Partner Center, the webhook certificate host) on
127.0.0.1 ephemeral ports. Each request is read whole, recorded, checked against the scripted
faults and the request schemas, then answered by a plain route function under the fake's lock;
a stall answers late and slow bodies go out chunked, in pieces, with pauses."""

from __future__ import annotations

import asyncio
import json
import threading
import traceback
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from tests.fakes.microsoft_cloud import faults, schemas
from tests.fakes.microsoft_cloud.http import Recorded, Reply, Route, find, path_known
from tests.fakes.microsoft_cloud.tokens import GRAPH_AUDIENCE, PARTNER_CENTER_AUDIENCE

if TYPE_CHECKING:
    from tests.fakes.microsoft_cloud.cloud import MicrosoftCloud

SLOW_PIECES = 6
SLOW_PAUSE = 0.05  # seconds between pieces of a slow body
SHUTDOWN_SECONDS = 1.0


def _parse(record: Recorded) -> str | None:
    """Fill `json` / `form`; the reason when a body that should be JSON is not."""
    content_type = record.headers.get("Content-Type", "")
    if "application/x-www-form-urlencoded" in content_type:
        record.form = dict(parse_qsl(record.body.decode("utf-8", "replace")))
        return None
    if not record.body:
        return None
    try:
        record.json = json.loads(record.body)
    except ValueError:
        return "the body is not JSON"
    return None


def _unknown(server: str, record: Recorded, known_path: bool) -> Reply:
    status = 405 if known_path else 404
    text = f"No {record.method} {record.path} here (the fake does not model it)."
    if server == "graph":
        return faults.graph_error(
            status, "BadRequest" if known_path else "Request_ResourceNotFound", text
        )
    if server == "partner_center":
        return faults.pc_error(status, status, text)
    return Reply(status, {"error": "not_found", "error_description": text})


def _server_headers(server: str, record: Recorded, reply: Reply) -> None:
    if server == "graph":
        reply.headers.setdefault("request-id", str(uuid.uuid4()))
        if "client-request-id" in record.headers:
            reply.headers.setdefault("client-request-id", record.headers["client-request-id"])
    elif server == "partner_center":
        for name in ("MS-RequestId", "MS-CorrelationId"):
            reply.headers.setdefault(name, record.headers.get(name, str(uuid.uuid4())))
        reply.headers.setdefault("MS-CV", uuid.uuid4().hex[:22] + ".0")


class Site:
    """One fake Microsoft host: its routes and the port it listens on."""

    def __init__(self, cloud: MicrosoftCloud, name: str, routes: list[Route]) -> None:
        self.cloud = cloud
        self.name = name
        self.routes = routes
        self.port = 0
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        cloud = self.cloud
        record = Recorded(
            server=self.name,
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            body=await request.read(),
        )
        not_json = _parse(record)
        with cloud.lock:
            cloud.requests.append(record)
            cloud.settle()
            stall, failure = cloud.take_faults(self.name, record.method, record.path)
        if stall is not None and stall.before:
            await asyncio.sleep(stall.seconds)
        if failure is not None:
            reply = faults.failure_reply(failure, self.name)
        else:
            reply = self.answer(record, not_json)
        _server_headers(self.name, record, reply)
        record.status = reply.status
        if stall is not None and not stall.before:  # done, but the answer comes too late
            await asyncio.sleep(stall.seconds)
        return await self.send(request, reply)

    def answer(self, record: Recorded, not_json: str | None) -> Reply:
        cloud = self.cloud
        found = find(self.routes, record.method, record.path)
        if found is None:
            with cloud.lock:
                cloud.unmatched.append(record)
            return _unknown(self.name, record, path_known(self.routes, record.path))
        chosen, match = found
        if chosen.schema is not None and self._token_accepted(record):
            broken = [not_json] if not_json else schemas.problems(chosen.schema, record.json)
            if broken:
                with cloud.lock:
                    cloud.schema_errors.extend(
                        f"{record.method} {record.path} ({chosen.schema}) {p}" for p in broken
                    )
                if self.name == "partner_center":
                    return faults.pc_error(400, 400, "The request body is invalid: " + broken[0])
                return faults.graph_error(
                    400,
                    "badRequest",
                    "Invalid request body: " + broken[0],
                    record.headers.get("client-request-id", ""),
                )
        try:
            with cloud.lock:
                return self._once_per_request_id(
                    record, lambda: chosen.handler(cloud, record, match)
                )
        except Exception:  # a bug in the fake: say so loudly (the fixture fails the test)
            with cloud.lock:
                cloud.internal_errors.append(traceback.format_exc())
            return Reply(500, {"error": "the fake failed; see cloud.internal_errors"})

    def _once_per_request_id(self, record: Recorded, work: Callable[[], Reply]) -> Reply:
        """Partner Center dedupes a write by its MS-RequestId (reference §7: reuse it when
        retrying): the same request id on the same call gets the first answer again."""
        request_id = record.headers.get("MS-RequestId", "")
        if self.name != "partner_center" or record.method == "GET" or not request_id:
            return work()
        key = (request_id.lower(), record.method, record.path.lower())
        earlier = self.cloud.answered_writes.get(key)
        if earlier is not None:
            return Reply(earlier.status, earlier.body, dict(earlier.headers), earlier.content_type)
        reply = work()
        if reply.status < 500:
            self.cloud.answered_writes[key] = reply
        return reply

    def _token_accepted(self, record: Recorded) -> bool:
        """Microsoft checks the token before the body: a bad token is 401 whatever it carries."""
        audience = {"graph": GRAPH_AUDIENCE, "partner_center": PARTNER_CENTER_AUDIENCE}.get(
            self.name
        )
        if audience is None:
            return True
        with self.cloud.lock:
            found = self.cloud.token_book.check(
                record.headers.get("Authorization", ""), audience, self.cloud.clock.now()
            )
        return not isinstance(found, str)

    async def send(self, request: web.Request, reply: Reply) -> web.StreamResponse:
        payload = reply.payload()
        headers = dict(reply.headers)
        if reply.body is not None:
            headers["Content-Type"] = reply.content_type
        if not (self.cloud.slow_bodies and payload):
            return web.Response(status=reply.status, body=payload, headers=headers)
        response = web.StreamResponse(status=reply.status, headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        size = max(1, -(-len(payload) // SLOW_PIECES))
        for start in range(0, len(payload), size):
            await response.write(payload[start : start + size])
            await asyncio.sleep(SLOW_PAUSE)
        await response.write_eof()
        return response


class Servers:
    """The event loop thread and the sites on it."""

    def __init__(self, sites: list[Site], ssl_context: object) -> None:
        self.sites = sites
        self.ssl_context = ssl_context
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="ms-fake")

    def _run(self, make: Callable[[], object]) -> object:
        return asyncio.run_coroutine_threadsafe(make(), self.loop).result(timeout=30)  # type: ignore[arg-type]

    async def _start(self) -> None:
        for site in self.sites:
            app = web.Application(client_max_size=16 * 1024 * 1024)
            app.router.add_route("*", "/{tail:.*}", site.handle)
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
            await runner.setup()
            tcp = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=self.ssl_context)  # type: ignore[arg-type]
            await tcp.start()
            site.runner = runner
            site.port = runner.addresses[0][1]

    async def _stop(self) -> None:
        """Cancel what is still answering (a stall outlives its client), then close."""
        running = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        for site in self.sites:
            if site.runner is not None:
                await site.runner.cleanup()

    def start(self) -> None:
        self.thread.start()
        self._run(self._start)

    def stop(self) -> None:
        try:
            self._run(self._stop)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()
