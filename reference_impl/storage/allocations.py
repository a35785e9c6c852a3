"""Allocations: what each consumer holds of each provider's inventory.

Writing allocations always *replaces* everything the named consumers held, on every
provider, in one transaction: the old allocations are removed first, then the capacity of
every provider is checked against what remains plus what is asked for, then the new rows
are written. A failure anywhere leaves the database as it was.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from reference_impl.errors import BadRequest, ConcurrentUpdate, NotFound
from reference_impl.storage import capacity, providers, resource_classes
from reference_impl.storage.db import (
    allocations,
    consumers,
    locks_rows,
    resource_classes as classes_table,
    resource_providers,
)
from reference_impl.storage.providers import Provider

# Before 1.8 a consumer had no project or user; Placement records this placeholder.
INCOMPLETE_CONSUMER_ID = "00000000-0000-0000-0000-000000000000"

# A consumer generation the request did not state (before 1.28 it is never checked).
UNCHECKED = object()


@dataclass
class ConsumerRequest:
    """What one consumer should hold after the write: {provider uuid: {class: amount}}."""

    uuid: str
    allocations: dict[str, dict[str, int]]
    project_id: str = INCOMPLETE_CONSUMER_ID
    user_id: str = INCOMPLETE_CONSUMER_ID
    consumer_type: str | None = None
    generation: object = UNCHECKED


@dataclass
class Consumer:
    id: int
    uuid: str
    project_id: str
    user_id: str
    consumer_type: str | None
    generation: int


@dataclass
class ConsumerAllocations:
    """A consumer's allocations as GET shows them."""

    consumer: Consumer | None
    by_provider: dict[str, dict] = field(default_factory=dict)
    last_modified: datetime | None = None


class UnknownProvider(BadRequest):
    """An allocation names a provider that does not exist."""

    def __init__(self, uuid: str):
        super().__init__(f"Allocation for resource provider '{uuid}' that does not exist.")


class UnknownResourceClass(BadRequest):
    """An allocation names a class that does not exist; each endpoint words it its way."""

    def __init__(self, name: str):
        super().__init__(f"No such resource class {name}.")


def replace(connection: Connection, requests: list[ConsumerRequest], *,
            keep_empty: bool) -> None:
    """Make each consumer hold exactly what its request names, all or nothing.

    The providers the request names move to a new generation, and so do those of a
    consumer emptied with `allocations: {}`; as upstream, a provider that a consumer
    merely leaves for another keeps its generation. A consumer that held allocations
    and now holds none is removed; with `keep_empty`, as upstream, a new consumer that
    is given none is recorded anyway, at generation 0 (see `keep_new_consumers`).
    """
    known, wanted_providers = check(connection, requests)
    class_ids = _class_ids(connection, requests)

    consumer_ids = [consumer.id for consumer in known.values()]
    touched = {provider.id for provider in wanted_providers.values()}
    touched |= _providers_held_by(connection, [
        known[request.uuid].id for request in requests
        if not request.allocations and request.uuid in known
    ])
    providers.lock(connection, touched)
    usage = capacity.usage(connection,
                           {provider.id for provider in wanted_providers.values()},
                           consumer_ids)
    emptied = _holding(connection, [known[request.uuid].id for request in requests
                                    if not request.allocations and request.uuid in known])
    if known:
        connection.execute(_DELETE_HELD_BY_CONSUMERS, {"uuids": list(known)})

    rows = [
        (request, wanted_providers[rp_uuid], resource_class, amount)
        for request in requests
        for rp_uuid, resources in request.allocations.items()
        for resource_class, amount in resources.items()
    ]
    capacity.check([(provider, resource_class, amount)
                    for _, provider, resource_class, amount in rows], class_ids, usage)

    for request in requests:
        consumer = known.get(request.uuid)
        if request.allocations:
            _write_consumer(connection, request, consumer, rows, class_ids)
        elif consumer is not None and consumer.id in emptied:
            connection.execute(_DELETE_CONSUMERS, {"uuids": [consumer.uuid]})
        elif consumer is not None:
            # A consumer left behind, given nothing again: it takes the request's
            # project, user and type, and keeps its generation.
            connection.execute(consumers.update().where(consumers.c.id == consumer.id)
                               .values(_attributes(request)))
        elif keep_empty:
            keep_new_consumers(connection, [request])
    providers.bump_generations(connection, touched)


