"""Adaptive Cards checked by Microsoft's own parser: the `adaptivecards` npm package, the one
Teams clients render with, run by `tests/support/adaptive_card_check.js` under Node.js.

npm installs the package into `.cache/adaptivecards` (gitignored) on first use, under a file
lock so parallel test processes do not race. One Node process per test process then checks
every card, a batch per call: starting Node costs about 0.3 s, a check about a millisecond."""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import select
import shutil
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tests" / "support" / "adaptive_card_check.js"
CACHE = ROOT / ".cache" / "adaptivecards"  # gitignored
PACKAGE = "adaptivecards"
VERSION = "3.0.6"
ANSWER_SECONDS = 60


class CheckerUnavailable(Exception):
    """Node.js or npm is not installed: the caller skips, with this one-line reason."""


class CheckerBroken(Exception):
    """npm could not install the package, or the checker did not answer: a real failure."""


def installed() -> Path:
    """The npm prefix holding adaptivecards@VERSION, installed there the first time."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise CheckerUnavailable(
            "the Adaptive Card parser check needs Node.js and npm (apt-get install nodejs npm)"
        )
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / "adaptivecards.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _installed_version() == VERSION:
            return CACHE
        result = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--legacy-peer-deps",  # its peer `swiper` is for carousels; the bundle has it
                "--prefix",
                str(CACHE),
                f"{PACKAGE}@{VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0 or _installed_version() != VERSION:
            raise CheckerBroken(
                f"npm could not install {PACKAGE}@{VERSION} into {CACHE} (is the npm "
                f"registry reachable?):\n{result.stderr.strip()[-1500:]}"
            )
    return CACHE


def _installed_version() -> str | None:
    try:
        manifest = CACHE / "node_modules" / PACKAGE / "package.json"
        return json.loads(manifest.read_text("utf-8")).get("version")
    except (OSError, ValueError):
        return None


class _Checker:
    """One long-running `node adaptive_card_check.js`: a JSON line in, a JSON line out."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def _start(self) -> subprocess.Popen[bytes]:
        prefix = installed()
        process = subprocess.Popen(
            ["node", str(CHECKER), str(prefix)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        atexit.register(self.close)
        return process

    def close(self) -> None:
        process, self._process = self._process, None
        if process and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()  # the script ends at the end of its input
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def check(self, cards: list[dict]) -> list[dict]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = self._start()
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(cards).encode("utf-8") + b"\n")
                process.stdin.flush()
                line = _read_line(process.stdout.fileno(), ANSWER_SECONDS)
            except (OSError, TimeoutError) as error:
                self.close()
                raise CheckerBroken(f"{CHECKER.name} did not answer: {error}") from error
            if not line:
                stderr = process.stderr.read().decode("utf-8", "replace") if process.stderr else ""
                self.close()
                raise CheckerBroken(f"{CHECKER.name} exited: {stderr.strip()[-1500:]}")
        answer = json.loads(line)
        if not isinstance(answer, list) or len(answer) != len(cards):
            raise CheckerBroken(f"{CHECKER.name} answered {line[:500]!r}")
        return answer


def _read_line(fd: int, seconds: float) -> str:
    """Reads up to a newline straight from the pipe (no buffering to hide data from select)."""
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([fd], [], [], seconds)
        if not ready:
            raise TimeoutError(f"no answer in {seconds:.0f} s")
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks).decode("utf-8")  # end of output: empty if nothing came
        chunks.append(chunk)
        if chunk.endswith(b"\n"):
            return b"".join(chunks).decode("utf-8")


_checker = _Checker()


def adaptive_card_problems(cards: list[dict]) -> list[list[str]]:
    """What Microsoft's parser reports for each card (an empty list: no problem), in order.
    Raises CheckerUnavailable without Node.js or npm, CheckerBroken if the check cannot run."""
    if not cards:
        return []
    return [result["problems"] for result in _checker.check(cards)]
