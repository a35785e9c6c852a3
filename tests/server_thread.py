"""The reference server served from a thread of the test process, over a real socket.

For tests that break the server with monkeypatch (which only reaches this process) and
still drive it from another process, such as `placement-conformance` or pytest run as a
command. Each break replaces a function that is looked up at request time, so one server
serves every case.
"""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Iterator

from reference_impl.app import create_app
from reference_impl.config import Settings
from reference_impl.testing import serve_in_thread


class RequestLog:
    """The microversion each request to a server asked for (its `OpenStack-API-Version`,
    empty when none), in order: for a test that must wait until a client has got somewhere
    rather than guess how long that takes."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._versions: list[str] = []

    def record(self, version: str) -> None:
        with self._changed:
            self._versions.append(version)
            self._changed.notify_all()

    def clear(self) -> None:
        with self._changed:
            self._versions.clear()

    def wait_for(self, version: str, timeout: float) -> bool:
        """Wait until a request asks for `version` (say "placement 1.28"), at most
        `timeout` seconds; whether one did."""
        with self._changed:
            return self._changed.wait_for(lambda: version in self._versions, timeout)


def _logging_requests(app, log: RequestLog):
    """`app`, recording in `log` the microversion of each request before answering it."""
    async def logged(scope, receive, send):
        if scope["type"] == "http":
            headers = dict(scope["headers"])
            log.record(headers.get(b"openstack-api-version", b"").decode("latin-1"))
        await app(scope, receive, send)
    return logged


@contextlib.contextmanager
def serving_in_thread(database: Path, tls: tuple[Path, Path] | None = None,
                      requests: RequestLog | None = None) -> Iterator[str]:
    """Serve a reference server on SQLite at `database`; yield its URL. With `tls`, a
    certificate chain and its key (PEM files), it serves HTTPS; with `requests`, it
    records there what each request asks for."""
    certificate, key = tls or (None, None)
    app = create_app(Settings(db_url=f"sqlite:///{database}"))
    if requests is not None:
        app = _logging_requests(app, requests)
    with serve_in_thread(app, ssl_certfile=certificate, ssl_keyfile=key) as url:
        yield url
