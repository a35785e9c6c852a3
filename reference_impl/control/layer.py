"""The outermost layer of a server started with `--control`.

It sits outside everything else, Connexion's own error handling included, because what
it does must not look like the server's doing: a request for the control API is admitted
here, with the admin token, and is then handed straight to the control API's Connexion
application, past all of Placement's checks; every other request is written in the
journal, with the answer exactly as it leaves the server, and meets the faults first
(`faults.py`): a fault answers before the server looks at the request at all.

The layer reads a request's whole body before anything else does, so that the journal
has it whatever the answer; the body is then handed on unchanged.
"""

from __future__ import annotations

import asyncio
import time

from reference_impl.control import PREFIX
from reference_impl.control.faults import DEFAULT_CODE, DEFAULT_DETAIL, Fault
from reference_impl.control.journal import Entry, Message
from reference_impl.control.state import Control
from reference_impl.errors import Forbidden, PlacementError, Unauthorized
from reference_impl.middleware import (
    CONTROL,
    replay,
    request_headers,
    requested_version,
    send_error,
)

# The control API's document and Swagger UI, open as the Placement API's are.
DOCUMENTS = (f"{PREFIX}/openapi.json", f"{PREFIX}/ui")


class ControlLayer:
    def __init__(self, app, control: Control):
        self.app = app
        self.control = control

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and is_control_path(scope["path"]):
            await self._admit(scope, receive, send)
        elif scope["type"] == "http":
            await self._journaled(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _journaled(self, scope, receive, send) -> None:
        body = await _whole_body(receive)
        entry = self.control.journal.begin(
            scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
            Message(_header_map(scope.get("headers", [])), body))
        started = time.perf_counter()
        fault = self.control.faults.meet(
            scope["method"], scope["path"],
            requested_version(entry.request.headers, self.control.maximum))
        try:
            if fault is None:
                await self.app(scope, replay(body), _recording(send, entry))
            else:
                entry.fault = fault.id
                await self._inject(fault, scope, replay(body), send, entry)
        finally:
            entry.duration_ms = (time.perf_counter() - started) * 1000

    async def _inject(self, fault: Fault, scope, receive, send, entry: Entry) -> None:
        rule = fault.rule
        await asyncio.sleep(rule.get("delay", 0))
        if rule.get("drop"):
            await _drop(send)
        elif "status" in rule:
            error = PlacementError(rule.get("detail", DEFAULT_DETAIL), status=rule["status"],
                                   code=rule.get("code", DEFAULT_CODE))
            # Marked as a handler's error would be (`Vary`): a conflict is one.
            await send_error(scope, _recording(send, entry), error, vary=True,
                             maximum=self.control.maximum)
        else:
            await self.app(scope, receive, _recording(send, entry))

    async def _admit(self, scope, receive, send) -> None:
        """Refuse a control request without the admin token (401 without a token, 403
        with another), in Placement's words; hand on the others, marked as admitted."""
        if not scope["path"].startswith(DOCUMENTS):
            token = request_headers(scope).get("x-auth-token")
            if token is None:
                await send_error(scope, send, Unauthorized(), maximum=self.control.maximum)
                return
            if token != self.control.admin_token:
                await send_error(scope, send, Forbidden(
                    "Only the admin token may use the control API."),
                    maximum=self.control.maximum)
                return
        await self.app({**scope, CONTROL: self.control}, receive, send)


def is_control_path(path: str) -> bool:
    return path == PREFIX or path.startswith(f"{PREFIX}/")


async def _drop(send) -> None:
    """Close the connection without an answer. ASGI has no word for that, so the
    connection is reached through uvicorn's `send`, a method of the request's cycle,
    which holds the connection's transport; this layer is outermost so that it gets
    that `send` itself."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("a dropped connection needs uvicorn to serve the application")
    transport.close()
    # One turn of the loop: uvicorn hears that the connection is lost, and sends no 500
    # for an application that returned without answering.
    await asyncio.sleep(0)


async def _whole_body(receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return b"".join(chunks)


def _recording(send, entry: Entry):
    """`send`, noting in `entry` the answer it sends."""
    chunks = []

    async def recording(message):
        if message["type"] == "http.response.start":
            entry.response.status = message["status"]
            entry.response.headers = _header_map(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                entry.response.body = b"".join(chunks)
        await send(message)

    return recording


def _header_map(headers) -> dict[str, str]:
    """Raw headers by lower-case name; a repeated header's values joined as HTTP allows."""
    mapped: dict[str, str] = {}
    for name, value in headers:
        name, value = name.decode("latin-1").lower(), value.decode("latin-1")
        mapped[name] = f"{mapped[name]}, {value}" if name in mapped else value
    return mapped
