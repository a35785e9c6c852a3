"""The request journal: the last requests to the Placement API and their answers.

A client's test asks it what the client sent ("the client retried the PUT with
consumer_generation 3"), not only what came of it. It is kept in the memory of the
worker that answered, in a ring of `size` entries.
"""

from __future__ import annotations

import fnmatch
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone


@dataclass
class Message:
    """A request or a response as it went over the wire."""

    headers: dict[str, str]
    body: bytes = b""
    status: int | None = None

    def document(self, *, with_status: bool) -> dict:
        document = {"headers": self.headers, "body": _readable(self.body)}
        if with_status:
            document["status"] = self.status
        return document


@dataclass
class Entry:
    """One request and its answer; `response.status` stays None while no answer has
    started (and for good when the connection was dropped)."""

    id: int
    time: datetime
    method: str
    path: str
    query: str
    request: Message
    response: Message = field(default_factory=lambda: Message({}))
    duration_ms: float = 0.0
    # The fault that answered instead, delayed or dropped, by its id.
    fault: int | None = None

    def document(self) -> dict:
        return {"id": self.id, "time": self.time.isoformat(),
                "duration_ms": round(self.duration_ms, 3), "method": self.method,
                "path": self.path, "query": self.query,
                "microversion": _version(self.response.headers),
                "request": self.request.document(with_status=False),
                "response": self.response.document(with_status=True),
                "injected": self.fault is not None, "fault": self.fault}


class Journal:
    def __init__(self, size: int):
        self._entries: deque[Entry] = deque(maxlen=size)
        self._count = 0

    def begin(self, method: str, path: str, query: str, request: Message) -> Entry:
        """A new entry for a request that has just come, kept from now on."""
        self._count += 1
        entry = Entry(self._count, datetime.now(timezone.utc), method, path, query, request)
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def entries(self, method: str | None = None, path: str | None = None,
                limit: int | None = None) -> list[Entry]:
        """The entries of `method` whose path matches the shell-style pattern `path`,
        oldest first; only the last `limit` of them when given."""
        found = [entry for entry in self._entries
                 if (method is None or entry.method == method)
                 and (path is None or fnmatch.fnmatchcase(entry.path, path))]
        return found[-limit:] if limit else found


def _readable(body: bytes):
    """A body as a test reads it best: the JSON document, else the text, else None."""
    if not body:
        return None
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _version(headers: dict[str, str]) -> str | None:
    """The microversion an answer names (`placement 1.39` -> `1.39`)."""
    value = headers.get("openstack-api-version")
    return value.split()[-1] if value else None
