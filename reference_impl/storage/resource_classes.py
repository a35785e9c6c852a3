"""Resource classes: the standard ones every deployment knows, and custom ones clients add."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from reference_impl.errors import BadRequest, Conflict, NotFound
from reference_impl.storage.db import allocations, inventories, resource_classes
from reference_impl.storage.standard_classes import STANDARD_RESOURCE_CLASSES


def names(connection: Connection) -> list[str]:
    """Every class, standard ones first in their canonical order, then custom ones."""
    return list(connection.scalars(select(resource_classes.c.name).order_by(resource_classes.c.id)))


_IDS_BY_NAME = select(resource_classes.c.name, resource_classes.c.id).where(
    resource_classes.c.name.in_(bindparam("names", expanding=True)))


def ids_by_name(connection: Connection, wanted: set[str]) -> dict[str, int]:
    rows = connection.execute(_IDS_BY_NAME, {"names": list(wanted)})
    return {row.name: row.id for row in rows}


def names_by_id(connection: Connection, ids: set[int]) -> dict[int, str]:
    rows = connection.execute(
        select(resource_classes.c.id, resource_classes.c.name).where(resource_classes.c.id.in_(ids))
    )
    return {row.id: row.name for row in rows}


def _find_id(connection: Connection, name: str) -> int | None:
    return connection.scalar(select(resource_classes.c.id).where(resource_classes.c.name == name))


def id_of(connection: Connection, name: str) -> int:
    """The id of class `name`, or Placement's 404 naming it."""
    class_id = _find_id(connection, name)
    if class_id is None:
        raise NotFound(f"No such resource class {name}.", outside_handler=True)
    return class_id


def last_modified(connection: Connection, name: str) -> datetime | None:
    if name in STANDARD_RESOURCE_CLASSES:
        return None
    return connection.scalar(
        select(resource_classes.c.updated_at).where(resource_classes.c.name == name)
    )


def create(connection: Connection, name: str) -> None:
    if not ensure(connection, name):
        raise Conflict(f"Conflicting resource class already exists: {name}")


def ensure(connection: Connection, name: str) -> bool:
    """Create class `name` unless it exists; whether it was created."""
    if _find_id(connection, name) is not None:
        return False
    connection.execute(resource_classes.insert().values(name=name))
    return True


def rename(connection: Connection, name: str, new_name: str) -> None:
    class_id = id_of(connection, name)
    if name in STANDARD_RESOURCE_CLASSES:
        raise BadRequest(f"Cannot update standard resource class {name}")
    if _find_id(connection, new_name) is not None:
        raise Conflict(f"Resource class already exists: {new_name}")
    connection.execute(
        resource_classes.update()
        .where(resource_classes.c.id == class_id)
        .values(name=new_name, updated_at=func.now())
    )


def delete(connection: Connection, name: str) -> None:
    class_id = id_of(connection, name)
    if name in STANDARD_RESOURCE_CLASSES:
        raise BadRequest(
            f"Error in delete resource class: Cannot delete standard resource class {name}."
        )
    for table, place in ((inventories, "inventory"), (allocations, "allocations")):
        if connection.scalar(select(table.c.id).where(table.c.resource_class_id == class_id).limit(1)):
            raise Conflict(
                f"Error in delete resource class: Cannot delete resource class {name}. "
                f"Class is in use in {place}."
            )
    connection.execute(resource_classes.delete().where(resource_classes.c.id == class_id))
