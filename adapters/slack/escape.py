"""User text (names, domains, emails) made safe for Slack's mrkdwn, escaped exactly once, where
it becomes mrkdwn.

Slack's own rule escapes `&`, `<` and `>`, so text can never form `<!channel>`, `<@U…>` or a
`<url|label>` link. mrkdwn has no escape for `*`, `_`, `~` and backticks, so a zero-width
space follows each of them: it can then neither open nor close formatting. Three things in
user text are left whole, because a zero-width space inside them breaks them: emoji codes
(`:hourglass_flowing_sand:`), web addresses, and email addresses, which become Slack's
`<mailto:…|…>` link so that what a user copies is the address. Text objects that carry user
text also set `verbatim`, so Slack does not turn a domain into a link.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
_FORMATTING = re.compile(r"([*_~`])")
# Whole pieces: an emoji code, a web address, an email address (of the characters that are
# safe inside a mailto link; a rarer address is escaped like any other text).
_WHOLE = re.compile(
    r"(?P<emoji>:[a-z0-9][a-z0-9_+'-]*:)"
    r"|(?P<url>https?://[^\s<>*~`|\"]+)"
    r"|(?P<email>[A-Za-z0-9][A-Za-z0-9._%+'-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


def escape(text: str) -> str:
    """Slack's three entities only; for `text` fallbacks and anything read as mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> str:
    return _FORMATTING.sub(r"\1" + ZWSP, escape(text))


def mrkdwn(text: str) -> str:
    """User text to put inside mrkdwn we write ourselves (e.g. in `*bold*`)."""
    out: list[str] = []
    start = 0
    for found in _WHOLE.finditer(text):
        out.append(_plain(text[start : found.start()]))
        piece = found.group()
        if found.lastgroup == "email":
            out.append(f"<mailto:{piece}|{piece}>")
        else:
            out.append(escape(piece))
        start = found.end()
    out.append(_plain(text[start:]))
    return "".join(out)


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when something was cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
