"""What reaches the log from a Slack request: one line each, control characters escaped, cut
short, so a request can neither flood the log nor forge a line in it."""

from __future__ import annotations

import logging
import re

from bot.text import shorten

LOGGED_MAX = 300  # characters of one value from a request that a log line repeats
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def for_log(value: object, limit: int = LOGGED_MAX) -> str:
    """`value` as one printable line: backslashes doubled, control characters (line breaks
    included) written as escapes (`\\n`, `\\x1b`), at most `limit` characters."""
    text = str(value).replace("\\", "\\\\")
    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
    return shorten(text, limit)


class OneLine(logging.Filter):
    """Makes every record of the logger it is on (and of the loggers Bolt derives from it)
    one escaped line of at most `limit` characters; a traceback, if any, stays as it is."""

    def __init__(self, limit: int = 1000) -> None:
        super().__init__()
        self.limit = limit

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = for_log(record.getMessage(), self.limit), None
        return True


def bolt_logger() -> logging.Logger:
    """The logger handed to Bolt: its messages (an unhandled request's warning quotes the
    request) come out as single escaped lines."""
    logger = logging.getLogger("adapters.slack.bolt")
    if not any(isinstance(f, OneLine) for f in logger.filters):
        logger.addFilter(OneLine())
    return logger
