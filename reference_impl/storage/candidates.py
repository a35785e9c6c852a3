"""Allocation candidates: which providers, alone or together in a tree and with the
providers that share with it through an aggregate, can serve a request.

The handler (`handlers/allocation_candidates.py`) reads the query string into a
`CandidateQuery`; `find` answers it with `Candidates`, which the handler writes in the
form of the request's microversion. Both sides know only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from reference_impl.storage import candidate_groups, candidate_merge
from reference_impl.storage.candidate_merge import Combined
from reference_impl.storage.db import (
    inventories,
    resource_classes,
    resource_provider_traits,
    resource_providers,
    traits,
)
from reference_impl.storage.inventories import Inventory
from reference_impl.storage.providers import Membership, inventory_usage


@dataclass(frozen=True)
class RequestGroup:
    """One request group: the unsuffixed one (`resources`, `required`, `member_of`,
    `in_tree`), or a granular one (`resources1`, `required_NET`...)."""

    suffix: str  # "" for the unsuffixed group; "1", "_NET"... otherwise
    resources: dict[str, int]  # class name -> amount
    membership: Membership = Membership()
    in_tree: str | None = None  # a provider uuid; the group must come from its tree

    @property
    def granular(self) -> bool:
        """A suffixed group must be served by a single provider."""
        return self.suffix != ""


@dataclass(frozen=True)
class CandidateQuery:
    groups: tuple[RequestGroup, ...]
    isolate: bool = False  # group_policy=isolate: suffixed groups on distinct providers
    limit: int | None = None
    # root_required: what the root of each candidate's tree must hold (traits only).
    root_membership: Membership = Membership()
    # same_subtree: each entry is a set of group suffixes whose providers must all be in
    # the subtree of one of them.
    same_subtree: tuple[frozenset[str], ...] = ()
    # Before nested providers were understood, a tree with children serves no candidate.
    nested_aware: bool = True


@dataclass(frozen=True)
class AllocationRequest:
    allocations: dict[str, dict[str, int]]  # provider uuid -> class name -> amount
    mappings: dict[str, list[str]]  # group suffix -> uuids of the providers serving it


@dataclass(frozen=True)
class ResourceSummary:
    capacity: int  # (total - reserved) * allocation_ratio, as an integer
    used: int


@dataclass(frozen=True)
class ProviderSummary:
    uuid: str
    parent_provider_uuid: str | None
    root_provider_uuid: str
    resources: dict[str, ResourceSummary]  # every class the provider has inventory of
    traits: list[str]


@dataclass(frozen=True)
class Candidates:
    allocation_requests: list[AllocationRequest] = field(default_factory=list)
    provider_summaries: dict[str, ProviderSummary] = field(default_factory=dict)


def find(connection: Connection, query: CandidateQuery) -> Candidates:
    """Every allocation request that serves `query`, and a summary of each provider in
    the trees they use. An unknown resource class or trait is upstream's 400 (BadRequest
    with its text), looked up in upstream's order.

    Upstream looks at the groups one after the other and stops at the first that nothing
    can serve, so the names of a later group are not looked up then. Its order of the
    candidates is that of Python sets; here it is the order of the anchors' ids, which
    no client may rely on either.
    """
    deployment = candidate_groups.survey(connection, query.root_membership)
    if deployment is None:
        return Candidates()
    grouped = []
    for group in query.groups:
        found = candidate_groups.options(connection, group, deployment)
        if not found:
            return Candidates()
        grouped.append((group, found))
    combined = candidate_merge.combine(connection, grouped, isolate=query.isolate,
                                       same_subtree=query.same_subtree)
    root_of = deployment.root_of
    summarised = None  # None: every provider of the trees used
    if not query.nested_aware and deployment.nested:
        combined = [candidate for candidate in combined if _one_provider_per_tree(
            candidate, root_of)]
        summarised = {provider for candidate in combined
                      for (provider, _), _ in candidate.amounts}
    if query.limit is not None and query.limit < len(combined):
        combined = combined[:query.limit]
    roots = {root_of[provider] for candidate in combined
             for (provider, _), _ in candidate.amounts}
    summaries = _summaries(connection, roots, summarised)
    uuids = {provider: summary.uuid for provider, summary in summaries.items()}
    return Candidates(allocation_requests=_requests(connection, combined, uuids),
                      provider_summaries={summary.uuid: summary
                                          for summary in summaries.values()})


def _one_provider_per_tree(candidate: Combined, root_of: dict[int, int]) -> bool:
    """For a client that knows nothing of trees (`nested_aware` False), upstream drops a
    candidate that takes from two providers of one tree."""
    providers = {provider for (provider, _), _ in candidate.amounts}
    return len(providers) == len({root_of[provider] for provider in providers})


def _requests(connection: Connection, combined: list[Combined],
              uuids: dict[int, str]) -> list[AllocationRequest]:
    """The candidates with uuids and class names for ids; `uuids` holds those of the
    providers summarised, the others (a resourceless group's) are looked up."""
    unknown = {provider for candidate in combined for _, providers in candidate.mappings
               for provider in providers} - uuids.keys()
    uuids = {**uuids, **dict(connection.execute(
        select(resource_providers.c.id, resource_providers.c.uuid)
        .where(resource_providers.c.id.in_(sorted(unknown)))).all())}
    class_ids = {class_id for candidate in combined for (_, class_id), _ in candidate.amounts}
    names = dict(connection.execute(
        select(resource_classes.c.id, resource_classes.c.name)
        .where(resource_classes.c.id.in_(sorted(class_ids)))).all())
    requests = []
    for candidate in combined:
        taken: dict[str, dict[str, int]] = {}
        for (provider, class_id), amount in candidate.amounts:
            taken.setdefault(uuids[provider], {})[names[class_id]] = amount
        requests.append(AllocationRequest(
            allocations=taken,
            mappings={suffix: sorted(uuids[provider] for provider in providers)
                      for suffix, providers in candidate.mappings}))
    return requests


_parent = aliased(resource_providers)
_root = aliased(resource_providers)


def _summaries(connection: Connection, roots: set[int],
               only: set[int] | None) -> dict[int, ProviderSummary]:
    """A summary of every provider in the trees of `roots` (of those in `only`, when
    given), by id: every inventory's capacity and usage, and every trait."""
    in_trees = resource_providers.c.root_provider_id.in_(sorted(roots))
    if only is not None:
        in_trees = and_(in_trees, resource_providers.c.id.in_(sorted(only)))
    # A provider with its inventories, one row each (one row of NULLs for none).
    rows = connection.execute(
        select(resource_providers.c.id, resource_providers.c.uuid, _parent.c.uuid,
               _root.c.uuid, resource_classes.c.name, inventories.c.total,
               inventories.c.reserved, inventories.c.min_unit, inventories.c.max_unit,
               inventories.c.step_size, inventories.c.allocation_ratio,
               inventory_usage())
        .select_from(resource_providers)
        .outerjoin(_parent, _parent.c.id == resource_providers.c.parent_provider_id)
        .join(_root, _root.c.id == resource_providers.c.root_provider_id)
        .outerjoin(inventories,
                   inventories.c.resource_provider_id == resource_providers.c.id)
        .outerjoin(resource_classes,
                   resource_classes.c.id == inventories.c.resource_class_id)
        .where(in_trees)
        .order_by(resource_providers.c.id, inventories.c.resource_class_id)).all()
    summaries: dict[int, ProviderSummary] = {}
    for provider, uuid, parent, root, class_name, *inventory, used in rows:
        summary = summaries.get(provider)
        if summary is None:
            summary = summaries[provider] = ProviderSummary(
                uuid=uuid, parent_provider_uuid=parent, root_provider_uuid=root,
                resources={}, traits=[])
        if class_name is not None:
            summary.resources[class_name] = ResourceSummary(
                capacity=Inventory(*inventory).capacity, used=int(used))
    for provider, name in connection.execute(
            select(resource_provider_traits.c.resource_provider_id, traits.c.name)
            .join(traits, traits.c.id == resource_provider_traits.c.trait_id)
            .join(resource_providers,
                  resource_providers.c.id == resource_provider_traits.c.resource_provider_id)
            .where(in_trees)
            .order_by(traits.c.name)):
        summaries[provider].traits.append(name)
    return summaries
