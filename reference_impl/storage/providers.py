"""Resource providers: the things that hold inventory and receive allocations.

A provider's generation is its optimistic lock: every change to its inventory or to the
allocations against it moves the generation by one, so a client that read generation N
can tell whether anyone changed the provider since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, exists, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from reference_impl.errors import (
    DUPLICATE_NAME,
    PROVIDER_HAS_CHILDREN,
    PROVIDER_IN_USE,
    BadRequest,
    ConcurrentUpdate,
    Conflict,
    NotFound,
)
from reference_impl.storage import resource_classes
from reference_impl.storage.db import (
    allocations,
    inventories,
    resource_provider_aggregates,
    resource_provider_traits,
    resource_providers,
    traits,
)


@dataclass
class Provider:
    id: int
    uuid: str
    name: str
    generation: int
    parent_provider_uuid: str | None
    root_provider_uuid: str
    updated_at: datetime  # when it last changed, or was created
    changed_at: datetime | None  # when it last changed; None if never since created


_parent = aliased(resource_providers)
_root = aliased(resource_providers)
_SELECT_PROVIDERS = (
    select(
        resource_providers.c.id,
        resource_providers.c.uuid,
        resource_providers.c.name,
        resource_providers.c.generation,
        _parent.c.uuid.label("parent_provider_uuid"),
        _root.c.uuid.label("root_provider_uuid"),
        func.coalesce(resource_providers.c.updated_at,
                      resource_providers.c.created_at).label("updated_at"),
        resource_providers.c.updated_at.label("changed_at"),
    )
    .select_from(resource_providers)
    .outerjoin(_parent, _parent.c.id == resource_providers.c.parent_provider_id)
    .outerjoin(_root, _root.c.id == resource_providers.c.root_provider_id)
)


# The statements every allocation request runs, built once: building one costs more than
# running it on SQLite.
_FIND = _SELECT_PROVIDERS.where(resource_providers.c.uuid == bindparam("uuid"))
_FIND_MANY = _SELECT_PROVIDERS.where(
    resource_providers.c.uuid.in_(bindparam("uuids", expanding=True)))
_LOCK = (
    select(resource_providers.c.id, resource_providers.c.generation)
    .where(resource_providers.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(resource_providers.c.id)
    .with_for_update()
)
_BUMP = (
    resource_providers.update()
    .where(resource_providers.c.id.in_(bindparam("ids", expanding=True)))
    .values(generation=resource_providers.c.generation + 1, updated_at=func.now())
)


def _provider(row) -> Provider:
    return Provider(**row._mapping)


def find(connection: Connection, uuid: str) -> Provider | None:
    row = connection.execute(_FIND, {"uuid": uuid}).first()
    return _provider(row) if row else None


def get(connection: Connection, uuid: str) -> Provider:
    """The provider with `uuid`, or Placement's 404."""
    provider = find(connection, uuid)
    if provider is None:
        raise NotFound(f"No resource provider with uuid {uuid} found", outside_handler=True)
    return provider


def find_many(connection: Connection, uuids: set[str]) -> dict[str, Provider]:
    rows = connection.execute(_FIND_MANY, {"uuids": list(uuids)})
    return {row.uuid: _provider(row) for row in rows}


@dataclass(frozen=True)
class Membership:
    """What a provider must hold of traits and aggregates: one at least of each set in
    `traits` and in `aggregates`, and none of the forbidden ones."""

    traits: tuple[frozenset[str], ...] = ()
    forbidden_traits: frozenset[str] = frozenset()
    aggregates: tuple[frozenset[str], ...] = ()
    forbidden_aggregates: frozenset[str] = frozenset()