def check(connection: Connection, requests: list[ConsumerRequest]
          ) -> tuple[dict[str, Consumer], dict[str, Provider]]:
    """Lock the requests' consumers and check what upstream checks of them before it
    writes anything: each consumer's generation (409), then that every provider named
    exists (400). Return the consumers that exist and the providers, by uuid.

    The reshaper calls it before it changes inventories, to refuse in upstream's order.
    """
    known = lock_consumers(connection, [request.uuid for request in requests])
    for request in requests:
        _check_generation(request, known.get(request.uuid))
    return known, _providers_named(connection, requests)


def keep_new_consumers(connection: Connection, requests: list[ConsumerRequest]) -> None:
    """Record, at generation 0 and holding nothing, each consumer of `requests` that does
    not exist yet.

    Upstream creates a request's consumers before it looks at anything else and, when
    the request then fails on a provider that does not exist (or gives a new consumer
    no allocations), leaves them behind: the next write must send generation 0.
    """
    known = lock_consumers(connection, [request.uuid for request in requests])
    new = [request for request in requests if request.uuid not in known]
    if new:
        connection.execute(consumers.insert(), [
            {"uuid": request.uuid, "project_id": request.project_id,
             "user_id": request.user_id, "consumer_type": request.consumer_type,
             "generation": 0}
            for request in new
        ])


def _attributes(request: ConsumerRequest) -> dict:
    """What a request says of its consumer; a type only from 1.38, where it is sent."""
    stated = {"project_id": request.project_id, "user_id": request.user_id,
              "consumer_type": request.consumer_type}
    return {name: value for name, value in stated.items() if value is not None}


def _holding(connection: Connection, consumer_ids: list[int]) -> set[int]:
    """Those of `consumer_ids` that hold allocations."""
    if not consumer_ids:
        return set()
    return set(connection.scalars(select(allocations.c.consumer_id).where(
        allocations.c.consumer_id.in_(consumer_ids)).distinct()))


def _providers_held_by(connection: Connection, consumer_ids: list[int]) -> set[int]:
    if not consumer_ids:
        return set()
    return set(connection.scalars(
        select(allocations.c.resource_provider_id)
        .where(allocations.c.consumer_id.in_(consumer_ids)).distinct()
    ))


# The statements of every allocation request are built once, here and below: building
# one costs more than running it on SQLite. Every write names its consumers by uuid, so
# that DELETE, where the write holds the whole database (SQLite), is two statements with
# no look-up of the consumer's id; PUT and POST lock them first and use the same ones.
_CONSUMERS_NAMED = consumers.c.uuid.in_(bindparam("uuids", expanding=True))
_LOCK_CONSUMERS = (
    select(consumers).where(_CONSUMERS_NAMED).order_by(consumers.c.uuid).with_for_update()
)
_DELETE_HELD_BY_CONSUMERS = allocations.delete().where(
    allocations.c.consumer_id.in_(select(consumers.c.id).where(_CONSUMERS_NAMED)))
_DELETE_CONSUMERS = consumers.delete().where(_CONSUMERS_NAMED)
_INSERT_CONSUMER = consumers.insert()
_INSERT_ALLOCATIONS = allocations.insert()


@functools.cache
def _next_generation(attributes: tuple[str, ...]):
    """The update that moves a consumer on to its next generation, if it is still at the
    expected one, and sets its `attributes` (from `new_<name>`)."""
    return (
        consumers.update()
        .where(consumers.c.id == bindparam("consumer_id"),
               consumers.c.generation == bindparam("expected"))
        .values(generation=consumers.c.generation + 1, updated_at=func.now(),
                **{name: bindparam(f"new_{name}") for name in attributes})
    )


def lock_consumers(connection: Connection, uuids: list[str]) -> dict[str, Consumer]:
    """Lock the consumers of `uuids` that exist, in uuid order; writers lock consumers
    before providers."""
    rows = connection.execute(_LOCK_CONSUMERS, {"uuids": uuids})
    return {row.uuid: _consumer(row) for row in rows}


def _consumer(row) -> Consumer:
    return Consumer(row.id, row.uuid, row.project_id, row.user_id, row.consumer_type,
                    row.generation)


def _check_generation(request: ConsumerRequest, consumer: Consumer | None) -> None:
    if request.generation is UNCHECKED:
        return
    expected = consumer.generation if consumer else None
    if request.generation != expected:
        shown = "null" if expected is None else expected
        raise ConcurrentUpdate(
            f"consumer generation conflict - expected {shown} but got {request.generation}"
        )


def _providers_named(connection: Connection, requests: list[ConsumerRequest]) -> dict:
    named = [rp for request in requests for rp in request.allocations]
    found = providers.find_many(connection, set(named))
    for rp_uuid in named:
        if rp_uuid not in found:
            raise UnknownProvider(rp_uuid)
    return found


