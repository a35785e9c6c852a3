"""The database: its tables, and transactions that are safe with several writers.

Every write runs in one transaction (`Database.write`). Writers serialise on the rows they
change: on SQLite the whole write takes the database's write lock up front (`BEGIN
IMMEDIATE`), so a capacity check can never read a sum another writer is about to change;
on PostgreSQL and MariaDB the storage modules lock provider and consumer rows with
`SELECT ... FOR UPDATE`, in a fixed order, and read at READ COMMITTED so that a writer
that waited for a lock sees what the winner committed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Callable, Iterator, TypeVar

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.pool import StaticPool
from starlette.concurrency import run_in_threadpool

from reference_impl.config import in_memory
from reference_impl.errors import ConcurrentUpdate
from reference_impl.storage.standard_classes import STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS

metadata = MetaData()


def _timestamps() -> list[Column]:
    return [
        Column("created_at", DateTime, nullable=False, server_default=func.now()),
        Column("updated_at", DateTime, nullable=False, server_default=func.now()),
    ]


resource_classes = Table(
    "resource_classes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    *_timestamps(),
)

resource_providers = Table(
    "resource_providers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("generation", Integer, nullable=False, default=0),
    Column("parent_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=True),
    Column("root_provider_id", Integer, nullable=True),
    Column("created_at", DateTime, nullable=False, server_default=func.now()),
    # Empty until the provider first changes: upstream's answer to a rename shows it.
    Column("updated_at", DateTime, nullable=True),
)

inventories = Table(
    "inventories",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=False),
    Column("resource_class_id", Integer, ForeignKey("resource_classes.id"), nullable=False),
    Column("total", BigInteger, nullable=False),
    Column("reserved", BigInteger, nullable=False),
    Column("min_unit", BigInteger, nullable=False),
    Column("max_unit", BigInteger, nullable=False),
    Column("step_size", BigInteger, nullable=False),
    Column("allocation_ratio", Float, nullable=False),
    *_timestamps(),
    UniqueConstraint("resource_provider_id", "resource_class_id"),
)

consumers = Table(
    "consumers",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("project_id", String(255), nullable=False),
    Column("user_id", String(255), nullable=False),
    Column("consumer_type", String(255), nullable=True),
    Column("generation", Integer, nullable=False, default=0),
    *_timestamps(),
)

allocations = Table(
    "allocations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_provider_id", Integer, ForeignKey("resource_providers.id"), nullable=False),
    Column("consumer_id", Integer, ForeignKey("consumers.id"), nullable=False),
    Column("resource_class_id", Integer, ForeignKey("resource_classes.id"), nullable=False),
    Column("used", BigInteger, nullable=False),
    *_timestamps(),
    # With the amount, sums of a provider's usage read the index alone, not each row.
    Index("allocations_provider_class", "resource_provider_id", "resource_class_id", "used"),
    Index("allocations_consumer", "consumer_id"),
)

traits = Table(
    "traits",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    *_timestamps(),
)

resource_provider_traits = Table(
    "resource_provider_traits",
    metadata,
    Column("resource_provider_id", Integer, ForeignKey("resource_providers.id"),
           primary_key=True),
    Column("trait_id", Integer, ForeignKey("traits.id"), primary_key=True),
    Index("resource_provider_traits_trait", "trait_id"),
)

# An aggregate is nothing but a uuid that providers share, kept as the client wrote it
# (any uuid-like form, of any length), so it is a column of the link, not a row of its own.
resource_provider_aggregates = Table(
    "resource_provider_aggregates",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("resource_provider_id", Integer, ForeignKey("resource_providers.id"),
           nullable=False, index=True),
    Column("aggregate_uuid", Text, nullable=False),
)

# How often a write that lost a race with another transaction (a deadlock, a
# serialisation failure, a busy SQLite file) is tried again before the client gets 409.
WRITE_ATTEMPTS = 10

Result = TypeVar("Result")


@dataclass
class Database:
    engine: Engine
    # SQLite lets one writer in at a time, and makes the others poll with growing sleeps;
    # the writers of one process queue on this lock instead, which keeps their latency
    # flat. Writers in other processes still meet at SQLite's own lock.
    _sqlite_writers: threading.Lock = field(default_factory=threading.Lock)

    @property
    def in_loop(self) -> bool:
        """Whether to call this database from the event loop rather than a worker thread:
        yes for SQLite, whose statements are library calls shorter than a thread hop; no
        for a database server, whose round trips would stall the worker's other requests."""
        return self.engine.dialect.name == "sqlite"

    async def call(self, work: Callable[..., Result], *args) -> Result:
        """`work(*args)`, in the event loop or a worker thread as `in_loop` says."""
        if self.in_loop:
            return work(*args)
        return await run_in_threadpool(work, *args)

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def write(self, work: Callable[[Connection], Result]) -> Result:
        """Run `work` in one transaction; retry it when it lost a race, then give up.

        `work` must do all its reading inside the transaction, so that a retry starts
        from what the winner committed.
        """
        queue = self._sqlite_writers if self.engine.dialect.name == "sqlite" else nullcontext()
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with queue, self.engine.connect().execution_options(
                        placement_write=True) as connection:
                    with connection.begin():
                        return work(connection)
            except DBAPIError as error:
                if not _lost_race(error):
                    raise
                if attempt == WRITE_ATTEMPTS - 1:
                    raise ConcurrentUpdate(
                        "Another request changed the same data at the same time; "
                        "retry the request."
                    ) from error
                time.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")


def locks_rows(connection: Connection) -> bool:
    """Whether a write must lock the rows it changes: not on SQLite, where a write holds
    the whole database from its `BEGIN IMMEDIATE` (and `FOR UPDATE` is not SQL)."""
    return connection.dialect.name != "sqlite"


def _lost_race(error: DBAPIError) -> bool:
    text = str(getattr(error, "orig", error)).lower()
    return isinstance(error, IntegrityError) or any(
        sign in text
        for sign in ("deadlock", "could not serialize", "database is locked", "lock wait timeout")
    )


def connect(url: str) -> Database:
    """Open the database at `url`, creating or upgrading its schema.

    Several workers may start at once on one database: whichever loses the race to
    create a table or seed a class finds the winner's work done on its second look.
    """
    engine = _create_engine(url)
    for attempt in range(2):
        try:
            metadata.create_all(engine)
            _seed_standard_names(engine)
            break
        except DBAPIError:
            if attempt:
                raise
    return Database(engine)


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    return create_engine(url, isolation_level="READ COMMITTED", pool_pre_ping=True,
                         pool_size=10, max_overflow=20)


def _sqlite_engine(url: str) -> Engine:
    memory = in_memory(url)
    options = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    if memory:
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        # Let SQLAlchemy, not the driver, decide where transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection):
        writing = connection.get_execution_options().get("placement_write", False)
        # Straight to the driver: through SQLAlchemy, this statement of every request
        # would cost as much as the request's query.
        connection.connection.dbapi_connection.execute(
            "BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def _seed_standard_names(engine: Engine) -> None:
    """Add the standard resource classes and traits a database lacks, in their order."""
    with engine.begin() as connection:
        for table, standard in ((resource_classes, STANDARD_RESOURCE_CLASSES),
                                (traits, STANDARD_TRAITS)):
            known = set(connection.scalars(select(table.c.name)))
            missing = [name for name in standard if name not in known]
            if missing:
                connection.execute(table.insert(), [{"name": n} for n in missing])
