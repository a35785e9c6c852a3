"""Handlers for /resource_classes and /resource_classes/{name}."""

from __future__ import annotations

from placement_spec import facts
from reference_impl import context, validation
from reference_impl.storage import resource_classes

# Where PUT creates a class (answering 201) rather than renaming one.
CREATE_ON_PUT = facts.response_range("PUT", "/resource_classes/{name}", 201)


def class_url(name: str) -> str:
    return context.url(f"/resource_classes/{name}")


def serialize(name: str) -> dict:
    return {"name": name, "links": [{"rel": "self", "href": class_url(name)}]}


def list_classes():
    with context.state().database.read() as connection:
        names = resource_classes.names(connection)
    return context.respond({"resource_classes": [serialize(name) for name in names]})


def create(body):
    name = body["name"]
    context.state().database.write(lambda connection: resource_classes.create(connection, name))
    return context.respond(None, 201, headers={"location": class_url(name)})


def get(name):
    with context.state().database.read() as connection:
        resource_classes.id_of(connection, name)
        modified = resource_classes.last_modified(connection, name)
    return context.respond(serialize(name), modified=modified)


def update(name, body=None):
    """Before 1.7, rename a custom class; from 1.7, make sure a custom class exists."""
    database = context.state().database
    if not CREATE_ON_PUT.covers(context.version()):
        database.write(lambda connection: resource_classes.rename(connection, name, body["name"]))
        return context.respond(serialize(body["name"]))
    validation.check(context.version(), "ResourceClassRequest", {"name": name})
    created = database.write(lambda connection: resource_classes.ensure(connection, name))
    return context.respond(None, 201 if created else 204, headers={"location": class_url(name)})


def delete(name):
    context.state().database.write(lambda connection: resource_classes.delete(connection, name))
    return context.respond(None, 204)
