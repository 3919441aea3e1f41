"""Where the console reads and writes on the user's machine: a file the user names is found
from the folder they typed the command in (not the repository `run.sh` runs from), and what
the bot keeps for them (line history, the server's log) lives in their state folder."""

from __future__ import annotations

import os
from pathlib import Path

# run.sh changes into the repository (for .venv, .env and data/) and says here where the
# user was, so `bulk ./customers.csv` means the file beside them.
CALLER_DIR_VARIABLE = "ONBOARDING_CALLER_DIR"
APP_FOLDER = "onboarding-bot"


def user_folder() -> Path:
    """The folder the user typed the command in."""
    given = os.environ.get(CALLER_DIR_VARIABLE, "")
    if given and Path(given).is_absolute() and Path(given).is_dir():
        return Path(given)
    return Path.cwd()


def user_path(text: str, folder: Path) -> Path:
    """A path as the user typed it: `~` is their home, a relative path starts at `folder`."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path


def state_folder() -> Path:
    """`$XDG_STATE_HOME/onboarding-bot`, by default `~/.local/state/onboarding-bot` (the XDG
    Base Directory rules: a relative XDG_STATE_HOME is ignored)."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / APP_FOLDER


def history_file() -> Path:
    return state_folder() / "history"


def log_file() -> Path:
    return state_folder() / "server.log"


# Before the state folder, the history was ~/.onboarding_history; it is read once from there.
OLD_HISTORY_FILE = Path.home() / ".onboarding_history"
