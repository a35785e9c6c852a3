"""The ways each request group of an allocation candidates query can be served, found in
SQL: for every anchor (the root of the tree a candidate is built around), the options
of the group there.

Upstream's rules, which decide the answer:

- a granular group (`resources1`...) is served by one provider that can take every
  amount and holds the group's traits and aggregates itself; a sharing provider
  (`MISC_SHARES_VIA_AGGREGATE`) serves it around its own root and around the root of
  every provider it shares an aggregate with;
- the unsuffixed group may spread its classes over the providers of one tree and the
  sharing providers of that tree's aggregates, each class whole from one provider; the
  providers an option uses must hold its required traits together, and none of them a
  forbidden one; `member_of` is met by the provider or by its anchor. Where no provider
  has a parent and none shares, it is served as a granular group is, which comes to the
  same answer.

Every amount is checked against its inventory here, in SQL (`providers.can_take`); the
sum of several groups on one provider is checked when the groups are combined
(`candidate_merge`).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from reference_impl.errors import BadRequest
from reference_impl.storage import resource_classes
from reference_impl.storage.db import (
    resource_provider_aggregates,
    resource_provider_traits,
    resource_providers,
    traits,
)
from reference_impl.storage.providers import Membership, can_take, holds_trait, in_aggregate

if TYPE_CHECKING:
    from reference_impl.storage.candidates import RequestGroup

SHARING_TRAIT = "MISC_SHARES_VIA_AGGREGATE"


@dataclass(frozen=True)
class Option:
    """One way to serve a group: what it takes, as (provider id, class id, amount) in the
    group's order of classes, and the providers its mapping names (a resourceless group
    takes nothing and still names its provider)."""

    amounts: tuple[tuple[int, int, int], ...]
    providers: frozenset[int]


# Anchor root id -> the options of a group around that anchor.
Options = dict[int, list[Option]]


@dataclass
class Deployment:
    """What every group of one request shares: whether any provider has a parent, the
    sharing providers, the roots `root_required` admits (None: any), and what has been
    learnt along the way (each provider's root, each sharing provider's anchors)."""

    nested: bool
    sharing: frozenset[int]
    allowed_roots: frozenset[int] | None
    root_of: dict[int, int] = field(default_factory=dict)
    anchors: dict[int, frozenset[int]] = field(default_factory=dict)

    def admits(self, anchor: int) -> bool:
        return self.allowed_roots is None or anchor in self.allowed_roots


def survey(connection: Connection, root_membership: Membership) -> Deployment | None:
    """The request-wide facts; None when `root_required` admits no root, which upstream
    answers with no candidate before it looks at any group (an unknown trait in it is
    a 400 first)."""
    nested = connection.scalar(select(resource_providers.c.id).where(
        resource_providers.c.parent_provider_id.is_not(None)).limit(1)) is not None
    allowed = None
    if root_membership.traits or root_membership.forbidden_traits:
        allowed = _roots_holding(connection, root_membership)
        if not allowed:
            return None
    sharing = frozenset(connection.scalars(
        select(resource_provider_traits.c.resource_provider_id)
        .join(traits, traits.c.id == resource_provider_traits.c.trait_id)
        .where(traits.c.name == SHARING_TRAIT)))
    return Deployment(nested=nested, sharing=sharing, allowed_roots=allowed)


def _roots_holding(connection: Connection, membership: Membership) -> frozenset[int]:
    *required, forbidden = trait_ids(connection, [*membership.traits,
                                                   membership.forbidden_traits])
    query = select(resource_providers.c.id).where(
        resource_providers.c.parent_provider_id.is_(None),
        *[holds_trait(sorted(any_of)) for any_of in required])
    if forbidden:
        query = query.where(~holds_trait(sorted(forbidden)))
    return frozenset(connection.scalars(query))


def trait_ids(connection: Connection, wanted: list[frozenset[str]]) -> list[frozenset[int]]:
    """The ids of each set of trait names; the first unknown name, in the order of the
    sets, is upstream's 400."""
    names = sorted(frozenset().union(*wanted))
    ids = dict(connection.execute(
        select(traits.c.name, traits.c.id).where(traits.c.name.in_(names))).all())
    for name in (name for names_of_set in wanted for name in sorted(names_of_set)):
        if name not in ids:
            raise BadRequest(f"No such trait(s): {name}.")
    return [frozenset(ids[name] for name in names_of_set) for names_of_set in wanted]


