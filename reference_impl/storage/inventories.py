"""Inventories: how much of each resource class a provider offers, and on what terms.

Every inventory write checks the provider generation the client last saw, moves it by
one, and refuses to drop a class that consumers still hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from placement_spec import facts
from reference_impl.errors import (
    CONCURRENT_UPDATE,
    INVENTORY_IN_USE,
    BadRequest,
    Conflict,
    NotFound,
)
from reference_impl.storage import providers, resource_classes
from reference_impl.storage.capacity import capacity_of
from reference_impl.storage.db import inventories, resource_classes as classes_table
from reference_impl.storage.providers import Provider

# What an inventory is when the client leaves a field out.
DEFAULTS = facts.request_field_defaults("POST", "/resource_providers/{uuid}/inventories")


@dataclass
class Inventory:
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float

    @classmethod
    def from_request(cls, record: dict) -> "Inventory":
        """An inventory from a request body, defaults filled in; Placement reads an
        integral number such as `4.0` as the integer it is."""
        values = {**DEFAULTS, **record}
        return cls(**{field.name: (float if field.type == "float" else int)(values[field.name])
                      for field in fields(cls)})

    @property
    def capacity(self) -> float:
        """What the inventory admits: `(total - reserved) * allocation_ratio`, truncated;
        infinite when the ratio is too large (or too negative) for any amount to matter."""
        capacity = capacity_of(self.total, self.reserved, self.allocation_ratio)
        return int(capacity) if math.isfinite(capacity) else capacity

    def as_dict(self) -> dict:
        return {field.name: getattr(self, field.name) for field in fields(self)}


def for_provider(connection: Connection, provider_id: int) -> dict[str, Inventory]:
    """The provider's inventories by class name, with when they last changed."""
    return {name: inventory for name, (inventory, _) in _rows(connection, provider_id).items()}


def last_modified(connection: Connection, provider_id: int) -> datetime | None:
    stamps = [stamp for _, stamp in _rows(connection, provider_id).values()]
    return max(stamps) if stamps else None


def _rows(connection: Connection, provider_id: int) -> dict[str, tuple[Inventory, datetime]]:
    rows = connection.execute(
        select(classes_table.c.name, inventories)
        .join(classes_table, classes_table.c.id == inventories.c.resource_class_id)
        .where(inventories.c.resource_provider_id == provider_id)
        .order_by(inventories.c.id)
    )
    return {
        row.name: (
            Inventory(**{field.name: getattr(row, field.name) for field in fields(Inventory)}),
            row.updated_at,
        )
        for row in rows
    }


def check_capacity(provider: Provider, wanted: dict[str, Inventory],
                   reserved_may_equal_total: bool, action: str = "update") -> None:
    """Refuse inventories that could never admit an allocation (400); `action` is what the
    message says was being done."""
    for name, inventory in wanted.items():
        if math.isinf(inventory.capacity):
            raise BadRequest(
                f"Unable to {action} inventory for resource provider {provider.uuid}: "
                f"Invalid inventory for '{name}' on resource provider '{provider.uuid}'. "
                f"Its capacity, (total - reserved) * allocation_ratio, is out of range."
            )
        empty = inventory.capacity < 0 if reserved_may_equal_total else inventory.capacity <= 0
        if empty:
            relation = "greater than" if reserved_may_equal_total else "greater than or equal to"
            raise BadRequest(
                f"Unable to {action} inventory for resource provider {provider.uuid}: "
                f"Invalid inventory for '{name}' on resource provider '{provider.uuid}'. "
                f"The reserved value is {relation} total."
            )


def _locked(connection: Connection, provider: Provider, seen_generation: int | None) -> None:
    providers.lock_as_seen(connection, provider, seen_generation,
                           "resource provider generation conflict")


def _class_ids(connection: Connection, provider: Provider, names: set[str]) -> dict[str, int]:
    ids = resource_classes.ids_by_name(connection, names)
    unknown = sorted(names - ids.keys())
    if unknown:
        raise BadRequest(
            f"Unknown resource class in inventory for resource provider {provider.uuid}: "
            f"No such resource class {unknown[0]}."
        )
    return ids


