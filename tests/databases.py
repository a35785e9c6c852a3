"""Scratch databases for tests: SQLite always, PostgreSQL and MariaDB when CI names them.

`PLACEMENT_TEST_POSTGRESQL_URL` and `PLACEMENT_TEST_MYSQL_URL` name a server and a
database the tests may connect to; each test session creates a database of its own
beside it, and drops it at the end, so runs never see each other's data. A backend with
no URL is skipped, saying so (failed, when `PLACEMENT_TEST_REQUIRE` names it).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from tests.dependencies import unavailable

BACKEND_VARIABLES = {
    "postgresql": "PLACEMENT_TEST_POSTGRESQL_URL",
    "mysql": "PLACEMENT_TEST_MYSQL_URL",
}
# Every backend, configured or not: one the environment does not name shows as a skipped
# parameter that says so, rather than vanishing from the run.
BACKENDS = ["sqlite", *BACKEND_VARIABLES]


def server_url(backend: str) -> URL:
    """The database server the environment names for `backend`. Without one the calling
    test is skipped, or failed when PLACEMENT_TEST_REQUIRE names the backend."""
    variable = BACKEND_VARIABLES[backend]
    if not os.environ.get(variable):
        unavailable(backend, f"{variable} is not set")
    return make_url(os.environ[variable])


@contextlib.contextmanager
def scratch_database(backend: str, folder: Path) -> Iterator[str]:
    """A new, empty database for `backend`; its URL while the context lasts."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'placement-{uuid.uuid4().hex[:8]}.db'}"
        return
    server = server_url(backend)
    name = f"placement_ref_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            else:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin.dispose()
