"""Combining the options of every request group into candidates, as upstream does: around
one anchor, one option of each group; `group_policy=isolate` wants the granular groups on
distinct providers; each `same_subtree` wants its groups' providers under one of them;
and the amounts that several groups take of one inventory must fit it together.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection

from reference_impl.storage.candidate_groups import Option, Options
from reference_impl.storage.db import inventories, resource_providers
from reference_impl.storage.capacity import capacity_of
from reference_impl.storage.providers import inventory_usage

if TYPE_CHECKING:
    from reference_impl.storage.candidates import RequestGroup

# Each group with its options, in the order of the query.
Grouped = list[tuple["RequestGroup", Options]]


@dataclass(frozen=True)
class Combined:
    """One candidate, in ids: {(provider id, class id): amount}, and the providers of
    each group suffix."""

    amounts: tuple[tuple[tuple[int, int], int], ...]
    mappings: tuple[tuple[str, frozenset[int]], ...]


def combine(connection: Connection, grouped: Grouped, *, isolate: bool,
            same_subtree: tuple[frozenset[str], ...]) -> list[Combined]:
    """Every distinct candidate that takes one option of each group around one anchor."""
    anchors = set.intersection(*(set(found) for _, found in grouped))
    granular = [index for index, (group, _) in enumerate(grouped) if group.granular]
    suffixes = [group.suffix for group, _ in grouped]
    limits = _shared_limits(connection, grouped)
    parents = _parents(connection, grouped) if same_subtree else {}
    candidates: dict[Combined, None] = {}
    for anchor in sorted(anchors):
        for choice in itertools.product(*(found[anchor] for _, found in grouped)):
            if isolate and len({choice[index].providers for index in granular}) < len(granular):
                continue
            if not all(_in_one_subtree(_providers_of(choice, suffixes, subtree), parents)
                       for subtree in same_subtree):
                continue
            amounts = _summed(choice)
            if any(not limits[key].fits(amount) for key, amount in amounts.items()
                   if key in limits):
                continue
            mappings: dict[str, frozenset[int]] = {}
            for suffix, option in zip(suffixes, choice):
                mappings[suffix] = mappings.get(suffix, frozenset()) | option.providers
            candidates[Combined(tuple(amounts.items()), tuple(mappings.items()))] = None
    return list(candidates)


def _summed(choice: tuple[Option, ...]) -> dict[tuple[int, int], int]:
    amounts: dict[tuple[int, int], int] = defaultdict(int)
    for option in choice:
        for provider, class_id, amount in option.amounts:
            amounts[provider, class_id] += amount
    return dict(amounts)


def _providers_of(choice: tuple[Option, ...], suffixes: list[str],
                  wanted: frozenset[str]) -> set[int]:
    return {provider for suffix, option in zip(suffixes, choice) if suffix in wanted
            for provider in option.providers}


def _in_one_subtree(providers: set[int], parents: dict[int, int | None]) -> bool:
    """Whether one of `providers` is an ancestor of (or is) every other."""
    lines = [_line_of(provider, parents) for provider in providers]
    common = set.intersection(*lines)
    return bool(common & providers)


def _line_of(provider: int, parents: dict[int, int | None]) -> set[int]:
    line = set()
    while provider is not None:
        line.add(provider)
        provider = parents[provider]
    return line


def _parents(connection: Connection, grouped: Grouped) -> dict:
    """The parent of every provider in the trees of the options' providers."""
    named = {provider for _, found in grouped for options in found.values()
             for option in options for provider in option.providers}
    roots = select(resource_providers.c.root_provider_id).where(
        resource_providers.c.id.in_(sorted(named)))
    return dict(connection.execute(
        select(resource_providers.c.id, resource_providers.c.parent_provider_id)
        .where(resource_providers.c.root_provider_id.in_(roots.scalar_subquery()))).all())


@dataclass(frozen=True)
class _Room:
    """What an inventory admits beside its usage, and at most at once (max_unit)."""

    left: float
    most: int

    def fits(self, amount: int) -> bool:
        return amount <= self.left and amount <= self.most


def _shared_limits(connection: Connection, grouped: Grouped) -> dict[tuple[int, int], _Room]:
    """The room of each inventory that more than one group may take from, by (provider
    id, class id): the only sums that the checks of each group in SQL did not see."""
    takers: dict[tuple[int, int], set[int]] = defaultdict(set)
    for index, (_, found) in enumerate(grouped):
        for options in found.values():
            for option in options:
                for provider, class_id, _ in option.amounts:
                    takers[provider, class_id].add(index)
    shared = {key for key, groups in takers.items() if len(groups) > 1}
    if not shared:
        return {}
    rows = connection.execute(
        select(inventories.c.resource_provider_id, inventories.c.resource_class_id,
               inventories.c.total, inventories.c.reserved, inventories.c.allocation_ratio,
               inventories.c.max_unit, inventory_usage().label("used"))
        .where(inventories.c.resource_provider_id.in_(sorted({p for p, _ in shared}))))
    return {
        (row.resource_provider_id, row.resource_class_id): _Room(
            left=capacity_of(row.total, row.reserved, row.allocation_ratio) - int(row.used),
            most=row.max_unit)
        for row in rows if (row.resource_provider_id, row.resource_class_id) in shared}
