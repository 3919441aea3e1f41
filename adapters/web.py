"""The bot's HTTP surface (aiohttp): the health check and the download links of exports
(`GET /exports/ID`); Slack, Teams and webhooks mount here."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from sqlalchemy import Engine, text

from adapters.downloads import DownloadLinks
from storage.database import READ_ONLY


class AccessLog(AbstractAccessLogger):
    """aiohttp's line per request, without the query string: a download link's signature
    sits there, and with it anyone who read the log could fetch the file for 10 minutes."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        query = " ?…" if request.query_string else ""
        self.logger.info(
            '%s "%s %s%s" %s %.3fs',
            request.remote,
            request.method,
            request.path,
            query,
            response.status,
            time,
        )


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not healthy"; the reason goes to the log, not out
        return False


def create_web_app(engine: Engine, downloads: DownloadLinks | None = None) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        ok = await asyncio.to_thread(_database_ok, engine)
        return web.json_response(
            {"status": "ok" if ok else "degraded", "database": ok}, status=200 if ok else 503
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    if downloads is not None:
        downloads.mount(app)  # GET /exports/{id}
    return app
