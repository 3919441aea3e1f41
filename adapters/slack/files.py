"""Files between Slack and the bot: the uploaded CSV in; the template, problem lists, exports
and review CSVs out.

The download policy, all of it enforced in `download` (the one place a file is fetched):

- the bot token goes only to Slack's file hosts (`SLACK_FILE_HOSTS`; in tests also the host of
  a non-default API URL, the loopback server that plays Slack): a file URL on any other host
  is refused before anything is sent;
- HTTPS only (plain HTTP is allowed to a loopback host alone);
- no redirect is followed: a redirect answer is refused, so the token cannot be carried on;
- at most `bot.csvio.MAX_BYTES`: a file Slack says is larger is refused before download; the
  body is then read to its end as it streams in (a file host sends it in many pieces, and one
  `read` returns only what has arrived so far), and refused, with the limit named, as soon as
  it passes the cap: never cut short, never held beyond the cap plus one piece.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
from typing import Any
from urllib.parse import urlparse

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.escape import mrkdwn
from bot.csvio import MAX_BYTES, export_csv
from bot.errors import ProviderError, ValidationError
from bot.text import shorten
from bot.views import BulkReview, CsvFile, FileReply

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
DEFAULT_API_URL = "https://slack.com/api/"
CHUNK = 64 * 1024  # bytes read from the download at a time
DOWNLOAD_TIMEOUT = 60.0  # seconds
# Where the app may not post: the file goes to the user's DM with the app instead.
NOT_HERE = ("not_in_channel", "channel_not_found", "access_denied")


def file_hosts(api_url: str) -> frozenset[str]:
    """Slack's file host, plus the host of a non-default API URL (a test's loopback server)."""
    host = urlparse(api_url).hostname
    return SLACK_FILE_HOSTS | ({host} if host and api_url != DEFAULT_API_URL else set())


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


async def download(
    client: AsyncWebClient, file_id: str, hosts: frozenset[str]
) -> tuple[bytes, str]:
    """The uploaded file's bytes and name, by `files.info` then its private download URL,
    under the module's policy (hosts, HTTPS, no redirects, size cap)."""
    try:
        info = (await client.files_info(file=file_id))["file"]
    except SlackApiError as err:
        raise ProviderError(f"Slack did not give the file ({err.response.get('error')}).") from None
    name = info.get("name") or "upload.csv"
    if int(info.get("size") or 0) > MAX_BYTES:
        raise _too_big(name)
    url = info.get("url_private_download") or info.get("url_private") or ""
    parts = urlparse(url)
    host = parts.hostname or ""
    if host not in hosts or (parts.scheme != "https" and not _loopback(host)):
        raise ProviderError("The file is not on Slack's file host; it was not downloaded.")
    headers = {"Authorization": f"Bearer {client.token}"}
    timeout = aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(url, headers=headers, allow_redirects=False) as answer,
    ):
        if answer.status != 200 or answer.content_type == "text/html":
            raise ProviderError(
                f"Slack's file host answered {answer.status}; the file could "
                "not be read (the app needs the files:read scope)."
            )
        if (answer.content_length or 0) > MAX_BYTES:
            raise _too_big(name)
        data = bytearray()
        async for piece in answer.content.iter_chunked(CHUNK):
            data += piece
            if len(data) > MAX_BYTES:
                raise _too_big(name)
    return bytes(data), name


def _too_big(name: str) -> ValidationError:
    return ValidationError(
        f"{shorten(name)} is over {MAX_BYTES // 1024 // 1024} MB, the limit per file; split "
        "it into smaller files, each starting with the header line."
    )


async def upload(
    client: AsyncWebClient, reply: FileReply, channel: str | None, user_id: str
) -> None:
    """Uploads into the conversation the command came from, or the user's DM with the app
    when the app is not in that conversation (or there is none, as in App Home)."""
    await upload_bytes(client, reply.filename, reply.content, reply.text, channel, user_id)


async def upload_csv(
    client: AsyncWebClient, export: CsvFile, channel: str | None, user_id: str
) -> None:
    """An export (or a review's customers) as a file upload. The CSV is written in a worker
    thread, a batch of customers at a time; Slack's upload takes the file's bytes whole."""
    data = await asyncio.to_thread(_whole, export)
    await upload_bytes(client, export.filename, data, export.text, channel, user_id)


def _whole(export: CsvFile) -> bytes:
    out = io.BytesIO()
    export.write(out)
    return out.getvalue()


async def upload_bytes(
    client: AsyncWebClient,
    filename: str,
    data: bytes,
    text: str,
    channel: str | None,
    user_id: str,
) -> None:
    """files_upload_v2 (files.getUploadURLExternal, the bytes to its URL, then
    files.completeUploadExternal), into `channel` or else the user's DM; raises
    `ProviderError` saying what Slack refused, for the user."""
    args: dict[str, Any] = {
        "filename": filename,
        "content": data,
        "title": filename,
        "initial_comment": mrkdwn(text),  # read as mrkdwn: a file name cannot mention
    }
    try:
        if channel:
            try:
                await client.files_upload_v2(channel=channel, **args)
                return
            except SlackApiError as err:
                if err.response.get("error") not in NOT_HERE:
                    raise
        dm = await client.conversations_open(users=user_id)
        await client.files_upload_v2(channel=dm["channel"]["id"], **args)
    except SlackApiError as err:
        raise ProviderError(
            f"Slack did not take the file {shorten(filename)} "
            f"({err.response.get('error')}); try again in a minute."
        ) from None
    except SlackRequestError:
        raise ProviderError(
            f"Slack's file host did not take {shorten(filename)}; try again in a minute."
        ) from None


def problems_file(review: BulkReview) -> FileReply:
    """Every problem of a reviewed CSV, by row and column, as a CSV that Excel opens."""
    data = export_csv(
        ["Row", "Column", "Problem"], ((p.row, p.column, p.reason) for p in review.problems)
    )
    stem = review.filename.rsplit(".", 1)[0] or "upload"
    return FileReply(
        f"{stem}-problems.csv",
        data,
        "text/csv",
        f"Every problem in {review.filename} ({len(review.problems):,}), by row and column.",
    )
