"""A request of the walk, as written once for both servers, and a server's answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from tests.parity_script import ADMIN_TOKEN

if TYPE_CHECKING:
    from tests.differential.world import World

ABSENT = object()  # no JSON body (not JSON `null`, which is a body some tests send)


@dataclass(frozen=True)
class Answer:
    """What one server answered: the status, every header (names in lower case), the text."""

    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.text)
        except ValueError:
            return None


# What a request changes in the model once the answers are in: (world, side -> answer).
Learn = Callable[["World", dict[str, Answer]], None]


@dataclass
class Request:
    """One request of a walk, written once and sent, byte for byte the same, to both servers.

    `path` and the JSON body may name providers as `{{rp3}}`; each server gets its own
    uuid for them there (see `World.render`). `version` is the whole
    `OpenStack-API-Version` value, or None for no header. `learn` is how the request
    changes the model when upstream accepts it.
    """

    purpose: str
    method: str
    path: str
    version: str | None
    body: Any = ABSENT
    raw: bytes | None = None  # a body sent as is, instead of `body`
    content_type: str | None = "application/json"  # sent only with a body
    accept: str | None = None  # None: the client's default, `*/*`
    token: str | None = ADMIN_TOKEN
    learn: Learn | None = None
    consumers: tuple[str, ...] = ()  # the consumers a write names (see `strict`)
    twists: list[str] = field(default_factory=list)  # the invalid variants applied

    @property
    def has_body(self) -> bool:
        return self.raw is not None or self.body is not ABSENT

    def payload(self) -> str | None:
        """The body's text, placeholders included; None without a body."""
        if self.raw is not None:
            return self.raw.decode("utf-8", errors="replace")
        if self.body is ABSENT:
            return None
        return json.dumps(self.body)

    def headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.token is not None:
            headers["x-auth-token"] = self.token
        if self.version is not None:
            headers["openstack-api-version"] = self.version
        if self.accept is not None:
            headers["accept"] = self.accept
        if self.has_body and self.content_type is not None:
            headers["content-type"] = self.content_type
        return headers

    def describe(self) -> str:
        """`PUT /allocations/... [placement 1.28] {...}`, with what is unusual about it."""
        words = [self.method, self.path,
                 f"[{self.version}]" if self.version is not None else "[no version header]"]
        if self.token != ADMIN_TOKEN:
            words.append("(no token)" if self.token is None else f"(token {self.token!r})")
        if self.accept is not None:
            words.append(f"(accept {self.accept!r})")
        if self.has_body and self.content_type != "application/json":
            words.append(f"(content-type {self.content_type!r})")
        payload = self.payload()
        if payload is not None:
            words.append(payload if self.raw is None else repr(self.raw))
        return " ".join(words)
