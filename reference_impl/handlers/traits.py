"""Handlers for /traits and /traits/{name}."""

from __future__ import annotations

from dataclasses import replace

from reference_impl import context, validation
from reference_impl.errors import BadRequest
from reference_impl.storage import traits
from reference_impl.storage.traits import TraitFilter

INVALID_NAME = ('The trait is invalid. A valid trait must be no longer than 255 '
                'characters, start with the prefix "CUSTOM_" and use following characters: '
                '"A"-"Z", "0"-"9" and "_"')


def trait_url(name: str) -> str:
    return context.url(f"/traits/{name}")


def name_filter(text: str) -> TraitFilter:
    """`in:A,B` or `startswith:X`; any other operator filters nothing, as upstream."""
    operator, colon, value = text.partition(":")
    if not colon:
        raise BadRequest(
            "Badly formatted name parameter. Expected name query string parameter in "
            f'form: ?name=[in|startswith]:[name1,name2|prefix]. Got: "{text}"')
    if operator == "in":
        return TraitFilter(names=value.split(","))
    if operator == "startswith":
        return TraitFilter(prefix=value)
    return TraitFilter()


def associated_filter(text: str) -> bool:
    if text.lower() not in ("true", "false"):
        raise BadRequest('The query parameter "associated" only accepts "true" or "false"')
    return text.lower() == "true"


def list_traits(name=None, associated=None):
    wanted = name_filter(name) if name is not None else TraitFilter()
    if associated is not None:
        wanted = replace(wanted, associated=associated_filter(associated))
    with context.state().database.read() as connection:
        found = traits.matching(connection, wanted)
    return context.respond({"traits": [trait.name for trait in found]},
                           modified=traits.last_modified(found))


def get(name):
    with context.state().database.read() as connection:
        trait = traits.find(connection, name)
    return context.respond(None, 204, modified=trait.created_at, stamp_empty=True)


def update(name):
    """Make sure custom trait `name` exists: 201 when it is new, 204 when it was there."""
    try:
        validation.check(context.version(), "CustomTraitName", name)
    except BadRequest:
        raise BadRequest(INVALID_NAME) from None
    trait, created = context.state().database.write(
        lambda connection: traits.ensure(connection, name))
    return context.respond(None, 201 if created else 204, modified=trait.created_at,
                           stamp_empty=True, headers={"location": trait_url(name)})


def delete(name):
    context.state().database.write(lambda connection: traits.delete_trait(connection, name))
    return context.respond(None, 204)