@dataclass(frozen=True)
class _Wanted:
    """A group with its names resolved to ids."""

    amounts: dict[int, int]  # class id -> amount, in the group's order
    required: list[frozenset[int]]  # trait ids: one at least of each set
    forbidden: frozenset[int]  # trait ids
    members: frozenset[int] | None  # the providers in every `member_of` set; None: no filter
    tree: int | None  # the root of `in_tree`


def options(connection: Connection, group: RequestGroup, deployment: Deployment) -> Options:
    """Every option of `group` around every anchor; empty when it cannot be served."""
    wanted = _resolve(connection, group)
    if wanted is None:
        return {}
    if not group.granular and (deployment.nested or deployment.sharing):
        return _spread_options(connection, group, wanted, deployment)
    return _single_provider_options(connection, group, wanted, deployment)


def _resolve(connection: Connection, group: RequestGroup) -> _Wanted | None:
    """The group's ids, looked up in upstream's order: the classes (400), `member_of`
    (no provider in it: no candidate, before the traits are looked up), the traits
    (400), `in_tree` (an unknown provider: no candidate)."""
    ids = resource_classes.ids_by_name(connection, set(group.resources))
    for name in group.resources:
        if name not in ids:
            raise BadRequest("Invalid resource class in resources parameter: "
                             f"No such resource class {name}.")
    membership = group.membership
    members = None
    if membership.aggregates:
        members = frozenset(connection.scalars(select(resource_providers.c.id).where(
            *[in_aggregate(any_of) for any_of in membership.aggregates])))
        if not members:
            return None
    *required, forbidden = trait_ids(connection, [*membership.traits,
                                                   membership.forbidden_traits])
    tree = None
    if group.in_tree is not None:
        tree = connection.scalar(select(resource_providers.c.root_provider_id).where(
            resource_providers.c.uuid == group.in_tree))
        if tree is None:
            return None
    return _Wanted(amounts={ids[name]: amount for name, amount in group.resources.items()},
                   required=required, forbidden=forbidden, members=members, tree=tree)


def _single_provider_options(connection: Connection, group: RequestGroup, wanted: _Wanted,
                             deployment: Deployment) -> Options:
    membership = group.membership
    query = select(resource_providers.c.id, resource_providers.c.root_provider_id).where(
        *[can_take(class_id, amount) for class_id, amount in wanted.amounts.items()],
        *[holds_trait(sorted(any_of)) for any_of in wanted.required],
        *[in_aggregate(any_of) for any_of in membership.aggregates])
    if wanted.forbidden:
        query = query.where(~holds_trait(sorted(wanted.forbidden)))
    if membership.forbidden_aggregates:
        query = query.where(~in_aggregate(membership.forbidden_aggregates))
    if wanted.tree is not None and wanted.amounts:
        # Upstream narrows to the tree where it looks for resources: a resourceless
        # group is looked for in every tree.
        query = query.where(resource_providers.c.root_provider_id == wanted.tree)
    rows = connection.execute(query.order_by(resource_providers.c.id)).all()
    deployment.root_of.update(rows)
    _learn_anchors(connection, deployment, {provider for provider, _ in rows})
    found: Options = defaultdict(list)
    for provider, root in rows:
        option = Option(tuple((provider, class_id, amount)
                              for class_id, amount in wanted.amounts.items()),
                        frozenset({provider}))
        for anchor in {root} | deployment.anchors.get(provider, frozenset()):
            if deployment.admits(anchor):
                found[anchor].append(option)
    return found


