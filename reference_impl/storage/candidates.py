"""Allocation candidates: which providers, alone or together in a tree and with the
providers that share with it through an aggregate, can serve a request.

The handler (`handlers/allocation_candidates.py`) reads the query string into a
`CandidateQuery`; `find` answers it with `Candidates`, which the handler writes in the
form of the request's microversion. Both sides know only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from reference_impl.storage.providers import Membership


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
    with its text), looked up in upstream's order."""
    raise NotImplementedError
