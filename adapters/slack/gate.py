"""The door of `POST /slack/events`: a request that is not signed by Slack, or not one Slack
could have sent, is refused here before Bolt sees it, with its status and one short log line.

Bolt would log a badly signed request's whole body (at INFO), and answer a timestamp that is
not a number, malformed `payload=` JSON or a body it cannot parse with a stack trace and 500.
Bolt's own verification stays on behind this one; the two agree on what is signed. The
signature is computed here once (slack_sdk's `is_valid` would compute it again on the decoded
text just to add the clock check, which is done here on its own).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_TIMESTAMP = re.compile(r"[0-9]{1,15}")
MAX_AGE = 60 * 5  # seconds either side of now a timestamp is accepted (as slack_sdk's check)


@dataclass(frozen=True)
class Refusal:
    status: int  # 401: not signed by Slack; 400: signed, but not a request Slack sends
    reason: str


def _signed(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Slack's v0 signature over the raw bytes (whatever the timestamp and the body hold)."""
    base = b"v0:" + timestamp.encode("utf-8", "surrogateescape") + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "surrogateescape"))


def refusal(
    verifier: SignatureVerifier, headers: Mapping[str, str], content_type: str, body: bytes
) -> Refusal | None:
    """Why this request is refused, or None when it is signed, fresh and well formed."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not timestamp or not signature:
        return Refusal(401, "unsigned")
    if not _signed(verifier.signing_secret, timestamp, body, signature):
        return Refusal(401, "bad signature")
    if not _TIMESTAMP.fullmatch(timestamp):
        return Refusal(400, "the timestamp is not a number")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "the body is not UTF-8")
    if abs(verifier.clock.now() - int(timestamp)) > MAX_AGE:
        return Refusal(401, "stale timestamp")
    if not text.strip():
        return Refusal(400, "empty body")
    if content_type == JSON:
        return None if _json_object(text) else Refusal(400, "malformed JSON")
    if content_type != FORM:
        return Refusal(400, "unknown content type")
    payload = parse_qs(text, keep_blank_values=True).get("payload")
    if payload is not None and (len(payload) != 1 or not _json_object(payload[0])):
        return Refusal(400, "malformed JSON in payload")
    return None


def _json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
