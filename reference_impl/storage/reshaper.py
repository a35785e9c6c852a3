"""The reshaper: inventories of many providers and allocations of many consumers replaced
in one transaction.

It restates no rule of the other writers: inventories are replaced by
`inventories.replace_all` and allocations by `allocations.replace`, inside the caller's
one transaction, so a failure anywhere rolls every part back. What is its own is the
check of the providers it names, with its own texts, and the order. An allocation can
neither stay on a class that is about to go nor land on one that is not there yet, so
each provider first gets its new inventories on top of its old ones, then the
allocations are replaced, then each provider's inventories become exactly the new ones
(where a class still allocated is refused).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from reference_impl.errors import PROVIDER_NOT_FOUND, BadRequest, ConcurrentUpdate
from reference_impl.storage import allocations, inventories, providers, resource_classes
from reference_impl.storage.allocations import ConsumerRequest, UnknownResourceClass
from reference_impl.storage.inventories import Inventory
from reference_impl.storage.providers import Provider


@dataclass
class ProviderInventories:
    """What a provider's inventories should be, and the generation the client saw."""

    generation: int
    inventories: dict[str, Inventory]


def reshape(connection: Connection, wanted: dict[str, ProviderInventories],
            requests: list[ConsumerRequest], *, keep_empty: bool) -> None:
    """Give each provider of `wanted` its inventories and each consumer of `requests`
    its allocations, refusing in upstream's order: the providers of the inventories
    (400, 409), then the consumers (see `allocations.check`), then the classes (400),
    capacity (409) and inventories in use (409)."""
    # Consumers before providers, as every writer locks them.
    allocations.lock_consumers(connection, [request.uuid for request in requests])
    named = _providers_as_seen(connection, wanted)
    allocations.check(connection, requests)
    for rp_uuid, new in wanted.items():
        if new.inventories:
            _refuse_unknown_classes(connection, new.inventories)
            provider = named[rp_uuid]
            interim = {**inventories.for_provider(connection, provider.id), **new.inventories}
            inventories.replace_all(connection, provider, None, interim, None)
    allocations.replace(connection, requests, keep_empty=keep_empty)
    for rp_uuid, new in wanted.items():
        provider = named[rp_uuid]
        # The generation moved in this transaction: the in-use refusal is then worded
        # as a generation-checked write's.
        generation = providers.lock(connection, {provider.id})[provider.id]
        inventories.replace_all(connection, provider, generation, new.inventories, None)


def _providers_as_seen(connection: Connection,
                       wanted: dict[str, ProviderInventories]) -> dict[str, Provider]:
    """Lock the providers of `wanted` (in id order) and check each in the body's order:
    it exists, and is at the generation the client saw."""
    named = providers.find_many(connection, set(wanted))
    current = providers.lock(connection, {provider.id for provider in named.values()})
    for rp_uuid, new in wanted.items():
        provider = named.get(rp_uuid)
        if provider is None or provider.id not in current:
            raise BadRequest(
                f"Resource provider {rp_uuid} in inventories not found: "
                f"No resource provider with uuid {rp_uuid} found",
                code=PROVIDER_NOT_FOUND,
            )
        if new.generation != current[provider.id]:
            raise ConcurrentUpdate(
                f"resource provider generation conflict for provider {rp_uuid}: "
                f"actual: {current[provider.id]}, given: {new.generation}"
            )
    return named


def _refuse_unknown_classes(connection: Connection, wanted: dict[str, Inventory]) -> None:
    known = resource_classes.ids_by_name(connection, set(wanted))
    for name in wanted:
        if name not in known:
            raise UnknownResourceClass(name)
