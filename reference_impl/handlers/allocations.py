"""Handlers for /allocations/{consumer_uuid}, POST /allocations and a provider's allocations.

The request bodies were validated against the spec projected to the request's
microversion before these run; what is left here is turning each body form into
"what each consumer should hold" and answering in the microversion's shape.
"""

from __future__ import annotations

from placement_spec import facts
from reference_impl import context
from reference_impl.errors import BadRequest, NotFound
from reference_impl.storage import allocations, providers
from reference_impl.storage.allocations import (
    INCOMPLETE_CONSUMER_ID,
    UNCHECKED,
    ConsumerRequest,
    UnknownProvider,
    UnknownResourceClass,
)
from reference_impl.uuids import canonical

CONSUMER = "/allocations/{consumer_uuid}"
DICT_FORM = facts.request_field_range("PUT", CONSUMER, "allocations", type="object")
CONSUMER_GENERATIONS = facts.request_field_range("PUT", CONSUMER, "consumer_generation")
# What GET /allocations/{consumer_uuid} shows beside the allocations, from when.
CONSUMER_FIELDS = {name: facts.response_field_range("GET", CONSUMER, 200, name)
                   for name in ("project_id", "user_id", "consumer_generation",
                                "consumer_type")}
WITH_CONSUMER_GENERATIONS_BY_PROVIDER = facts.response_field_range(
    "GET", "/resource_providers/{uuid}/allocations", 200, "allocations", facts.ANY_KEY,
    "consumer_generation")


def get_for_consumer(consumer_uuid):
    with context.state().database.read() as connection:
        held = allocations.for_consumer(connection, consumer_uuid)
    document = {"allocations": held.by_provider}
    if held.consumer is not None:
        consumer = {"project_id": held.consumer.project_id,
                    "user_id": held.consumer.user_id,
                    "consumer_generation": held.consumer.generation,
                    "consumer_type": held.consumer.consumer_type or "unknown"}
        version = context.version()
        document.update((name, value) for name, value in consumer.items()
                        if CONSUMER_FIELDS[name].covers(version))
    return context.respond(document, modified=held.last_modified)


def set_for_consumer(consumer_uuid, body):
    uuid = canonical(consumer_uuid)  # the middleware refused what is not a uuid
    if not DICT_FORM.covers(context.version()):
        # The list form names each provider in an entry; a provider named twice keeps
        # the last entry, as the dict form would.
        held = {entry["resource_provider"]["uuid"]: _amounts(entry["resources"])
                for entry in body["allocations"]}
    else:
        held = {rp: _amounts(entry["resources"]) for rp, entry in body["allocations"].items()}
    request = _consumer_request(uuid, held, body)
    try:
        write([request], allocations.replace)
    except UnknownResourceClass as error:
        raise BadRequest(f"Unable to allocate inventory for consumer {uuid}: {error.message}")
    return context.respond(None, 204)


def manage(body):
    requests = consumer_requests(body)
    try:
        write(requests, allocations.replace)
    except UnknownResourceClass as error:
        raise BadRequest(f"Unable to allocate inventory {error.message}")
    return context.respond(None, 204)


def consumer_requests(by_consumer: dict) -> list[ConsumerRequest]:
    """What each consumer should hold, from the map of `POST /allocations` (and of the
    reshaper's `allocations`)."""
    return [
        _consumer_request(
            consumer_uuid,
            {rp: _amounts(entry["resources"]) for rp, entry in document["allocations"].items()},
            document,
        )
        for consumer_uuid, document in by_consumer.items()
    ]


def _amounts(resources: dict) -> dict[str, int]:
    """Placement reads an integral number such as `2.0` as the integer it is."""
    return {resource_class: int(amount) for resource_class, amount in resources.items()}


def _consumer_request(uuid: str, held: dict, document: dict) -> ConsumerRequest:
    checks_generation = CONSUMER_GENERATIONS.covers(context.version())
    return ConsumerRequest(
        uuid=uuid,
        allocations=held,
        # Before 1.8 a request names no project or user: the consumer gets (or is moved
        # to) the placeholder ones.
        project_id=document.get("project_id", INCOMPLETE_CONSUMER_ID),
        user_id=document.get("user_id", INCOMPLETE_CONSUMER_ID),
        consumer_type=document.get("consumer_type"),
        generation=document["consumer_generation"] if checks_generation else UNCHECKED,
    )


def write(requests: list[ConsumerRequest], transaction) -> None:
    """Write the requests in one transaction; unless strict, leave new consumers behind
    as upstream does (see `allocations.keep_new_consumers`).

    `transaction(connection, requests, keep_empty=...)` does the writing:
    `allocations.replace`, or a reshape that replaces inventories around it.
    """
    state = context.state()
    try:
        state.database.write(lambda connection: transaction(
            connection, requests, keep_empty=not state.strict))
    except UnknownProvider:
        if not state.strict:
            state.database.write(
                lambda connection: allocations.keep_new_consumers(connection, requests))
        raise


def delete_for_consumer(consumer_uuid):
    context.state().database.write(
        lambda connection: allocations.delete(connection, consumer_uuid))
    return context.respond(None, 204)


def list_for_provider(uuid):
    with context.state().database.read() as connection:
        provider = providers.find(connection, uuid)
        if provider is None:
            raise NotFound(f"Resource provider '{uuid}' not found: "
                           f"No resource provider with uuid {uuid} found")
        held, modified = allocations.for_provider(connection, provider.id)
    if not WITH_CONSUMER_GENERATIONS_BY_PROVIDER.covers(context.version()):
        for entry in held.values():
            del entry["consumer_generation"]
    return context.respond(
        {"allocations": held, "resource_provider_generation": provider.generation},
        modified=modified,
    )