def list_providers(
    connection: Connection,
    *,
    name: str | None = None,
    uuid: str | None = None,
    in_tree: str | None = None,
    resources: dict[str, int] | None = None,
    membership: Membership = Membership(),
) -> list[Provider]:
    """Providers matching every filter given; `resources` maps class names to amounts
    that each provider must be able to take in one more allocation.

    The filters are looked up in upstream's order, which decides what an odd request
    gets: upstream answers an empty list at the first filter that no provider passes
    (`gates`), without looking up the names the later ones give, so an unknown forbidden
    trait or resource class is a 400 only when every earlier gate lets some provider
    through.
    """
    query = _SELECT_PROVIDERS
    if name is not None:
        query = query.where(resource_providers.c.name == name)
    if uuid is not None:
        query = query.where(resource_providers.c.uuid == uuid)
    if in_tree is not None:
        tree = find(connection, in_tree)
        if tree is None:
            return []
        query = query.where(_root.c.uuid == tree.root_provider_uuid)
    gates = []
    if membership.traits:
        ids = _trait_ids(connection, frozenset().union(*membership.traits), gates=())
        held = [holds_trait([ids[trait] for trait in group]) for group in membership.traits]
        gates.append(and_(*held))
        query = query.where(*held)
    if membership.forbidden_traits:
        ids = _trait_ids(connection, membership.forbidden_traits, gates)
        if ids is None:
            return []
        query = query.where(~holds_trait(list(ids.values())))
    if membership.aggregates:
        held = [in_aggregate(group) for group in membership.aggregates]
        gates.append(and_(*held))
        query = query.where(*held)
    if membership.forbidden_aggregates:
        query = query.where(~in_aggregate(membership.forbidden_aggregates))
    if resources:
        ids = resource_classes.ids_by_name(connection, set(resources))
        unknown = [name for name in resources if name not in ids]
        if unknown:
            if not _all_pass(connection, gates):
                return []
            raise BadRequest("Invalid resource class in resources parameter: "
                             f"No such resource class {unknown[0]}.")
        for class_name, amount in resources.items():
            query = query.where(can_take(ids[class_name], amount))
    return [_provider(row) for row in connection.execute(query.order_by(resource_providers.c.id))]


def _trait_ids(connection: Connection, names: frozenset[str], gates) -> dict[str, int] | None:
    """The ids of traits `names`; Placement's 400 for an unknown one, unless an earlier
    gate passes no provider (then None)."""
    rows = connection.execute(select(traits.c.name, traits.c.id).where(
        traits.c.name.in_(sorted(names))))
    ids = {row.name: row.id for row in rows}
    unknown = sorted(names - ids.keys())
    if not unknown:
        return ids
    if not _all_pass(connection, gates):
        return None
    raise BadRequest(
        f'Invalid trait(s) in "required" parameter: No such trait(s): {unknown[0]}.')


def _all_pass(connection: Connection, gates) -> bool:
    """Whether each condition, on its own, holds for some provider."""
    return all(connection.scalar(select(exists(select(resource_providers.c.id).where(gate))))
               for gate in gates)


# The conditions on a provider (`resource_providers` in the enclosing query) that the
# provider list and the allocation candidates filter by alike.


def holds_trait(trait_ids: list[int]):
    """A condition: the provider has one at least of these traits."""
    return exists().where(
        resource_provider_traits.c.resource_provider_id == resource_providers.c.id,
        resource_provider_traits.c.trait_id.in_(trait_ids))


def in_aggregate(aggregate_uuids: frozenset[str]):
    """A condition: the provider is in one at least of these aggregates, named as its
    links were written."""
    return exists().where(
        resource_provider_aggregates.c.resource_provider_id == resource_providers.c.id,
        resource_provider_aggregates.c.aggregate_uuid.in_(sorted(aggregate_uuids)))


def inventory_usage():
    """The amount allocated of the inventory in the enclosing query (`inventories`)."""
    return (
        select(func.coalesce(func.sum(allocations.c.used), 0))
        .where(
            allocations.c.resource_provider_id == inventories.c.resource_provider_id,
            allocations.c.resource_class_id == inventories.c.resource_class_id,
        )
        .scalar_subquery()
    )



