"""Handlers for a provider's inventories, all at once or one class at a time."""

from __future__ import annotations

from placement_spec import facts
from reference_impl import context
from reference_impl.errors import NotFound
from reference_impl.handlers.resource_providers import provider_url
from reference_impl.storage import inventories, providers
from reference_impl.storage.inventories import Inventory

RESERVED_MAY_EQUAL_TOTAL = facts.behaviour_range("reserved-may-equal-total")


def _provider(connection, uuid):
    provider = providers.find(connection, uuid)
    if provider is None:
        raise NotFound(f"No resource provider with uuid {uuid} found : "
                       f"No resource provider with uuid {uuid} found")
    return provider


def _reserved_may_equal_total() -> bool:
    return RESERVED_MAY_EQUAL_TOTAL.covers(context.version())


def _all(generation: int, records: dict[str, Inventory], modified=None):
    return context.respond({
        "resource_provider_generation": generation,
        "inventories": {name: inventory.as_dict() for name, inventory in records.items()},
    }, modified=modified, stamped=bool(records))


def _one(generation: int, inventory: Inventory, status: int = 200, headers=None):
    return context.respond({**inventory.as_dict(), "resource_provider_generation": generation},
                           status, headers=headers)


def get_all(uuid):
    with context.state().database.read() as connection:
        provider = _provider(connection, uuid)
        records = inventories.for_provider(connection, provider.id)
        modified = inventories.last_modified(connection, provider.id)
    return _all(provider.generation, records, modified)


def replace_all(uuid, body):
    wanted = {name: Inventory.from_request(record)
              for name, record in body["inventories"].items()}
    generation = context.state().database.write(lambda connection: inventories.replace_all(
        connection, providers.get(connection, uuid), body["resource_provider_generation"],
        wanted, _reserved_may_equal_total()))
    return _all(generation, wanted)


def create(uuid, body):
    record = dict(body)
    name = record.pop("resource_class")
    inventory = Inventory.from_request(record)
    generation = context.state().database.write(lambda connection: inventories.add_one(
        connection, providers.get(connection, uuid), name, inventory,
        _reserved_may_equal_total()))
    return _one(generation, inventory, 201,
                headers={"location": f"{provider_url(uuid)}/inventories/{name}"})


def delete_all(uuid):
    context.state().database.write(lambda connection: inventories.replace_all(
        connection, providers.get(connection, uuid), None, {}, _reserved_may_equal_total()))
    return context.respond(None, 204)


def get(uuid, resource_class):
    with context.state().database.read() as connection:
        provider = _provider(connection, uuid)
        inventory = inventories.for_provider(connection, provider.id).get(resource_class)
    if inventory is None:
        raise NotFound(f"No inventory of class {resource_class} for {uuid}")
    return _one(provider.generation, inventory)


def update(uuid, resource_class, body):
    record = dict(body)
    seen_generation = record.pop("resource_provider_generation")
    inventory = Inventory.from_request(record)
    generation = context.state().database.write(lambda connection: inventories.update_one(
        connection, providers.get(connection, uuid), seen_generation, resource_class,
        inventory, _reserved_may_equal_total()))
    return _one(generation, inventory)


def delete(uuid, resource_class):
    context.state().database.write(lambda connection: inventories.delete_one(
        connection, providers.get(connection, uuid), resource_class))
    return context.respond(None, 204)
