"""One request and the response it got, as a report shows a failure: both in full, and a
curl command that sends the request again.

The token is never written down: its header shows `$PLACEMENT_TOKEN`, which is also
what the curl command reads, as the fuzzer's commands do.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Iterable

import httpx

TOKEN_HEADER = "x-auth-token"
TOKEN_VARIABLE = "$PLACEMENT_TOKEN"
# Headers a client adds by itself; curl adds its own.
_TRANSPORT_HEADERS = frozenset({"host", "content-length", "user-agent", "accept-encoding",
                                "connection"})


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int
    response_headers: tuple[tuple[str, str], ...]
    response_body: str

    @classmethod
    def of(cls, method: str, url: str, request_headers: Iterable[tuple[str, str]],
           request_body: bytes | None, status: int,
           response_headers: Iterable[tuple[str, str]], response_body: bytes) -> Exchange:
        return cls(method.upper(), url, _shown(request_headers), _text(request_body), status,
                   _shown(response_headers), _text(response_body))

    @classmethod
    def from_httpx(cls, response: httpx.Response) -> Exchange:
        """A response that has been read, with the request it answers."""
        request = response.request
        return cls.of(request.method, str(request.url), request.headers.multi_items(),
                      request.content, response.status_code, response.headers.multi_items(),
                      response.content)

    def curl(self) -> str:
        """A curl command that sends the request again, the token read from the shell."""
        parts = ["curl", "-i", "-X", self.method]
        for name, value in self.request_headers:
            if name.lower() in _TRANSPORT_HEADERS:
                continue
            if name.lower() == TOKEN_HEADER:
                parts += ["-H", f'"{name}: {TOKEN_VARIABLE}"']
            else:
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            parts += ["--data-binary", shlex.quote(self.request_body)]
        return " ".join([*parts, shlex.quote(self.url)])


def _shown(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple((name, TOKEN_VARIABLE if name.lower() == TOKEN_HEADER else value)
                 for name, value in headers)


def _text(body: bytes | None) -> str:
    """A body as text: Placement's are JSON or HTML in UTF-8; other bytes are shown escaped."""
    return (body or b"").decode("utf-8", "backslashreplace")
