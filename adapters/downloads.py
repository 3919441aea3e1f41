"""Download links for the CSV files the bot makes (exports, a review's customers), for front
ends that cannot hand a file over in the conversation (Teams): `GET /exports/ID`, signed and
expiring after `LINK_LIFETIME`.

Nothing is kept on the server: the link says which file (its `source`) and for whom, signed
with HMAC-SHA256, and the file is made when the link is opened, from the store as it is then,
in the name of who asked (their role is checked again), streamed a batch at a time. So any
replica answers it, a restart loses nothing, and nothing is left to clean up. A link that was
changed in any way answers 403, one past its time 410, each with one plain line that says
what to do.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlparse

from aiohttp import web

from bot.activity import Actor
from bot.errors import NotAllowed, NotFound, OnboardingError
from bot.exports import Exports
from bot.ports import Clock
from bot.views import CsvFile

log = logging.getLogger(__name__)

EXPORTS_PATH = "/exports/{id}"
LINK_LIFETIME = timedelta(minutes=10)
_KEY_LABEL = b"onboarding-bot/export-links/v1"
_ID_MAX = 2048  # characters of a link's id: far more than any real one


def signing_key(explicit: str = "", app_password: str = "") -> bytes:
    """The links' HMAC key: EXPORT_SIGNING_KEY when set; else derived from the Teams app's
    password (every replica of one bot has it, and the password itself signs nothing); else
    random for this process (links then work until it restarts, on it alone)."""
    if explicit:
        return hashlib.sha256(_KEY_LABEL + explicit.encode()).digest()
    if app_password:
        return hmac.new(app_password.encode(), _KEY_LABEL, hashlib.sha256).digest()
    return secrets.token_bytes(32)


def is_loopback_url(url: str) -> bool:
    """Whether a link to `url` opens only on this machine."""
    host = (urlparse(url).hostname or "").lower()
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class DownloadLinks:
    """Makes the links (`link`) and answers them (`mount`: GET /exports/{id})."""

    def __init__(
        self,
        exports: Exports,
        clock: Clock,
        key: bytes,
        base_url: str,
        lifetime: timedelta = LINK_LIFETIME,
    ) -> None:
        self.exports = exports
        self.clock = clock
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.lifetime = lifetime

    # -- making links ---------------------------------------------------------------------

    def link(self, file: CsvFile, actor: Actor) -> tuple[str, datetime]:
        """The URL that makes `file` again for `actor`, and when it stops working."""
        expires = self.clock.now().replace(microsecond=0) + self.lifetime
        what = {
            "s": list(file.source),
            "f": file.filename,
            "a": [actor.id, actor.name, actor.platform, actor.workspace, actor.enterprise],
        }
        link_id = _b64(json.dumps(what, separators=(",", ":"), ensure_ascii=False).encode())
        stamp = int(expires.timestamp())
        url = (
            f"{self.base_url}/exports/{link_id}?expires={stamp}"
            f"&signature={self._signature(link_id, stamp)}"
        )
        return url, expires

    def _signature(self, link_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{link_id}.{expires}".encode(), hashlib.sha256).hexdigest()

    # -- answering them -------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        app.router.add_get(EXPORTS_PATH, self.download)

    async def download(self, request: web.Request) -> web.StreamResponse:
        link_id = request.match_info["id"]
        stamp = request.query.get("expires", "")
        signature = request.query.get("signature", "")
        if (
            len(link_id) > _ID_MAX
            or not stamp.isdigit()
            or len(stamp) > 12
            or not hmac.compare_digest(signature, self._signature(link_id, int(stamp)))
        ):
            log.warning("refused a download link: not signed by this bot (%d bytes)", len(link_id))
            return _plain(
                403,
                "This download link is not valid: it was changed or cut short. Ask the bot "
                "for the file again (for example: export) and use the new link.",
            )
        expires = datetime.fromtimestamp(int(stamp), UTC)
        if self.clock.now() >= expires:
            return _plain(
                410,
                f"This download link expired at {expires:%H:%M} UTC on {expires:%d %b %Y}: "
                f"links work for {self.lifetime.seconds // 60} minutes. Ask the bot for the "
                "file again (for example: export) and use the new link.",
            )
        try:
            what = json.loads(_unb64(link_id))
            actor = Actor(*what["a"])
            source = [str(part) for part in what["s"]]
        except (ValueError, TypeError, KeyError, binascii.Error):
            # signed by this bot, so never expected: a link made by an older version
            return _plain(410, "This download link is from an older version of the bot.")
        try:
            file = await asyncio.to_thread(self.exports.again, source, actor)
        except NotAllowed as err:
            return _plain(403, str(err))
        except NotFound as err:
            return _plain(410, str(err))
        except OnboardingError as err:  # the store is unavailable: try again later
            return _plain(503, str(err))
        return await self._stream(request, file)

    async def _stream(self, request: web.Request, file: CsvFile) -> web.StreamResponse:
        answer = web.StreamResponse(
            headers={
                "Content-Type": f"{file.mime_type}; charset=utf-8",
                "Content-Disposition": _attachment(file.filename),
                "Cache-Control": "no-store",
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            }
        )
        pieces: Iterator[bytes] = file.pieces()
        first = await asyncio.to_thread(next, pieces, None)  # errors before the status is sent
        await answer.prepare(request)
        piece = first
        while piece is not None:
            await answer.write(piece)
            piece = await asyncio.to_thread(next, pieces, None)
        await answer.write_eof()
        return answer


def _plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text + "\n", headers={"Cache-Control": "no-store"})


def _attachment(filename: str) -> str:
    """Content-Disposition with an ASCII name for old clients and the UTF-8 one (RFC 6266)."""
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "_").replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
