"""Handlers for /resource_providers/{uuid}/traits."""

from __future__ import annotations

from reference_impl import context
from reference_impl.errors import NotFound
from reference_impl.storage import providers, traits
from reference_impl.storage.traits import Trait


def _respond(found: list[Trait], generation: int):
    return context.respond({"traits": [trait.name for trait in found],
                            "resource_provider_generation": generation},
                           modified=traits.last_modified(found))


def get_all(uuid):
    with context.state().database.read() as connection:
        provider = providers.find(connection, uuid)
        if provider is None:
            raise NotFound(f"No resource provider with uuid {uuid} found: "
                           f"No resource provider with uuid {uuid} found")
        found = traits.of_provider(connection, provider.id)
    return _respond(found, provider.generation)


def replace_all(uuid, body):
    found, generation = context.state().database.write(lambda connection: traits.replace(
        connection, providers.get(connection, uuid), body["resource_provider_generation"],
        body["traits"]))
    return _respond(found, generation)


def delete_all(uuid):
    context.state().database.write(lambda connection: traits.replace(
        connection, providers.get(connection, uuid), None, []))
    return context.respond(None, 204)
