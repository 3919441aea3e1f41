"""A loopback HTTPS fake of Entra's token endpoint and Graph `sendMail`, for msal's real
token code and the Graph mailer's real HTTP calls (trusted through a trustme CA). Every
sendMail body is checked against Microsoft's documented shape; answers can be scripted
(429 with Retry-After, 503, 400, 401) to exercise the ledger's handling."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

import jsonschema

TENANT = "6f1c2d3e-4a5b-4c6d-8e7f-0123456789ab"
CLIENT_ID = "0a1b2c3d-1111-4222-8333-444455556666"
SECRET = "client-secret-value"

_RECIPIENT = {
    "type": "object",
    "required": ["emailAddress"],
    "additionalProperties": False,
    "properties": {
        "emailAddress": {
            "type": "object",
            "required": ["address"],
            "additionalProperties": False,
            "properties": {"address": {"type": "string"}, "name": {"type": "string"}},
        }
    },
}
# user: sendMail (learn.microsoft.com/graph/api/user-sendmail): a message resource and
# saveToSentItems; only the properties this bot sends are allowed, so a typo fails here.
SENDMAIL_SCHEMA = {
    "type": "object",
    "required": ["message"],
    "additionalProperties": False,
    "properties": {
        "saveToSentItems": {"type": "boolean"},
        "message": {
            "type": "object",
            "required": ["subject", "body", "toRecipients"],
            "additionalProperties": False,
            "properties": {
                "subject": {"type": "string", "minLength": 1},
                "body": {
                    "type": "object",
                    "required": ["contentType", "content"],
                    "additionalProperties": False,
                    "properties": {
                        "contentType": {"enum": ["Text", "HTML", "text", "html"]},
                        "content": {"type": "string"},
                    },
                },
                "toRecipients": {"type": "array", "minItems": 1, "items": _RECIPIENT},
                "replyTo": {"type": "array", "items": _RECIPIENT},
                "from": _RECIPIENT,
                "internetMessageId": {"type": "string", "pattern": r"^<[^<>@\s]+@[^<>@\s]+>$"},
                "internetMessageHeaders": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "value"],
                        "additionalProperties": False,
                        "properties": {
                            "name": {"type": "string", "pattern": "^[Xx]-"},  # Graph's rule
                            "value": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class State:
    base: str = ""
    token_requests: list[dict[str, list[str]]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted sendMail bodies
    attempts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (mailbox, body)
    script: list[Answer] = field(default_factory=list)  # answers to the next sendMails
    valid_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            if body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
                base = f"{state.base}/{TENANT}"
                return self._answer(
                    200,
                    {
                        "token_endpoint": f"{base}/oauth2/v2.0/token",
                        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                        "issuer": f"{base}/v2.0",
                    },
                )
            self._answer(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            if self.path == f"/{TENANT}/oauth2/v2.0/token":
                form = parse_qs(raw.decode())
                with state.lock:
                    state.token_requests.append(form)
                    token = f"token-{len(state.token_requests)}"
                ok = form.get("client_id") == [CLIENT_ID] and (
                    form.get("client_secret") == [SECRET] or "client_assertion" in form
                )
                if not ok or form.get("grant_type") != ["client_credentials"]:
                    return self._answer(401, {"error": "invalid_client"})
                state.valid_tokens.add(token)
                return self._answer(
                    200, {"token_type": "Bearer", "expires_in": 3599, "access_token": token}
                )
            prefix, suffix = "/v1.0/users/", "/sendMail"
            if self.path.startswith(prefix) and self.path.endswith(suffix):
                mailbox = unquote(self.path[len(prefix) : -len(suffix)])
                body = json.loads(raw)
                jsonschema.validate(body, SENDMAIL_SCHEMA)  # a bad shape fails the test
                with state.lock:
                    state.attempts.append((mailbox, body))
                    scripted = state.script.pop(0) if state.script else None
                bearer = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if bearer not in state.valid_tokens:
                    return self._answer(
                        401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad"}}
                    )
                if scripted is not None:
                    return self._answer(scripted.status, scripted.body, scripted.headers)
                state.sent.append(body)
                return self._answer(202)
            self._answer(404, {"error": {"code": "NotFound", "message": self.path}})

    return Handler


class GraphMailFake:
    def __init__(self, server_context: ssl.SSLContext) -> None:
        self.state = State()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.httpd.socket = server_context.wrap_socket(self.httpd.socket, server_side=True)
        self.base = f"https://localhost:{self.httpd.server_address[1]}"
        self.state.base = self.base

    def __enter__(self) -> GraphMailFake:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
