"""Handlers for /resource_providers/{uuid}/aggregates."""

from __future__ import annotations

from placement_spec import facts
from reference_impl import context
from reference_impl.storage import aggregates, providers

# From 1.19 the body and the answer carry the provider generation, which a PUT checks.
WITH_GENERATION = facts.response_field_range(
    "GET", "/resource_providers/{uuid}/aggregates", 200, "resource_provider_generation")


def _respond(found: list[str], generation: int):
    document = {"aggregates": found}
    if WITH_GENERATION.covers(context.version()):
        document["resource_provider_generation"] = generation
    # Upstream keeps no time for a provider's aggregates: every answer is stamped now.
    return context.respond(document)


def get_all(uuid):
    with context.state().database.read() as connection:
        provider = providers.get(connection, uuid)
        found = aggregates.of_provider(connection, provider.id)
    return _respond(found, provider.generation)


def replace_all(uuid, body):
    if WITH_GENERATION.covers(context.version()):
        wanted, seen_generation = body["aggregates"], body["resource_provider_generation"]
    else:
        wanted, seen_generation = body, None
    generation = context.state().database.write(lambda connection: aggregates.replace(
        connection, providers.get(connection, uuid), wanted, seen_generation))
    return _respond(wanted, generation)