def can_take(class_id: int, amount: int):
    """A condition: the provider has inventory of the class that admits `amount` more."""
    used = inventory_usage()
    # capacity.capacity_of, in SQL.
    capacity = (inventories.c.total - inventories.c.reserved) * inventories.c.allocation_ratio
    return exists().where(
        and_(
            inventories.c.resource_provider_id == resource_providers.c.id,
            inventories.c.resource_class_id == class_id,
            inventories.c.min_unit <= amount,
            inventories.c.max_unit >= amount,
            amount % inventories.c.step_size == 0,
            capacity - used >= amount,
        )
    )


def create(connection: Connection, *, uuid: str, name: str,
           parent_provider_uuid: str | None = None) -> Provider:
    # Upstream wants a name, then a parent that exists, then no duplicate.
    if not name:
        raise _not_created(uuid, name, "name is required")
    parent = _parent_of(connection, uuid, name, parent_provider_uuid)
    duplicates = [
        f"{field}: {value}"
        for field, value in (("uuid", uuid), ("name", name))
        if connection.scalar(select(resource_providers.c.id).where(
            getattr(resource_providers.c, field) == value))
    ]
    if duplicates:
        raise Conflict(
            f"Conflicting resource provider {', '.join(duplicates)} already exists.",
            code=DUPLICATE_NAME,
        )
    provider_id = connection.execute(
        resource_providers.insert().values(
            uuid=uuid,
            name=name,
            generation=0,
            parent_provider_id=parent.id if parent else None,
            root_provider_id=_root_id(connection, parent) if parent else None,
        )
    ).inserted_primary_key[0]
    if parent is None:
        # A root is its own root, known once it has an id. As upstream, that counts as
        # a change of the new provider; a child has none until it really changes.
        connection.execute(
            resource_providers.update()
            .where(resource_providers.c.id == provider_id)
            .values(root_provider_id=provider_id, updated_at=func.now())
        )
    return get(connection, uuid)


def _parent_of(connection, uuid, name, parent_provider_uuid) -> Provider | None:
    if parent_provider_uuid is None:
        return None
    parent = find(connection, parent_provider_uuid)
    if parent is None:
        raise _not_created(uuid, name, "parent provider UUID does not exist.")
    return parent


def _not_created(uuid: str, name: str, reason: str) -> BadRequest:
    return BadRequest(f'Unable to create resource provider "{name}", {uuid}: Object action '
                      f"create failed because: {reason}")


def _root_id(connection: Connection, provider: Provider) -> int:
    return connection.scalar(
        select(resource_providers.c.root_provider_id).where(
            resource_providers.c.id == provider.id
        )
    )


def update(connection: Connection, uuid: str, *, name: str, parent_provider_uuid: str | None,
           parent_given: bool, may_reparent: bool) -> tuple[Provider, datetime | None]:
    """Rename a provider and, when the request names one, move it under a parent; return
    it, and when it had last changed before (None: never since it was created).

    A provider without a parent may always be given one; moving it to another parent,
    or making it a root again, needs `may_reparent` (1.37). A move takes the provider's
    whole subtree into its new tree.
    """
    provider = get(connection, uuid)
    values = {"name": name, "updated_at": func.now()}
    if parent_given:
        values.update(_placement_under(connection, provider, parent_provider_uuid,
                                       may_reparent))
    clash = connection.scalar(
        select(resource_providers.c.id).where(
            resource_providers.c.name == name, resource_providers.c.uuid != uuid
        )
    )
    if clash:
        raise Conflict(f"Conflicting resource provider {name} already exists.",
                       code=DUPLICATE_NAME)
    connection.execute(
        resource_providers.update().where(resource_providers.c.id == provider.id).values(**values)
    )
    if "root_provider_id" in values:
        connection.execute(
            resource_providers.update()
            .where(resource_providers.c.id.in_(_descendants(connection, provider.id)))
            .values(root_provider_id=values["root_provider_id"], updated_at=func.now())
        )
    return get(connection, uuid), provider.changed_at


