"""What a handler knows about the request it serves, beyond its parameters."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import format_datetime

from connexion import NoContent
from connexion.context import scope

from placement_spec import Microversion, facts
from reference_impl.middleware import RequestState

# The microversions whose responses with a body say when their data last changed.
WITH_LAST_MODIFIED = facts.response_header_range(
    "GET", "/resource_providers/{uuid}", 200, "last-modified")


def state() -> RequestState:
    # The scope itself: `connexion.request` would build a request object on every use.
    return scope["placement"]


def version() -> Microversion:
    return state().version


def query_values(name: str) -> list[str]:
    """Every value of query parameter `name`, in the order the client gave them."""
    return [value for key, value in state().query if key == name]


def url(path: str) -> str:
    """An absolute path to a resource of this server, as Placement's links give it."""
    return state().script_name + path


def respond(document: dict | None, status: int = 200, *, modified: datetime | None = None,
            stamped: bool = True, headers: dict[str, str] | None = None,
            stamp_empty: bool = False):
    """A handler's answer; from 1.15 a body (or, when `stamp_empty`, its absence) comes
    with `Cache-Control` and, when `stamped`, a `Last-Modified` of `modified` (now, if
    the data keeps no time)."""
    # Connexion insists on a content type even without a body (the spec lists JSON and
    # text errors); the middleware takes it off every response without a body, as
    # Placement sends none there.
    headers = {"content-type": "application/json", **(headers or {})}
    if (document is not None or stamp_empty) and WITH_LAST_MODIFIED.covers(version()):
        headers["cache-control"] = "no-cache"
        if stamped:
            stamp = modified or datetime.now(timezone.utc)
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=timezone.utc)
            headers["last-modified"] = format_datetime(stamp, usegmt=True)
    return (NoContent if document is None else document), status, headers