def _refuse_in_use(connection: Connection, provider: Provider, dropped: set[str],
                   code: str, prefix: str) -> None:
    in_use = resource_classes.names_by_id(
        connection, providers.used_class_ids(connection, provider.id)
    )
    # Named in the order of the classes' ids, as upstream lists them.
    held = [name for _, name in sorted(in_use.items()) if name in dropped]
    if held:
        raise Conflict(
            f"{prefix}Inventory for '{', '.join(held)}' on resource provider "
            f"'{provider.uuid}' in use.",
            code=code,
        )


def replace_all(connection: Connection, provider: Provider, seen_generation: int | None,
                wanted: dict[str, Inventory], reserved_may_equal_total: bool | None) -> int:
    """Make the provider's inventories exactly `wanted`; return the new generation.

    `seen_generation` None skips the generation check (the bulk DELETE of 1.5 has none).
    `reserved_may_equal_total` None skips the capacity check, as the reshaper does
    upstream.
    """
    _locked(connection, provider, seen_generation)
    if reserved_may_equal_total is not None:
        check_capacity(provider, wanted, reserved_may_equal_total)
    ids = _class_ids(connection, provider, set(wanted))
    dropped = set(for_provider(connection, provider.id)) - set(wanted)
    prefix = "" if seen_generation is None else "update conflict: "
    _refuse_in_use(connection, provider, dropped, INVENTORY_IN_USE, prefix)
    connection.execute(
        inventories.delete().where(inventories.c.resource_provider_id == provider.id)
    )
    if wanted:
        connection.execute(inventories.insert(), [
            {"resource_provider_id": provider.id, "resource_class_id": ids[name],
             **inventory.as_dict()}
            for name, inventory in wanted.items()
        ])
    return _bump(connection, provider)


def add_one(connection: Connection, provider: Provider, name: str, inventory: Inventory,
            reserved_may_equal_total: bool) -> int:
    _locked(connection, provider, None)
    check_capacity(provider, {name: inventory}, reserved_may_equal_total, "create")
    class_id = resource_classes.ids_by_name(connection, {name}).get(name)
    if class_id is None:
        raise BadRequest(
            f"Unable to create inventory for resource provider {provider.uuid}: "
            f"No such resource class {name}."
        )
    if name in for_provider(connection, provider.id):
        raise Conflict(
            f"Update conflict: Inventory for '{name}' on resource provider "
            f"'{provider.uuid}' already exists.",
            code=CONCURRENT_UPDATE,
        )
    connection.execute(inventories.insert().values(
        resource_provider_id=provider.id, resource_class_id=class_id, **inventory.as_dict()
    ))
    return _bump(connection, provider)


def update_one(connection: Connection, provider: Provider, seen_generation: int, name: str,
               inventory: Inventory, reserved_may_equal_total: bool) -> int:
    """Change one inventory; upstream checks the generation, then the class, the
    capacity and the record."""
    _locked(connection, provider, seen_generation)
    class_id = resource_classes.id_of(connection, name)
    check_capacity(provider, {name: inventory}, reserved_may_equal_total)
    if name not in for_provider(connection, provider.id):
        raise BadRequest(
            f"No inventory record with resource class for resource provider "
            f"{provider.uuid}: No inventory of class {name} found."
        )
    connection.execute(
        inventories.update()
        .where(inventories.c.resource_provider_id == provider.id,
               inventories.c.resource_class_id == class_id)
        .values(updated_at=func.now(), **inventory.as_dict())
    )
    return _bump(connection, provider)


def delete_one(connection: Connection, provider: Provider, name: str) -> None:
    _locked(connection, provider, None)
    class_id = resource_classes.ids_by_name(connection, {name}).get(name)
    reason = (f"No such resource class {name}." if class_id is None
              else f"No inventory of class {name} found for delete")
    if class_id is None or name not in for_provider(connection, provider.id):
        raise NotFound(f"No inventory of class {name} found for delete: {reason}")
    _refuse_in_use(connection, provider, {name}, CONCURRENT_UPDATE,
                   f"Unable to delete inventory of class {name}: ")
    connection.execute(
        inventories.delete().where(inventories.c.resource_provider_id == provider.id,
                                   inventories.c.resource_class_id == class_id)
    )
    _bump(connection, provider)


def _bump(connection: Connection, provider: Provider) -> int:
    providers.bump_generations(connection, {provider.id})
    return connection.scalar(
        select(providers.resource_providers.c.generation).where(
            providers.resource_providers.c.id == provider.id
        )
    )
