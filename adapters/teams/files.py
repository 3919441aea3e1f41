"""Files from Teams: the CSV a user sends the bot in a personal chat, fetched from the
attachment's `downloadUrl` (a pre-authenticated link to the user's OneDrive).

The policy, all of it in `download`: HTTPS only, and only from the hosts where Teams keeps
chat files (TEAMS_FILE_HOSTS, by default SharePoint's: `FILE_HOSTS`, each a domain and its
subdomains); the one exception is the host that plays Teams for this very conversation when
it runs on this machine (the Agents Playground, the tests' loopback connector), which may use
plain HTTP. Redirects are never followed, and at most one byte more than `bot.csvio.MAX_BYTES`
is read, so the CSV reader can say the file is too big. What came back is shown to nobody
unless it looks like the customer CSV (`not_a_customer_csv`).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from bot.csvio import EXPECTED_HEADER, MAX_BYTES
from bot.errors import ProviderError

if TYPE_CHECKING:
    import httpx

# Where Teams keeps the files sent in a chat: SharePoint and OneDrive for Business, in the
# commercial cloud and in the US government clouds (GCC High, DoD).
FILE_HOSTS = ("sharepoint.com", "sharepoint.us")
READ_LIMIT = MAX_BYTES + 1
TIMEOUT = 30.0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def file_hosts(setting: str) -> tuple[str, ...]:
    """TEAMS_FILE_HOSTS as the policy takes it: lower case, without a leading dot or `*.`."""
    hosts = (h.strip().lower().removeprefix("*").lstrip(".") for h in setting.split(","))
    return tuple(h for h in hosts if h)


def _on(host: str, hosts: tuple[str, ...]) -> bool:
    return any(host == h or host.endswith("." + h) for h in hosts)


def allowed(url: str, service_url: str = "", hosts: tuple[str, ...] = FILE_HOSTS) -> bool:
    """Whether `download` may fetch `url` for a conversation served from `service_url`."""
    parts, service = urlparse(url), urlparse(service_url)
    host = (parts.hostname or "").lower()
    if not host:
        return False
    local = (service.hostname or "").lower()
    if local and _loopback(local) and (host, parts.port) == (local, service.port):
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and _on(host, hosts)


async def download(
    url: str,
    *,
    service_url: str = "",
    http: httpx.AsyncClient | None = None,
    hosts: tuple[str, ...] = FILE_HOSTS,
) -> bytes:
    """The file's bytes (at most `READ_LIMIT`); `ProviderError` when the policy refuses the
    link or the file host does not hand the file over."""
    import httpx  # on the first attachment, not at start-up

    if not allowed(url, service_url, hosts):
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


_HEADER_KEYS = {re.sub(r"[\W_]+", "", t).casefold() for t in EXPECTED_HEADER}


def not_a_customer_csv(data: bytes) -> str:
    """Why a downloaded body is not the customer CSV ("" when it may be one): it must be text
    whose first line names at least one of the header's columns. Anything else (a web page,
    JSON, an image, what a host answered in place of the file) is refused without a word of
    it reaching a reply; a CSV with a wrong header goes on to the CSV reader, which says
    what is wrong with it."""
    if not data.strip():
        return ""  # the CSV reader says the file is empty
    if b"\x00" in data[:4096]:
        return "it is not a text file"
    try:
        head = data[:8192].decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if err.start < 8188:  # not only a character cut at the end of the sample
            return "it is not UTF-8 text"
        head = data[: err.start].decode("utf-8-sig")
    first = head.lstrip().split("\n", 1)[0]
    cells = re.split(r"[,;\t]", first)
    if not any(re.sub(r"[\W_]+", "", c).casefold() in _HEADER_KEYS for c in cells):
        return "its first line is not the header"
    return ""
