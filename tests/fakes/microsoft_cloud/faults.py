"""Scripted faults: a refusal (429, 503, 500, 4xx with Microsoft's body) or a late answer for
the next N requests that match a method and a regular expression searched in the path."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.fakes.microsoft_cloud.http import Reply

RATE_LIMITED = "Rate limit is exceeded. Try again in {seconds} seconds."

_GRAPH_CODES = {
    400: ("badRequest", "The request is invalid."),
    401: ("InvalidAuthenticationToken", "Access token validation failure."),
    403: ("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
    404: ("Request_ResourceNotFound", "The requested resource does not exist."),
    409: ("conflict", "The resource already exists."),
    412: ("preconditionFailed", "The resource has been modified since it was read."),
    429: ("TooManyRequests", "Too many requests. Please try again later."),
    500: ("InternalServerError", "An unexpected error occurred in the server."),
    502: ("BadGateway", "The gateway received an invalid response."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
    504: ("GatewayTimeout", "The gateway timed out."),
}

_PC_DESCRIPTIONS = {
    400: (400, "The request is invalid."),
    401: (401, "Unauthorized: the access token is invalid."),
    403: (403, "Forbidden: the caller is not allowed to perform this operation."),
    404: (600, "The requested resource was not found."),
    409: (900104, "The request is being processed. Try again later."),
    500: (500, "An unexpected error occurred."),
    503: (503, "The service is temporarily unavailable."),
}


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    times: int
    server: str | None  # login, graph, partner_center, cert; None: any


@dataclass
class Failure(Fault):
    status: int
    retry_after: float | None
    body: Any


@dataclass
class Stall(Fault):
    seconds: float
    before: bool  # wait before doing the work (lost on the way in) or after (answer lost)


def matches(fault: Fault, server: str, method: str, path: str) -> bool:
    return (
        fault.times > 0
        and fault.method in (method, "*")
        and (fault.server is None or fault.server == server)
        and fault.path.search(path) is not None
    )


def graph_error(status: int, code: str, message: str, client_request_id: str = "") -> Reply:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": client_request_id or str(uuid.uuid4()),
            },
        }
    }
    return Reply(status, body)


def pc_error(status: int, code: int, description: str, source: str = "PartnerFD") -> Reply:
    return Reply(status, {"code": code, "description": description, "data": [], "source": source})


def _retry_seconds(retry_after: float | None) -> str:
    seconds = 1.0 if retry_after is None else retry_after
    return str(int(seconds)) if float(seconds).is_integer() else str(seconds)


def failure_reply(failure: Failure, server: str) -> Reply:
    """The scripted refusal in the wire format of the server that sends it."""
    headers: dict[str, str] = {}
    if failure.status == 401 and server in ("graph", "partner_center"):
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    if failure.retry_after is not None or failure.status in (429, 503):
        headers["Retry-After"] = _retry_seconds(failure.retry_after)
    if failure.body is not None:
        return Reply(failure.status, failure.body, headers)
    status = failure.status
    if server == "login":
        error = "temporarily_unavailable" if status >= 429 else "invalid_request"
        body = {"error": error, "error_description": f"AADSTS90033: fault {status} (fake)."}
        return Reply(status, body, headers)
    if server == "partner_center":
        if status == 429:
            seconds = headers["Retry-After"]
            throttled = {"statusCode": 429, "message": RATE_LIMITED.format(seconds=seconds)}
            return Reply(status, throttled, headers)
        number, description = _PC_DESCRIPTIONS.get(status, (status, "The request failed."))
        reply = pc_error(status, number, description)
        reply.headers.update(headers)
        return reply
    code, message = _GRAPH_CODES.get(status, ("generalException", "The request failed."))
    reply = graph_error(status, code, message)
    reply.headers.update(headers)
    return reply
