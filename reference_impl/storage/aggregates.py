"""Aggregates: groups of resource providers, each known only by a uuid its providers share.

Before 1.19 setting a provider's aggregates neither checks nor moves its generation; from
1.19 it does both, and the generation moves even when the set stays the same.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection

from reference_impl.storage import providers
from reference_impl.storage.db import resource_provider_aggregates as links
from reference_impl.storage.providers import Provider


def of_provider(connection: Connection, provider_id: int) -> list[str]:
    """The provider's aggregate uuids as given, oldest link first."""
    return list(connection.scalars(select(links.c.aggregate_uuid).where(
        links.c.resource_provider_id == provider_id).order_by(links.c.id)))


def replace(connection: Connection, provider: Provider, wanted: list[str],
            seen_generation: int | None) -> int:
    """Make the provider's aggregates exactly `wanted`; return its generation.

    `seen_generation` None (before 1.19) skips the generation check and leaves the
    generation as it is.
    """
    generation = providers.lock_as_seen(connection, provider, seen_generation,
                                        providers.GENERATION_CHANGED)
    held = set(of_provider(connection, provider.id))
    dropped = held - set(wanted)
    if dropped:
        connection.execute(links.delete().where(links.c.resource_provider_id == provider.id,
                                                links.c.aggregate_uuid.in_(dropped)))
    added = [aggregate for aggregate in wanted if aggregate not in held]
    if added:
        connection.execute(links.insert(), [
            {"resource_provider_id": provider.id, "aggregate_uuid": aggregate}
            for aggregate in added])
    if seen_generation is None:
        return generation
    providers.bump_generations(connection, {provider.id})
    return generation + 1
