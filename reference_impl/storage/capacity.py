"""Capacity: whether amounts fit a provider's inventories, and the 409s when they do not.

Every write of allocations (PUT and POST /allocations, the reshaper) and every search for
room (allocation candidates) asks the same questions of an inventory: is the amount
within `min_unit`, `max_unit` and `step_size`, and does what is used plus what is asked
stay within `(total - reserved) * allocation_ratio`. They live here, once, so the
operations cannot drift apart; the errors carry upstream's texts.

The public surface: `capacity_of` and `within_units`, the two rules on one inventory;
`Usage` and `usage`, what the providers of a write have and hold; `check`, the whole
request against them, raising upstream's 409 at the first amount that does not fit.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.engine import Connection

from reference_impl.errors import Conflict
from reference_impl.storage.db import allocations, inventories
from reference_impl.storage.providers import Provider


def capacity_of(total: int, reserved: int, allocation_ratio: float) -> float:
    """What an inventory admits, as upstream computes it: a float, not truncated, so
    `(10 - 3) * 0.5` admits 3 and refuses 4."""
    return (total - reserved) * allocation_ratio


def within_units(inventory, amount: int) -> bool:
    """Whether one allocation of `amount` respects the inventory's `min_unit`, `max_unit`
    and `step_size`; each allocation is judged alone, not the sum of a request's."""
    return (inventory.min_unit <= amount <= inventory.max_unit
            and amount % inventory.step_size == 0)


@dataclass(frozen=True)
class Usage:
    """The inventories of the providers a write names, {(provider id, class id): row}, and
    how much of each is used before the write: by every consumer, and by the consumers
    the write leaves alone (the others)."""

    inventory: dict[tuple[int, int], object]
    before: dict[tuple[int, int], int]
    by_others: dict[tuple[int, int], int]


_PROVIDERS = bindparam("providers", expanding=True)
_SUMS = (
    select(allocations.c.resource_provider_id, allocations.c.resource_class_id,
           func.sum(allocations.c.used).label("used"),
           func.sum(case((allocations.c.consumer_id.in_(bindparam("replaced", expanding=True)),
                          allocations.c.used), else_=0)).label("replaced"))
    .where(allocations.c.resource_provider_id.in_(_PROVIDERS))
    .group_by(allocations.c.resource_provider_id, allocations.c.resource_class_id)
    .subquery()
)
# Built once: building it costs more than running it on SQLite.
_USAGE = (
    select(inventories, _SUMS.c.used, _SUMS.c.replaced)
    .select_from(inventories.outerjoin(_SUMS, and_(
        _SUMS.c.resource_provider_id == inventories.c.resource_provider_id,
        _SUMS.c.resource_class_id == inventories.c.resource_class_id)))
    .where(inventories.c.resource_provider_id.in_(_PROVIDERS))
)


def usage(connection: Connection, provider_ids: set[int], replaced: list[int]) -> Usage:
    """The inventories of `provider_ids` and what is used of them, in one query, counting
    apart what the consumers `replaced` hold: a write that holds the providers' locks
    removes exactly that much before it adds its own. No providers is no rows."""
    rows = connection.execute(
        _USAGE, {"replaced": replaced, "providers": list(provider_ids)}).all()
    keys = [(row.resource_provider_id, row.resource_class_id) for row in rows]
    return Usage(inventory=dict(zip(keys, rows)),
                 before={key: int(row.used or 0) for key, row in zip(keys, rows)},
                 by_others={key: int(row.used or 0) - int(row.replaced or 0)
                            for key, row in zip(keys, rows)})


def check(amounts: Iterable[tuple[Provider, str, int]], class_ids: dict[str, int],
          usage: Usage) -> None:
    """Refuse (409) a request of `amounts`, (provider, class name, amount) in the order
    the request names them, when one breaks its inventory's rules.

    The amounts of the whole request add up per provider and class, on top of what the
    other consumers hold. A provider that was already over capacity may keep or lower
    its usage, never raise it.
    """
    amounts = list(amounts)
    inventory = usage.inventory
    _refuse_providers_without_inventory(amounts, class_ids, inventory)
    needed: dict[tuple[int, int], int] = defaultdict(int)
    for provider, resource_class, amount in amounts:
        key = (provider.id, class_ids[resource_class])
        record = inventory.get(key)
        if record is None:
            raise _invalid_inventory(resource_class, provider.uuid)
        if not within_units(record, amount):
            raise _unable(resource_class, provider.uuid, "would violate inventory constraints")
        needed[key] += amount
        capacity = capacity_of(record.total, record.reserved, record.allocation_ratio)
        # Every inventory has both sums (zero where nothing is held), so no default.
        total_after = usage.by_others[key] + needed[key]
        if capacity < total_after and total_after > usage.before[key]:
            raise _unable(resource_class, provider.uuid, "would exceed the capacity")


def _unable(resource_class: str, rp_uuid: str, reason: str) -> Conflict:
    return Conflict(
        f"Unable to allocate inventory: Unable to create allocation for '{resource_class}' "
        f"on resource provider '{rp_uuid}'. The requested amount {reason}."
    )


def _refuse_providers_without_inventory(amounts, class_ids, inventory) -> None:
    """Upstream first refuses, all at once, the providers that have inventory of none of
    the classes the request names (naming every class of the request, in id order); a
    provider that lacks only some is refused at the first allocation it cannot hold."""
    named = set(class_ids.values())
    with_inventory = {provider_id for provider_id, class_id in inventory if class_id in named}
    without = list(dict.fromkeys(provider.uuid for provider, _, _ in amounts
                                 if provider.id not in with_inventory))
    if without:
        names = sorted(set(class_ids), key=class_ids.get)
        raise _invalid_inventory(", ".join(names), ", ".join(without))


def _invalid_inventory(resource_classes: str, rp_uuids: str) -> Conflict:
    return Conflict(f"Unable to allocate inventory: Inventory for '{resource_classes}' on "
                    f"resource provider '{rp_uuids}' invalid.")
