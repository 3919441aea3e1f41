"""The real `python app.py` serving an export link (GET /exports/ID): the file comes back to
a browser over loopback, a forged link is refused, and neither the link's signature nor the
signing key reaches the server's log."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from adapters.clock import SystemClock
from adapters.downloads import DownloadLinks, signing_key
from bot.domain import Actor
from bot.views import CsvFile
from tests.e2e.test_serve import env_for, free_port

ROOT = Path(__file__).resolve().parents[2]
KEY = "export-signing-key-Vx7#qP"
TENANT = "72f988bf-0000-4000-8000-000000000001"


async def test_a_served_link_downloads_and_its_signature_stays_out_of_the_log(tmp_path: Path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = env_for(tmp_path, PORT=str(port), PUBLIC_URL=base, EXPORT_SIGNING_KEY=KEY)
    env["LOG_LEVEL"] = "DEBUG"
    # What the bot hands a Teams user who typed `export`, made with the same key.
    asked = CsvFile("all.csv", "Every customer", 0, "", ("customers", ""), lambda: iter(()))
    teams_user = Actor("aad-vera", "Vera Viewer", "teams", TENANT)
    url, _ = DownloadLinks(None, SystemClock(), signing_key(KEY), base).link(asked, teams_user)  # type: ignore[arg-type]
    signature = url.rsplit("signature=", 1)[1]
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.get(f"{base}/healthz") as health:
                        if health.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert server.poll() is None, server.communicate()[0]
                assert time.monotonic() < deadline, "the server did not start in 30 s"
                await asyncio.sleep(0.2)
            async with session.get(url) as answer:
                assert answer.status == 200
                data = await answer.read()
            header = next(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
            assert header[:3] == ["Customer ID", "Customer Name", "Email Address"]
            async with session.get(url.replace(signature, "0" * len(signature))) as forged:
                assert forged.status == 403
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert '"GET /exports/' in output and "?…" in output  # the requests are logged…
    assert signature not in output  # …without what would let a log reader download
    assert KEY not in output
