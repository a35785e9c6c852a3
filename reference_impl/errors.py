"""Placement's errors and the one place that turns them into response bodies.

Handlers and storage raise `PlacementError` (or one of its named subclasses); the
application turns it into Placement's JSON error body. The body's `detail` starts with the
generic explanation of the status, as upstream's web framework writes it, then the
specific message, so that clients matching either part find it.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from placement_spec import Microversion

UNDEFINED_CODE = "placement.undefined_code"
CONCURRENT_UPDATE = "placement.concurrent_update"
INVENTORY_IN_USE = "placement.inventory.inuse"
DUPLICATE_NAME = "placement.duplicate_name"
PROVIDER_IN_USE = "placement.resource_provider.inuse"
PROVIDER_HAS_CHILDREN = "placement.resource_provider.cannot_delete_parent"

# Error codes are part of the body from this microversion on.
CODES_SINCE = Microversion(1, 23)

_EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed "
    "or otherwise incorrect.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    406: "The resource could not be generated that was acceptable to your request.",
    409: "There was a conflict when trying to complete your request.",
    413: "The request is larger than the server is willing or able to process.",
    415: "The request media type is not supported by this server.",
    500: "The server has either erred or is incapable of performing the requested "
    "operation.",
}


class PlacementError(Exception):
    """A failure that Placement reports with a status, a message and an error code."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None, code: str = UNDEFINED_CODE,
                 headers: dict[str, str] | None = None, extra: dict | None = None,
                 outside_handler: bool = False):
        super().__init__(message)
        self.message = message
        self.status = status or self.status
        self.code = code
        self.headers = headers or {}
        self.extra = extra or {}
        # Upstream raises some errors (an unknown provider or class, looked up before its
        # handler catches anything) past the layer that adds `Vary`; they go without it.
        self.outside_handler = outside_handler


class BadRequest(PlacementError):
    status = 400


class Forbidden(PlacementError):
    status = 403


class NotFound(PlacementError):
    status = 404


class Conflict(PlacementError):
    status = 409


class ConcurrentUpdate(Conflict):
    """Someone else changed the same provider or consumer first: the client may retry."""

    def __init__(self, message: str):
        super().__init__(message, code=CONCURRENT_UPDATE)


def error_body(error: PlacementError, version: Microversion | None, request_id: str) -> dict:
    """Placement's error document for `error`, as seen at `version`.

    `version` is None when the request never got one (a bad version header): such an error
    has no code, like every error before 1.23.
    """
    explanation = _EXPLANATIONS.get(error.status, HTTPStatus(error.status).description)
    item = {
        "status": error.status,
        "title": HTTPStatus(error.status).phrase,
        "detail": f"{explanation}\n\n {error.message}  ",
        "request_id": request_id,
    }
    if version is not None and version >= CODES_SINCE:
        item["code"] = error.code
    item.update(error.extra)
    return {"errors": [item]}


def plain_text(error: PlacementError) -> str:
    """The error as upstream writes it for a client that asked for text."""
    status = HTTPStatus(error.status)
    explanation = _EXPLANATIONS.get(error.status, status.description)
    return f"{error.status} {status.phrase}\n\n{explanation}\n\n {error.message}  "


def encode(document: dict) -> bytes:
    return json.dumps(document).encode("utf-8")