def _class_ids(connection: Connection, requests: list[ConsumerRequest]) -> dict[str, int]:
    named = [rc for request in requests for resources in request.allocations.values()
             for rc in resources]
    ids = resource_classes.ids_by_name(connection, set(named))
    for name in named:
        if name not in ids:
            raise UnknownResourceClass(name)
    return ids


def _write_consumer(connection, request: ConsumerRequest, consumer: Consumer | None,
                    rows, class_ids) -> None:
    mine = [(provider, rc, amount) for owner, provider, rc, amount in rows if owner is request]
    if consumer is None:
        consumer_id = connection.execute(_INSERT_CONSUMER, dict(
            uuid=request.uuid,
            project_id=request.project_id,
            user_id=request.user_id,
            consumer_type=request.consumer_type,
            generation=1,
        )).inserted_primary_key[0]
    else:
        consumer_id = consumer.id
        attributes = _attributes(request)
        updated = connection.execute(
            _next_generation(tuple(attributes)),
            {"consumer_id": consumer.id, "expected": consumer.generation,
             **{f"new_{name}": value for name, value in attributes.items()}},
        )
        if updated.rowcount != 1:
            raise ConcurrentUpdate(
                "Inventory and/or allocations changed while attempting to allocate: "
                "consumer generation moved."
            )
    connection.execute(_INSERT_ALLOCATIONS, [
        {"resource_provider_id": provider.id, "consumer_id": consumer_id,
         "resource_class_id": class_ids[rc], "used": amount}
        for provider, rc, amount in mine
    ])


def delete(connection: Connection, consumer_uuid: str) -> None:
    """Remove a consumer and all it holds; providers keep their generations."""
    named = {"uuids": [consumer_uuid]}
    if locks_rows(connection):
        # The consumer's row before its allocations' rows, in the order every writer
        # takes them, so that a concurrent PUT of the same consumer waits rather than
        # deadlocks.
        lock_consumers(connection, [consumer_uuid])
    # Nothing removed means nothing held, or no such consumer; the error rolls the
    # transaction back.
    if not connection.execute(_DELETE_HELD_BY_CONSUMERS, named).rowcount:
        raise NotFound(f"No allocations for consumer '{consumer_uuid}'")
    connection.execute(_DELETE_CONSUMERS, named)


_FOR_CONSUMER = (
    select(
        resource_providers.c.uuid.label("rp_uuid"),
        resource_providers.c.generation.label("rp_generation"),
        classes_table.c.name.label("resource_class"),
        allocations.c.used,
        allocations.c.updated_at,
        consumers,
    )
    .select_from(allocations)
    .join(consumers, consumers.c.id == allocations.c.consumer_id)
    .join(resource_providers, resource_providers.c.id == allocations.c.resource_provider_id)
    .join(classes_table, classes_table.c.id == allocations.c.resource_class_id)
    .where(consumers.c.uuid == bindparam("consumer_uuid"))
    .order_by(allocations.c.id)
)


def for_consumer(connection: Connection, consumer_uuid: str) -> ConsumerAllocations:
    rows = connection.execute(_FOR_CONSUMER, {"consumer_uuid": consumer_uuid}).all()
    if not rows:
        return ConsumerAllocations(consumer=None)
    result = ConsumerAllocations(consumer=_consumer(rows[0]),
                                 last_modified=max(row.updated_at for row in rows))
    for row in rows:
        entry = result.by_provider.setdefault(
            row.rp_uuid, {"generation": row.rp_generation, "resources": {}}
        )
        entry["resources"][row.resource_class] = row.used
    return result


def for_provider(connection: Connection, provider_id: int) -> tuple[dict, datetime | None]:
    """{consumer uuid: {"resources": ..., "consumer_generation": ...}} and the last write."""
    rows = connection.execute(
        select(consumers.c.uuid, consumers.c.generation, classes_table.c.name,
               allocations.c.used, allocations.c.updated_at)
        .select_from(allocations)
        .join(consumers, consumers.c.id == allocations.c.consumer_id)
        .join(classes_table, classes_table.c.id == allocations.c.resource_class_id)
        .where(allocations.c.resource_provider_id == provider_id)
        .order_by(allocations.c.id)
    ).all()
    by_consumer: dict[str, dict] = {}
    for row in rows:
        entry = by_consumer.setdefault(
            row.uuid, {"resources": {}, "consumer_generation": row.generation}
        )
        entry["resources"][row.name] = row.used
    return by_consumer, max((row.updated_at for row in rows), default=None)
