"""Files from Teams: the CSV a user sends the bot in a personal chat, fetched from the
attachment's `downloadUrl` (a pre-authenticated link to the user's OneDrive).

The policy, all of it in `download`: HTTPS only, and only from SharePoint, where Teams keeps
chat files (`FILE_HOST_SUFFIXES`); the one exception is the host that plays Teams for this
very conversation when it runs on this machine (the Agents Playground, the tests' loopback
connector), which may use plain HTTP. Redirects are never followed, and at most one byte more
than `bot.csvio.MAX_BYTES` is read, so the CSV reader can say the file is too big.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlparse

import httpx

from bot.csvio import MAX_BYTES
from bot.errors import ProviderError

FILE_HOST_SUFFIXES = (".sharepoint.com", ".sharepoint.us")
READ_LIMIT = MAX_BYTES + 1
TIMEOUT = 30.0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def allowed(url: str, service_url: str = "") -> bool:
    """Whether `download` may fetch `url` for a conversation served from `service_url`."""
    parts, service = urlparse(url), urlparse(service_url)
    host = (parts.hostname or "").lower()
    if not host:
        return False
    local = (service.hostname or "").lower()
    if local and _loopback(local) and (host, parts.port) == (local, service.port):
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and host.endswith(FILE_HOST_SUFFIXES)


async def download(
    url: str, *, service_url: str = "", http: httpx.AsyncClient | None = None
) -> bytes:
    """The file's bytes (at most `READ_LIMIT`); `ProviderError` when the policy refuses the
    link or the file host does not hand the file over."""
    if not allowed(url, service_url):
        raise ProviderError("the link is not on Teams' file storage, so it was not followed")
    client = http or httpx.AsyncClient(timeout=TIMEOUT)
    try:
        chunks: list[bytes] = []
        size = 0
        async with client.stream("GET", url, follow_redirects=False) as response:
            if response.status_code != 200:
                raise ProviderError(f"the file host answered HTTP {response.status_code}")
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size >= READ_LIMIT:
                    break
        return b"".join(chunks)[:READ_LIMIT]
    except httpx.HTTPError as err:
        raise ProviderError(f"the file host could not be reached: {type(err).__name__}") from None
    finally:
        if client is not http:
            await client.aclose()
