"""Driving the real `app.py` as a person does: on a terminal (a pseudo-terminal of the size
we choose, so line editing, prompts and column widths are the ones a user gets) or
through pipes, as a script does."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[=>]|\r")


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a user on a fresh machine: the test's database, its own state
    folder and home, no chat credentials."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "MICROSOFT_APP", "DATABASE_", "PORT", "HOST", "XDG_"))
        and k not in ("COLUMNS", "LINES", "ONBOARDING_CALLER_DIR")
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "PARTNER_NAME": "Fabrikam Cloud",
            "HOME": str(tmp_path / "home"),
            "XDG_STATE_HOME": str(tmp_path / "state"),
            "TERM": "xterm",
            **extra,
        }
    )
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


class Terminal:
    """A process on a pseudo-terminal: `expect` waits for text on its screen, `type` types.

    Everything the process writes, stdout and stderr alike, lands on this one screen, as
    it would in a terminal window."""

    def __init__(
        self,
        args: list[str],
        *,
        cwd: Path,
        env: dict[str, str],
        columns: int = 80,
        rows: int = 40,
    ) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.fd = master
        self.process = subprocess.Popen(
            args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.screen = ""

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # the process ended and closed the terminal
            return False
        if not data:
            return False
        self.screen += _ESCAPES.sub("", data.decode("utf-8", "replace"))
        return True

    def expect(self, text: str, timeout: float = 60) -> str:
        """Waits until `text` is on the screen; returns the screen so far."""
        deadline = time.monotonic() + timeout
        while text not in self.screen:
            left = deadline - time.monotonic()
            if left <= 0 or (not self._read(min(left, 0.5)) and self.process.poll() is not None):
                if text in self.screen:
                    break
                raise AssertionError(f"{text!r} never appeared; the screen:\n{self.screen}")
        return self.screen

    def type(self, line: str) -> None:
        os.write(self.fd, (line + "\r").encode())

    def wait_for_exit(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.2)
        while self._read(0.05):
            pass
        if self.process.poll() is None:
            self.close()
            raise AssertionError(f"the process did not end; the screen:\n{self.screen}")
        return self.process.returncode

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=20)
        os.close(self.fd)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def on_terminal(tmp_path: Path, *app_args: str, columns: int = 80, **env: str) -> Terminal:
    """`python app.py ARGS` on a terminal `columns` wide, started in `tmp_path`."""
    return Terminal(
        [sys.executable, str(ROOT / "app.py"), *app_args],
        cwd=tmp_path,
        env=console_env(tmp_path, **env),
        columns=columns,
    )


def piped(
    tmp_path: Path, script: str, *app_args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python app.py console ARGS < script`, stdout and stderr captured apart."""
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "console", *app_args],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=console_env(tmp_path, **env),
        timeout=120,
    )


def has_pty() -> bool:
    try:
        master, slave = pty.openpty()
    except OSError:
        return False
    os.close(master)
    os.close(slave)
    return True
