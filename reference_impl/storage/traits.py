"""Traits: qualitative marks of resource providers, standard (from `os-traits`) or custom.

A provider's traits are replaced as a whole; a change moves the provider's generation by
one, as a change of its inventory does, so a client that read generation N knows whether
anyone changed them since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from reference_impl.errors import BadRequest, Conflict, NotFound
from reference_impl.storage import providers
from reference_impl.storage.db import resource_provider_traits, traits
from reference_impl.storage.providers import Provider
from reference_impl.storage.standard_classes import is_standard_trait


@dataclass(frozen=True)
class TraitFilter:
    """What `GET /traits` asks for; None where it asks nothing."""

    names: list[str] | None = None  # `name=in:`
    prefix: str | None = None  # `name=startswith:`
    associated: bool | None = None


@dataclass(frozen=True)
class Trait:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime


def _rows(connection: Connection, query) -> list[Trait]:
    return [Trait(**row._mapping) for row in connection.execute(query)]


_SELECT = select(traits.c.id, traits.c.name, traits.c.created_at, traits.c.updated_at)


def matching(connection: Connection, wanted: TraitFilter) -> list[Trait]:
    """The traits `wanted` selects: by name when names are listed, else in the order
    they were made, as upstream lists them on SQLite."""
    query = _SELECT
    order = traits.c.id
    if wanted.names is not None:
        query = query.where(traits.c.name.in_(wanted.names))
        order = traits.c.name
    if wanted.prefix is not None:
        # As upstream: a LIKE pattern, so `_` and `%` in the prefix are wildcards, and
        # the database's collation decides whether case matters.
        query = query.where(traits.c.name.like(wanted.prefix + "%"))
    if wanted.associated is not None:
        used = select(resource_provider_traits.c.trait_id)
        query = query.where(traits.c.id.in_(used) if wanted.associated
                            else traits.c.id.not_in(used))
    return _rows(connection, query.order_by(order))


def of_provider(connection: Connection, provider_id: int) -> list[Trait]:
    """A provider's traits, in the order the traits were made."""
    return _rows(connection, _SELECT.join(
        resource_provider_traits, resource_provider_traits.c.trait_id == traits.c.id
    ).where(resource_provider_traits.c.resource_provider_id == provider_id)
        .order_by(traits.c.id))


def find(connection: Connection, name: str) -> Trait:
    """Trait `name`, or Placement's 404."""
    found = _rows(connection, _SELECT.where(traits.c.name == name))
    if not found:
        raise NotFound(f"No such trait(s): {name}.")
    return found[0]


def ensure(connection: Connection, name: str) -> tuple[Trait, bool]:
    """Trait `name`, made unless it exists, and whether it was made."""
    found = _rows(connection, _SELECT.where(traits.c.name == name))
    if found:
        return found[0], False
    connection.execute(traits.insert().values(name=name))
    return find(connection, name), True


def delete_trait(connection: Connection, name: str) -> None:
    """Delete custom trait `name`: an unknown one is a 404, a standard one a 400."""
    trait_id = connection.scalar(select(traits.c.id).where(traits.c.name == name)
                                 .with_for_update())
    if trait_id is None:
        raise NotFound(f"No such trait(s): {name}.")
    if is_standard_trait(name):
        raise BadRequest(f"Cannot delete standard trait {name}.")
    if connection.scalar(select(resource_provider_traits.c.trait_id).where(
            resource_provider_traits.c.trait_id == trait_id).limit(1)) is not None:
        raise Conflict(f"The trait {name} is in use by a resource provider.")
    connection.execute(traits.delete().where(traits.c.id == trait_id))


def replace(connection: Connection, provider: Provider, seen_generation: int | None,
            names: list[str]) -> tuple[list[Trait], int]:
    """Make the provider's traits exactly `names`; return them, by name, with the
    provider's generation, which moves only when the traits change.

    `seen_generation` None skips the generation check (DELETE takes none).
    """
    generation = providers.lock_as_seen(connection, provider, seen_generation,
                                        providers.GENERATION_CHANGED)
    wanted = matching(connection, TraitFilter(names=list(set(names))))
    unknown = sorted(set(names) - {trait.name for trait in wanted})
    if unknown:
        raise BadRequest(f"No such trait {', '.join(unknown)}")
    held = set(connection.scalars(select(resource_provider_traits.c.trait_id).where(
        resource_provider_traits.c.resource_provider_id == provider.id)))
    keep = {trait.id for trait in wanted}
    if keep == held:
        return wanted, generation
    if held - keep:
        connection.execute(delete(resource_provider_traits).where(
            resource_provider_traits.c.resource_provider_id == provider.id,
            resource_provider_traits.c.trait_id.in_(held - keep)))
    if keep - held:
        connection.execute(resource_provider_traits.insert(), [
            {"resource_provider_id": provider.id, "trait_id": trait_id}
            for trait_id in sorted(keep - held)])
    providers.bump_generations(connection, {provider.id})
    return wanted, generation + 1


def last_modified(found: list[Trait]) -> datetime | None:
    """When the latest of `found` last changed, as upstream stamps a list of traits."""
    return max((trait.updated_at or trait.created_at for trait in found), default=None)
