"""The body of `PUT /allocations/{consumer_uuid}`, in the form each microversion takes.

The form is the spec's (`placement_spec.facts`): a list of `{resource_provider, resources}`
until the dict form keyed by provider uuid, and the owner, generation and type fields from
the microversions that added them. Bodies are built here for a microversion, and read and
rewritten here whatever their form, since a generated body may have either.
"""

from __future__ import annotations

from typing import Any, Callable

from placement_spec import Microversion, facts

from conformance.uuids import canonical

METHOD, PATH = "PUT", "/allocations/{consumer_uuid}"

Claims = dict[str, dict[str, int]]  # {provider uuid: {resource class: amount}}


def is_dict_form(version: Microversion) -> bool:
    """Whether the body's `allocations` is keyed by provider uuid at `version`."""
    return facts.request_field_range(METHOD, PATH, "allocations", type="object").covers(version)


def has_field(version: Microversion, name: str) -> bool:
    """Whether the body has the top-level field `name` at `version`."""
    return facts.request_field_range(METHOD, PATH, name).covers(version)


def put_body(version: Microversion, claims: Claims, **fields: Any) -> dict[str, Any]:
    """A body that claims `claims` at `version`, with those of `fields` (`project_id`,
    `consumer_generation`...) that the body has at that microversion."""
    if is_dict_form(version):
        allocations: Any = {provider: {"resources": resources}
                            for provider, resources in claims.items()}
    else:
        allocations = [{"resource_provider": {"uuid": provider}, "resources": resources}
                       for provider, resources in claims.items()]
    return {"allocations": allocations,
            **{name: value for name, value in fields.items() if has_field(version, name)}}


def claims_of(body: dict[str, Any]) -> Claims:
    """What a consumer holds after a successful PUT of `body`: providers in canonical form;
    in the list form a provider named twice keeps its last entry; `2.0` is the amount 2."""
    allocations = body["allocations"]
    if isinstance(allocations, dict):
        entries = [(provider, entry["resources"]) for provider, entry in allocations.items()]
    else:
        entries = [(entry["resource_provider"]["uuid"], entry["resources"])
                   for entry in allocations]
    return {canonical(provider): {name: int(amount) for name, amount in resources.items()}
            for provider, resources in entries}


def rewrite(body: Any, provider: Callable[[str], str],
            resources: Callable[[dict], dict] | None = None) -> None:
    """Rename each allocation's provider (and remake its resources, when `resources` is
    given), in either form; whatever is malformed is left as it was drawn."""
    allocations = body.get("allocations") if isinstance(body, dict) else None
    if isinstance(allocations, dict):
        body["allocations"] = {provider(uuid): _with_resources(entry, resources)
                               for uuid, entry in allocations.items()}
    elif isinstance(allocations, list):
        for entry in allocations:
            if not isinstance(entry, dict):
                continue
            named = entry.get("resource_provider")
            if isinstance(named, dict) and isinstance(named.get("uuid"), str):
                named["uuid"] = provider(named["uuid"])
            if resources is not None and isinstance(entry.get("resources"), dict):
                entry["resources"] = resources(entry["resources"])


def _with_resources(entry: Any, resources: Callable[[dict], dict] | None) -> Any:
    if resources is None or not isinstance(entry, dict) or not isinstance(
            entry.get("resources"), dict):
        return entry
    return {**entry, "resources": resources(entry["resources"])}
