"""User text (names, domains, emails) made safe for Slack's mrkdwn.

Slack's own rule escapes `&`, `<` and `>`, so text can never form `<!channel>`, `<@U…>` or a
`<url|label>` link. mrkdwn has no escape for `*`, `_`, `~` and backticks, so a zero-width
space follows each of them: it can then neither open nor close formatting. Text objects that
carry user text also set `verbatim`, so Slack does not turn a domain into a link.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_FORMATTING = re.compile(r"([*_~`])")


def escape(text: str) -> str:
    """Slack's three entities only; for `text` fallbacks and anything read as mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """User text to put inside mrkdwn we write ourselves (e.g. in `*bold*`)."""
    return _FORMATTING.sub(r"\1" + ZWSP, escape(text))


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
