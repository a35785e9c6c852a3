"""Both servers of a walk, started from empty databases.

Each seed's walk starts from nothing, as its model does, so both servers are started
afresh for it: upstream (gunicorn, SQLite, noauth2; `tests/peer.py`) and the reference
server (`placement-ref serve` on a SQLite file; `tests/server_process.py`), each on a new
database in a folder of its own. Starting both takes about three seconds, which is cheap
next to a walk of a few hundred requests, and leaves no doubt about what a database held.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

from tests.differential.walk import Servers
from tests.peer import running_peer
from tests.server_process import running_server

STRICT_OPTION = "--strict"


@contextlib.contextmanager
def fresh_servers(peer_venv: Path, folder: Path, *, strict: bool = False) -> Iterator[Servers]:
    """Upstream and the reference server on new, empty databases under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    extra = (STRICT_OPTION,) if strict else ()
    with running_peer(peer_venv, folder / "upstream") as peer, \
            running_server(f"sqlite:///{folder / 'reference.db'}", extra=extra) as reference:
        yield Servers(upstream=peer.url, reference=reference.url, strict=strict)
