"""Handlers for usages: of one provider, and of a project (and user)."""

from __future__ import annotations

from placement_spec import facts
from reference_impl import context
from reference_impl.errors import NotFound
from reference_impl.storage import usages

BY_CONSUMER_TYPE = facts.parameter_range("GET", "/usages", "consumer_type")


def for_provider(uuid):
    with context.state().database.read() as connection:
        found = usages.of_provider(connection, uuid)
    if found is None:
        missing = f"No resource provider with uuid {uuid} found"
        raise NotFound(f"{missing}: {missing}")
    generation, used = found
    return context.respond({"resource_provider_generation": generation, "usages": used})


def for_project(project_id, user_id=None, consumer_type=None):
    with context.state().database.read() as connection:
        if BY_CONSUMER_TYPE.covers(context.version()):
            used = usages.for_project_by_type(connection, project_id, user_id, consumer_type)
        else:
            used = usages.for_project(connection, project_id, user_id)
    return context.respond({"usages": used})
