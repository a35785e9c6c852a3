"""Scratch databases for tests: SQLite always, PostgreSQL and MariaDB when CI names them.

`PLACEMENT_TEST_POSTGRESQL_URL` and `PLACEMENT_TEST_MYSQL_URL` name a server and a
database the tests may connect to; each test session creates a database of its own
beside it, and drops it at the end, so runs never see each other's data.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BACKEND_VARIABLES = {
    "postgresql": "PLACEMENT_TEST_POSTGRESQL_URL",
    "mysql": "PLACEMENT_TEST_MYSQL_URL",
}


def configured_backends() -> list[str]:
    """SQLite, and each server backend whose URL the environment gives."""
    return ["sqlite"] + [name for name, variable in BACKEND_VARIABLES.items()
                         if os.environ.get(variable)]


@contextlib.contextmanager
def scratch_database(backend: str, folder: Path) -> Iterator[str]:
    """A new, empty database for `backend`; its URL while the context lasts."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'placement-{uuid.uuid4().hex[:8]}.db'}"
        return
    server_url = make_url(os.environ[BACKEND_VARIABLES[backend]])
    name = f"placement_ref_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield server_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
