"""The bot's HTTP surface (aiohttp): health check now; Slack, Teams and webhooks mount here."""

from __future__ import annotations

import asyncio

from aiohttp import web
from sqlalchemy import Engine, text

from storage.database import READ_ONLY


def _database_ok(engine: Engine) -> bool:
    try:
        with engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not healthy"; the reason goes to the log, not out
        return False


def create_web_app(engine: Engine) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        ok = await asyncio.to_thread(_database_ok, engine)
        return web.json_response(
            {"status": "ok" if ok else "degraded", "database": ok}, status=200 if ok else 503
        )

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    return app