def _spread_options(connection: Connection, group: RequestGroup, wanted: _Wanted,
                    deployment: Deployment) -> Options:
    """Options of the unsuffixed group: each class from any provider of the anchor's tree
    or any sharing provider of its aggregates."""
    excluded = frozenset()
    if group.membership.forbidden_aggregates:
        excluded = frozenset(connection.scalars(select(resource_providers.c.id).where(
            in_aggregate(group.membership.forbidden_aggregates))))
    # class id -> anchor -> the providers that can serve the class there
    servers: dict[int, dict[int, set[int]]] = {}
    anchors: set[int] | None = None
    for class_id, amount in wanted.amounts.items():
        query = select(resource_providers.c.id, resource_providers.c.root_provider_id).where(
            can_take(class_id, amount))
        if wanted.tree is not None:
            query = query.where(resource_providers.c.root_provider_id == wanted.tree)
        rows = connection.execute(query).all()
        deployment.root_of.update(rows)
        pairs = set(rows)
        if wanted.tree is None:
            # in_tree keeps the group out of sharing providers of other trees.
            shared = deployment.sharing & {provider for provider, _ in rows}
            if wanted.members is not None:
                shared &= wanted.members
            _learn_anchors(connection, deployment, shared)
            pairs |= {(provider, anchor) for provider in shared
                      for anchor in deployment.anchors[provider]}
        by_anchor: dict[int, set[int]] = defaultdict(set)
        for provider, anchor in pairs:
            if (deployment.admits(anchor)
                    and (wanted.members is None
                         or provider in wanted.members or anchor in wanted.members)
                    and provider not in excluded and anchor not in excluded):
                by_anchor[anchor].add(provider)
        anchors = set(by_anchor) if anchors is None else anchors & by_anchor.keys()
        if not anchors:
            return {}
        servers[class_id] = by_anchor
    held = (_traits_of(connection, {provider for by_anchor in servers.values()
                                     for providers in by_anchor.values()
                                     for provider in providers})
            if wanted.required or wanted.forbidden else {})
    classes = list(wanted.amounts)
    found: Options = {}
    # Upstream keeps the options of the group in a set, in which an option that uses
    # only sharing providers, the same around several anchors, is kept once: with the
    # anchor it met first, in an order of its own. Here that is the anchor first
    # created.
    seen: set[Option] = set()
    for anchor in sorted(anchors):
        for choice in itertools.product(*(sorted(servers[class_id][anchor])
                                          for class_id in classes)):
            providers = frozenset(choice)
            if not _holds_together(providers, wanted, held):
                continue
            option = Option(tuple((provider, class_id, wanted.amounts[class_id])
                                  for provider, class_id in zip(choice, classes)), providers)
            if option not in seen:
                seen.add(option)
                found.setdefault(anchor, []).append(option)
    return found


def _holds_together(providers: frozenset[int], wanted: _Wanted,
                    held: dict[int, set[int]]) -> bool:
    """Whether the providers of an option hold, between them, one at least of each set
    of required traits, and none of them a forbidden one."""
    together: set[int] = set()
    for provider in providers:
        own = held.get(provider, set())
        if own & wanted.forbidden:
            return False
        together |= own
    return all(any_of & together for any_of in wanted.required)


def _traits_of(connection: Connection, provider_ids: set[int]) -> dict[int, set[int]]:
    held: dict[int, set[int]] = defaultdict(set)
    rows = connection.execute(select(resource_provider_traits).where(
        resource_provider_traits.c.resource_provider_id.in_(sorted(provider_ids))))
    for provider, trait in rows:
        held[provider].add(trait)
    return held


def _learn_anchors(connection: Connection, deployment: Deployment,
                   provider_ids: set[int]) -> None:
    """Record the anchors of the sharing providers among `provider_ids`: the roots of
    every provider that shares an aggregate with them, their own included."""
    unknown = sorted((provider_ids & deployment.sharing) - deployment.anchors.keys())
    if not unknown:
        return
    mine = aliased(resource_provider_aggregates)
    theirs = aliased(resource_provider_aggregates)
    rows = connection.execute(
        select(mine.c.resource_provider_id, resource_providers.c.root_provider_id)
        .select_from(mine)
        .join(theirs, theirs.c.aggregate_uuid == mine.c.aggregate_uuid)
        .join(resource_providers, resource_providers.c.id == theirs.c.resource_provider_id)
        .where(mine.c.resource_provider_id.in_(unknown))
        .distinct())
    found: dict[int, set[int]] = defaultdict(set)
    for provider, root in rows:
        found[provider].add(root)
    for provider in unknown:
        deployment.anchors[provider] = frozenset(found[provider])
