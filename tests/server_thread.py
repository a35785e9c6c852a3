"""The reference server served from a thread of the test process, over a real socket.

For tests that break the server with monkeypatch (which only reaches this process) and
still drive it from another process, such as `placement-conformance` or pytest run as a
command. Each break replaces a function that is looked up at request time, so one server
serves every case.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Iterator

import uvicorn

from reference_impl.app import create_app
from reference_impl.config import Settings


@contextlib.contextmanager
def serving_in_thread(database: Path, tls: tuple[Path, Path] | None = None) -> Iterator[str]:
    """Serve a reference server on SQLite at `database`; yield its URL. With `tls`, a
    certificate chain and its key (PEM files), it serves HTTPS."""
    certificate, key = tls or (None, None)
    server = uvicorn.Server(uvicorn.Config(create_app(Settings(db_url=f"sqlite:///{database}")),
                                           host="127.0.0.1", port=0, log_level="warning",
                                           ssl_certfile=certificate, ssl_keyfile=key))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()
