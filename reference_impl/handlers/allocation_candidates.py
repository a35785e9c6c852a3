"""GET /allocation_candidates: the query string read into a `CandidateQuery`, as upstream
reads it and in its order of checks; the `Candidates` found written in the form of the
request's microversion.

The query string has passed its schema (the middleware); what is left are the checks
upstream makes as it reads the values, each with its own text: first the parameters of
the whole request (`limit`, `group_policy`, `root_required`, `same_subtree`), then each
request group key in the order the client gave them, then the groups together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from placement_spec import Microversion, facts
from reference_impl import context
from reference_impl.errors import (
    QUERY_BAD_VALUE,
    QUERY_DUPLICATE_KEY,
    QUERY_MISSING_VALUE,
    BadRequest,
)
from reference_impl.handlers import provider_filters
from reference_impl.storage import candidates
from reference_impl.storage.candidates import CandidateQuery, Candidates, RequestGroup
from reference_impl.storage.providers import Membership
from reference_impl.uuids import canonical
from reference_impl.validation import check_query, query_validator

OPERATION = ("GET", "/allocation_candidates")
# The keys of a request group (each with a suffix in a granular group).
RESOURCES, REQUIRED, MEMBER_OF, IN_TREE = "resources", "required", "member_of", "in_tree"
DICT_FORM = facts.response_field_range(*OPERATION, 200, "allocation_requests", "allocations",
                                       facts.ANY_KEY)
MAPPINGS = facts.response_field_range(*OPERATION, 200, "allocation_requests", "mappings")
TRAITS = facts.response_field_range(*OPERATION, 200, "provider_summaries", facts.ANY_KEY,
                                    "traits")
TREES = facts.response_field_range(*OPERATION, 200, "provider_summaries", facts.ANY_KEY,
                                   "root_provider_uuid")
ALL_RESOURCES = facts.behaviour_range("all-resources-in-summaries")
NESTED = facts.behaviour_range("nested-candidates")
FORBIDDEN_TRAITS = facts.behaviour_range("forbidden-traits")
# From the microversion of `same_subtree`, a group may have no resources if it is named
# there; before, every group needs resources.
RESOURCELESS_GROUPS = facts.parameter_range(*OPERATION, "same_subtree")


def list_candidates(**_named):
    # Connexion hands over the last value of each named parameter; upstream reads some of
    # them by their first value, and the group keys are no names Connexion knows: every
    # value is read from the query string itself.
    version = context.version()
    query = read_query(context.state().query, version)
    with context.state().database.read() as connection:
        found = candidates.find(connection, query)
    return context.respond(answer(found, query, version))


# ------------------------------------------------------------------- the query

@dataclass
class _Group:
    """A request group as its keys are read."""

    resources: dict[str, int] = field(default_factory=dict)
    traits: provider_filters.Traits = field(default_factory=lambda: ([], set()))
    aggregates: tuple[list[frozenset[str]], set[str]] = field(
        default_factory=lambda: ([], set()))
    in_tree: str | None = None


def read_query(pairs: list[tuple[str, str]], version: Microversion) -> CandidateQuery:
    """The query of `pairs` (the query string's keys and values, in order), or upstream's
    400 for the first thing it refuses."""
    limit = _limit(pairs, version)
    # The first `group_policy` counts (the schema checked the last one).
    policy = next(iter(_values(pairs, "group_policy")), None)
    root_membership = _root_membership(_values(pairs, "root_required"))
    same_subtree = _same_subtree(_values(pairs, "same_subtree"))
    groups = _groups(pairs, version)
    if RESOURCELESS_GROUPS.covers(version):
        _check_resourceless(groups, same_subtree)
    else:
        _check_orphans(groups)
    if FORBIDDEN_TRAITS.covers(version):
        _check_conflicts(groups)
    if not policy and sum(1 for suffix in groups if suffix) > 1:
        raise BadRequest('The "group_policy" parameter is required when specifying more '
                         'than one "resources{N}" parameter.')
    return CandidateQuery(
        groups=tuple(_request_group(suffix, group) for suffix, group in groups.items()),
        isolate=policy == "isolate",
        limit=limit,
        root_membership=root_membership,
        same_subtree=tuple(same_subtree),
        nested_aware=NESTED.covers(version),
    )


def _values(pairs: list[tuple[str, str]], key: str) -> list[str]:
    return [value for name, value in pairs if name == key]


def _limit(pairs: list[tuple[str, str]], version: Microversion) -> int | None:
    """The first `limit` (the schema checked the last one): None for none, or 0."""
    values = _values(pairs, "limit")
    if not values:
        return None
    try:
        return int(values[0]) or None
    except ValueError:
        # Upstream fails here with a 500; the first value gets the check the last had.
        check_query(query_validator(version, *OPERATION), {**dict(pairs), "limit": values[0]})
        raise  # not reached: the schema refuses whatever int() refuses


def _root_membership(values: list[str]) -> Membership:
    if not values:
        return Membership()
    if len(values) > 1:
        raise BadRequest("Query parameter 'root_required' may be specified only once.",
                         code=QUERY_DUPLICATE_KEY)
    wanted, forbidden = provider_filters.trait_value(values[0], allow_forbidden=True,
                                                     allow_any_of=False)
    required = {trait for any_of in wanted for trait in any_of}
    conflicts = forbidden & required
    if conflicts:
        raise BadRequest("Conflicting required and forbidden traits found in root_required: "
                         + ", ".join(conflicts), code=QUERY_BAD_VALUE)
    return Membership(traits=tuple(wanted), forbidden_traits=frozenset(forbidden))


def _same_subtree(values: list[str]) -> list[frozenset[str]]:
    subtrees = []
    for value in values:
        suffixes = frozenset(suffix.strip() for suffix in value.split(","))
        if "" in suffixes:
            raise BadRequest("Empty string (unsuffixed group) can not be specified in "
                             "`same_subtree` ", code=QUERY_BAD_VALUE)
        subtrees.append(suffixes)
    return subtrees


def _groups(pairs: list[tuple[str, str]], version: Microversion) -> dict[str, _Group]:
    """The request groups by suffix, each key read where it first appears in the query."""
    patterns = [re.compile(pattern) for pattern in facts.query_key_patterns(*OPERATION,
                                                                            version)]
    groups: dict[str, _Group] = {}
    for key, value in pairs:
        prefix, suffix = _group_key(key, patterns)
        if prefix is None:
            continue
        group = groups.setdefault(suffix, _Group())
        if prefix == RESOURCES:
            group.resources = provider_filters.resource_amounts(value)
        elif prefix == REQUIRED:
            group.traits = provider_filters.traits(_values(pairs, prefix + suffix), version)
        elif prefix == MEMBER_OF:
            group.aggregates = provider_filters.aggregates(_values(pairs, prefix + suffix),
                                                           version, suffix)
        elif prefix == IN_TREE:
            group.in_tree = _in_tree(value)
    return groups


def _group_key(key: str, patterns: list[re.Pattern]) -> tuple[str | None, str]:
    """(`required`, `_NET`) for `required_NET`; (None, "") for a key of no group. Before
    the families of keys, the group's keys are the parameters of those names."""
    if not patterns:
        return (key, "") if key in (RESOURCES, REQUIRED, MEMBER_OF) else (None, "")
    for pattern in patterns:
        # As upstream matches: `$` also matches before a final line feed.
        found = pattern.search(key)
        if found:
            suffix = found.group(1) or ""
            return found.group(0)[:len(found.group(0)) - len(suffix)], suffix
    return None, ""


def _in_tree(value: str) -> str:
    uuid = value.strip()
    if canonical(uuid) is None:
        raise BadRequest("Invalid query string parameters: Expected 'in_tree' parameter to "
                         f"be a format of uuid. Got: {value}")
    return uuid


def _check_resourceless(groups: dict[str, _Group], same_subtree: list[frozenset[str]]):
    resourceless = [suffix for suffix, group in groups.items() if not group.resources]
    if len(resourceless) == len(groups):
        raise BadRequest("There must be at least one resources or resources[$S] parameter.",
                         code=QUERY_MISSING_VALUE)
    named = frozenset().union(*same_subtree)
    unnamed = [suffix for suffix in resourceless if suffix not in named]
    if unnamed:
        raise BadRequest("Resourceless suffixed group request should be specified in "
                         f"`same_subtree` query param: bad group(s) - {unnamed}.",
                         code=QUERY_BAD_VALUE)
    unknown = [suffix for suffix in sorted(named) if suffix not in groups]
    if unknown:
        raise BadRequest(f"Real suffixes should be specified in `same_subtree`: {unknown} "
                         f"not found in {list(groups)}.", code=QUERY_BAD_VALUE)


def _check_orphans(groups: dict[str, _Group]) -> None:
    orphans = [f"required{suffix}" for suffix, group in groups.items()
               if group.traits[0] and not group.resources]
    if orphans:
        raise BadRequest("All traits parameters must be associated with resources.  Found "
                         f"the following orphaned traits keys: {', '.join(orphans)}")
    orphans = [f"member_of{suffix}" for suffix, group in groups.items()
               if not group.resources and any(group.aggregates)]
    if orphans:
        raise BadRequest("All member_of parameters must be associated with resources. "
                         f"Found the following orphaned member_of keys: {', '.join(orphans)}")
    if not all(group.resources for group in groups.values()):
        raise BadRequest("All request groups must specify resources.")
    if not groups:
        raise BadRequest("At least one request group (`resources` or `resources{$S}`) is "
                         "required.")


def _check_conflicts(groups: dict[str, _Group]) -> None:
    conflicts = [f"required{suffix}: ({', '.join(sorted(any_of))})"
                 for suffix, group in groups.items() for any_of in group.traits[0]
                 if all(trait in group.traits[1] for trait in any_of)]
    if conflicts:
        raise BadRequest("Conflicting required and forbidden traits found in the following "
                         f"traits keys: {', '.join(sorted(conflicts))}")


def _request_group(suffix: str, group: _Group) -> RequestGroup:
    (wanted_traits, forbidden_traits), (wanted_aggregates, forbidden_aggregates) = (
        group.traits, group.aggregates)
    return RequestGroup(
        suffix=suffix, resources=group.resources, in_tree=group.in_tree,
        membership=Membership(traits=tuple(wanted_traits),
                              forbidden_traits=frozenset(forbidden_traits),
                              aggregates=tuple(wanted_aggregates),
                              forbidden_aggregates=frozenset(forbidden_aggregates)))


# ------------------------------------------------------------------ the answer

def answer(found: Candidates, query: CandidateQuery, version: Microversion) -> dict:
    """The body of the answer, in the form of `version`."""
    requested = {name for group in query.groups for name in group.resources}
    return {
        "allocation_requests": [_allocation_request(request, version)
                                for request in found.allocation_requests],
        "provider_summaries": {
            uuid: _summary(summary, requested, version)
            for uuid, summary in found.provider_summaries.items()},
    }


def _allocation_request(request: candidates.AllocationRequest, version: Microversion) -> dict:
    if not DICT_FORM.covers(version):
        return {"allocations": [{"resource_provider": {"uuid": uuid}, "resources": amounts}
                                for uuid, amounts in request.allocations.items()]}
    document: dict = {"allocations": {uuid: {"resources": amounts}
                                      for uuid, amounts in request.allocations.items()}}
    if MAPPINGS.covers(version):
        document["mappings"] = request.mappings
    return document


def _summary(summary: candidates.ProviderSummary, requested: set[str],
             version: Microversion) -> dict:
    every_class = ALL_RESOURCES.covers(version)
    document: dict = {"resources": {
        name: {"capacity": resource.capacity, "used": resource.used}
        for name, resource in summary.resources.items() if every_class or name in requested}}
    if TRAITS.covers(version):
        document["traits"] = summary.traits
    if TREES.covers(version):
        document["parent_provider_uuid"] = summary.parent_provider_uuid
        document["root_provider_uuid"] = summary.root_provider_uuid
    return document
