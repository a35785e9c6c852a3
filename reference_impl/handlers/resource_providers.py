"""Handlers for /resource_providers and /resource_providers/{uuid}."""

from __future__ import annotations

import uuid as uuidlib

from placement_spec import facts
from reference_impl import context
from reference_impl.errors import BadRequest
from reference_impl.handlers import provider_filters
from reference_impl.storage import providers
from reference_impl.storage.providers import Provider
from reference_impl.uuids import canonical

NESTED = facts.response_field_range("GET", "/resource_providers/{uuid}", 200,
                                    "parent_provider_uuid")
BODY_ON_CREATE = facts.response_range("POST", "/resource_providers", 200)
REPARENTING = facts.behaviour_range("reparenting")

def provider_url(uuid: str) -> str:
    return context.url(f"/resource_providers/{uuid}")


def serialize(provider: Provider) -> dict:
    version = context.version()
    self_url = provider_url(provider.uuid)
    document = {
        "uuid": provider.uuid,
        "name": provider.name,
        "generation": provider.generation,
        "links": [{"rel": "self", "href": self_url}] + [
            {"rel": rel, "href": f"{self_url}/{rel}"}
            for rel in facts.link_rels("ResourceProvider", version) if rel != "self"
        ],
    }
    if NESTED.covers(version):
        document["parent_provider_uuid"] = provider.parent_provider_uuid
        document["root_provider_uuid"] = provider.root_provider_uuid
    return document


def list_providers(name=None, uuid=None, resources=None, in_tree=None, member_of=None,
                   required=None):
    # Connexion hands over the last value of each parameter; the filters that may be
    # repeated read every one.
    version = context.version()
    membership = provider_filters.membership(context.query_values("member_of"),
                                             context.query_values("required"), version)
    amounts = (provider_filters.resource_amounts(resources) if resources is not None
               else None)
    with context.state().database.read() as connection:
        # As upstream, a filter given empty (`?name=`) filters nothing.
        found = providers.list_providers(connection, name=name or None, uuid=uuid or None,
                                         in_tree=in_tree or None, resources=amounts,
                                         membership=membership)
    modified = max((provider.updated_at for provider in found), default=None)
    return context.respond({"resource_providers": [serialize(p) for p in found]},
                           modified=modified)


def create(body):
    uuid = canonical(body["uuid"]) if body.get("uuid") else str(uuidlib.uuid4())
    if uuid is None:
        raise BadRequest(f"Malformed uuid: {body['uuid']}")
    provider = context.state().database.write(lambda connection: providers.create(
        connection, uuid=uuid, name=body["name"],
        parent_provider_uuid=body.get("parent_provider_uuid"),
    ))
    headers = {"location": provider_url(provider.uuid)}
    if BODY_ON_CREATE.covers(context.version()):
        return context.respond(serialize(provider), 200, modified=provider.updated_at,
                               headers=headers)
    return context.respond(None, 201, headers=headers)


def get(uuid):
    with context.state().database.read() as connection:
        provider = providers.get(connection, uuid)
    return context.respond(serialize(provider), modified=provider.updated_at)


def update(uuid, body):
    provider, changed_before = context.state().database.write(lambda connection: providers.update(
        connection, uuid, name=body["name"],
        parent_provider_uuid=body.get("parent_provider_uuid"),
        parent_given="parent_provider_uuid" in body,
        may_reparent=REPARENTING.covers(context.version()),
    ))
    # Upstream stamps the answer with the provider's time of change as it was before this
    # one, and with none when it had never changed.
    return context.respond(serialize(provider), modified=changed_before,
                           stamped=changed_before is not None)


def delete(uuid):
    context.state().database.write(lambda connection: providers.delete(connection, uuid))
    return context.respond(None, 204)
