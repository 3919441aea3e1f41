"""Where the process logs while a person types at the console: the server's and the
scheduler's lines would land in the middle of the prompt and of what is being typed, so
they go to a file in the user's state folder and only errors reach the terminal.

Without a console on a terminal (a service, a pipe, `--json`) nothing changes: the log
goes to standard error as configured, and standard output carries only the answers."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from adapters.console.places import log_file

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_BYTES = 5 * 1024 * 1024  # then the file is rotated, three kept: a laptop's disk is no archive
LOG_BACKUPS = 3
TERMINAL_LEVEL = logging.ERROR  # above WARNING: what the person at the prompt must see


def log_beside_the_console(level: int | str, path: Path | None = None) -> str:
    """Sends the log to the state folder's file (at `level`) and only errors to standard
    error; returns the line that tells the user where the log is."""
    path = path or log_file()
    root = logging.getLogger()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        to_file: logging.Handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
    except OSError as err:
        told = f"The log cannot be written to {path} ({err.strerror}): only errors are shown here."
        to_file = logging.NullHandler()
    else:
        told = f"The log is in {path}; only errors are shown here."
    to_file.setFormatter(logging.Formatter(FORMAT))
    to_file.setLevel(level)
    for handler in root.handlers:  # what basicConfig put on standard error
        handler.setLevel(max(TERMINAL_LEVEL, handler.level))
    root.addHandler(to_file)
    return told