def _placement_under(connection: Connection, provider: Provider, parent_uuid: str | None,
                     may_reparent: bool) -> dict:
    """The parent and root columns for `provider` under `parent_uuid` (None: a root)."""
    if parent_uuid is None:
        if provider.parent_provider_uuid is None:
            return {}
        if not may_reparent:
            raise _unsaved(provider, "update", "un-parenting a provider is not currently allowed.")
        return {"parent_provider_id": None, "root_provider_id": provider.id}
    parent = find(connection, parent_uuid)
    if parent is None:
        raise _unsaved(provider, "create", "parent provider UUID does not exist.")
    if provider.parent_provider_uuid not in (None, parent.uuid) and not may_reparent:
        raise _unsaved(provider, "update", "re-parenting a provider is not currently allowed.")
    if parent.id == provider.id or parent.id in _descendants(connection, provider.id):
        raise _unsaved(provider, "update", "creating loop in the provider tree is not allowed.")
    return {"parent_provider_id": parent.id, "root_provider_id": _root_id(connection, parent)}


def _unsaved(provider: Provider, action: str, reason: str) -> BadRequest:
    return BadRequest(f"Unable to save resource provider {provider.uuid}: Object action "
                      f"{action} failed because: {reason}")


def _descendants(connection: Connection, provider_id: int) -> set[int]:
    """Every provider below `provider_id` in its tree."""
    found: set[int] = set()
    level = {provider_id}
    while level:
        level = set(connection.scalars(select(resource_providers.c.id).where(
            resource_providers.c.parent_provider_id.in_(level))))
        found |= level
    return found


def delete(connection: Connection, uuid: str) -> None:
    provider = find(connection, uuid)
    if provider is None:
        raise NotFound(f"No resource provider with uuid {uuid} found for delete")
    if connection.scalar(select(resource_providers.c.id).where(
            resource_providers.c.parent_provider_id == provider.id).limit(1)):
        raise Conflict(
            f"Unable to delete parent resource provider {uuid}: "
            f"It has child resource providers.",
            code=PROVIDER_HAS_CHILDREN,
        )
    if connection.scalar(select(allocations.c.id).where(
            allocations.c.resource_provider_id == provider.id).limit(1)):
        raise Conflict(
            f"Unable to delete resource provider {uuid}: Resource provider has allocations.",
            code=PROVIDER_IN_USE,
        )
    connection.execute(inventories.delete().where(inventories.c.resource_provider_id == provider.id))
    for links in (resource_provider_traits, resource_provider_aggregates):
        connection.execute(links.delete().where(links.c.resource_provider_id == provider.id))
    connection.execute(resource_providers.delete().where(resource_providers.c.id == provider.id))


def lock(connection: Connection, provider_ids: set[int]) -> dict[int, int]:
    """Lock providers against concurrent writers, in id order so that two writers never
    wait for each other; return each provider's current generation."""
    if not provider_ids:
        return {}
    rows = connection.execute(_LOCK, {"ids": list(provider_ids)})
    return {row.id: row.generation for row in rows}


# Upstream's text for a stale generation in a write of a provider's traits or aggregates.
GENERATION_CHANGED = ("Resource provider's generation already changed. "
                      "Please update the generation and try again.")


def lock_as_seen(connection: Connection, provider: Provider, seen_generation: int | None,
                 conflict: str) -> int:
    """Lock `provider` for a write the client based on `seen_generation` (None: a write
    that takes no generation) and return its generation. A provider deleted meanwhile is
    404; one changed meanwhile is 409 `placement.concurrent_update` with `conflict`, the
    text upstream gives for that write."""
    current = lock(connection, {provider.id})
    if provider.id not in current:
        raise NotFound(f"No resource provider with uuid {provider.uuid} found")
    if seen_generation is not None and current[provider.id] != seen_generation:
        raise ConcurrentUpdate(conflict)
    return current[provider.id]


def bump_generations(connection: Connection, provider_ids: set[int]) -> None:
    if provider_ids:
        connection.execute(_BUMP, {"ids": list(provider_ids)})


def used_class_ids(connection: Connection, provider_id: int) -> set[int]:
    return set(connection.scalars(
        select(allocations.c.resource_class_id)
        .where(allocations.c.resource_provider_id == provider_id)
        .distinct()
    ))

