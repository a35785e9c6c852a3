"""Ways to break the reference server, each a small patch applied for one test.

The suites and the fuzzer must each catch a broken server and say which rule it broke; the
product has no switches for this, so each breakage replaces one of the server's functions
through pytest's monkeypatch for the test's duration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from types import SimpleNamespace

import pytest

from placement_spec import MINIMUM
from reference_impl import errors, middleware
from reference_impl.handlers import provider_filters
from reference_impl.storage import (
    aggregates,
    allocations,
    candidate_groups,
    candidate_merge,
    capacity,
    providers,
    reshaper,
    traits,
    usages,
)


def merge_on_put(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write adds to what each consumer holds instead of replacing it."""
    replace = allocations.replace

    def merging(connection, requests, **options):
        for request in requests:
            held = allocations.for_consumer(connection, request.uuid).by_provider
            merged = {provider: dict(entry["resources"]) for provider, entry in held.items()}
            for provider, resources in request.allocations.items():
                merged.setdefault(provider, {}).update(resources)
            request.allocations = merged
        replace(connection, requests, **options)

    monkeypatch.setattr(allocations, "replace", merging)


def delete_missing_is_204(monkeypatch: pytest.MonkeyPatch) -> None:
    """DELETE of a consumer without allocations succeeds instead of answering 404."""
    delete = allocations.delete

    def lenient(connection, consumer_uuid):
        with contextlib.suppress(errors.NotFound):
            delete(connection, consumer_uuid)

    monkeypatch.setattr(allocations, "delete", lenient)


def capacity_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every inventory looks unlimited when a write is checked; min_unit, max_unit and
    step_size still hold."""
    usage = capacity.usage

    def unlimited(connection, provider_ids, replaced):
        found = usage(connection, provider_ids, replaced)
        return dataclasses.replace(found, inventory={
            key: SimpleNamespace(**{**row._asdict(), "total": sys.maxsize})
            for key, row in found.inventory.items()})

    monkeypatch.setattr(capacity, "usage", unlimited)


def unit_limits_exclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    """An amount of exactly min_unit or max_unit is refused, as if the limits were
    exclusive."""
    within_units = capacity.within_units
    monkeypatch.setattr(capacity, "within_units", lambda inventory, amount: (
        within_units(inventory, amount)
        and inventory.min_unit < amount < inventory.max_unit))


def capacity_refusals_misworded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every refusal of an amount says it would exceed the capacity, also where it breaks
    min_unit, max_unit or step_size; the status and code stay right."""
    unable = capacity._unable
    monkeypatch.setattr(capacity, "_unable", lambda resource_class, rp_uuid, reason:
                        unable(resource_class, rp_uuid, "would exceed the capacity"))


def missing_inventory_classes_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider with no inventory of the classes asked is refused naming them in
    alphabetical order, not in the order Placement numbers them."""
    invalid = capacity._invalid_inventory
    monkeypatch.setattr(capacity, "_invalid_inventory", lambda resource_classes, rp_uuids:
                        invalid(", ".join(sorted(resource_classes.split(", "))), rp_uuids))


def generation_conflicts_misworded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A consumer generation conflict is still a 409 concurrent_update, but its text
    always says the consumer was expected not to exist."""
    check_generation = allocations._check_generation

    def misworded(request, consumer):
        try:
            check_generation(request, consumer)
        except errors.ConcurrentUpdate:
            raise errors.ConcurrentUpdate(
                f"consumer generation conflict - expected null but got {request.generation}")

    monkeypatch.setattr(allocations, "_check_generation", misworded)


def consumer_generation_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any consumer_generation is accepted."""
    monkeypatch.setattr(allocations, "_check_generation", lambda request, consumer: None)


def provider_traits_generation_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """PUT of a provider's traits takes any resource_provider_generation."""
    replace = traits.replace
    monkeypatch.setattr(traits, "replace", lambda connection, provider, seen_generation, names:
                        replace(connection, provider, None, names))


def aggregates_generation_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """PUT of a provider's aggregates from 1.19 neither checks nor moves the generation,
    as before 1.19."""
    replace = aggregates.replace
    monkeypatch.setattr(aggregates, "replace", lambda connection, provider, wanted, seen:
                        replace(connection, provider, wanted, None))


def forbidden_traits_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`!TRAIT` in `required` of GET /resource_providers filters nothing."""
    _forget_in_membership(monkeypatch, "forbidden_traits")


def forbidden_aggregates_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`!AGGREGATE` in `member_of` of GET /resource_providers filters nothing."""
    _forget_in_membership(monkeypatch, "forbidden_aggregates")


def _forget_in_membership(monkeypatch: pytest.MonkeyPatch, condition: str) -> None:
    """The provider filters are read as sent, then `condition` of them is dropped."""
    membership = provider_filters.membership
    monkeypatch.setattr(provider_filters, "membership", lambda *given: dataclasses.replace(
        membership(*given), **{condition: frozenset()}))


def emptied_providers_keep_generations(monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that empties a consumer (`allocations: {}`) leaves the generations of the
    providers it held."""
    monkeypatch.setattr(allocations, "_providers_held_by", lambda connection, consumer_ids: set())


def usages_user_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /usages counts the whole project, whatever `user_id` says."""
    for_project_query = usages._for_project_query
    monkeypatch.setattr(usages, "_for_project_query", lambda columns, project_id, user_id:
                        for_project_query(columns, project_id, None))


def conflict_is_400(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every conflict (capacity, generations) is answered 400 instead of 409."""
    monkeypatch.setattr(errors.Conflict, "status", 400)


def errors_in_another_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    """Errors come as `{"error": {"message", "code"}}`, a common shape but not Placement's."""

    def other_shape(error, request):
        return {"error": {"message": error.message, "code": error.status}}

    monkeypatch.setattr(errors, "_json_document", other_shape)


def microversion_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every request is served at the minimum microversion, whatever it asks for."""
    monkeypatch.setattr(middleware, "_negotiate", lambda header, maximum: MINIMUM)


def usage_target_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`GET /usages` checks its rule against the caller's own project, not the one its
    query names: a project reader is not refused the usages of another project."""
    monkeypatch.setattr(middleware, "POLICY_TARGET", "x-no-such-marker")


def reshape_not_all_or_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reshape that fails keeps what it wrote before the failing part: the providers'
    new inventories, and the allocations moved onto them."""
    reshape = reshaper.reshape

    def piecemeal(connection, wanted, requests, **options):
        try:
            reshape(connection, wanted, requests, **options)
        except errors.PlacementError:
            connection.commit()
            raise

    monkeypatch.setattr(reshaper, "reshape", piecemeal)


def reshape_generation_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A reshape takes any resource_provider_generation."""
    as_seen = reshaper._providers_as_seen

    def unchecked(connection, wanted):
        found = providers.find_many(connection, set(wanted))
        for rp_uuid, new in wanted.items():
            if rp_uuid in found:
                new.generation = found[rp_uuid].generation
        return as_seen(connection, wanted)

    monkeypatch.setattr(reshaper, "_providers_as_seen", unchecked)


# -- allocation candidates ------------------------------------------------------------------


def candidates_forbidden_traits_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`!TRAIT` in a group's `required` of GET /allocation_candidates filters nothing."""
    options = candidate_groups.options

    def without_forbidden(connection, group, deployment):
        membership = dataclasses.replace(group.membership, forbidden_traits=frozenset())
        return options(connection, dataclasses.replace(group, membership=membership),
                       deployment)

    monkeypatch.setattr(candidate_groups, "options", without_forbidden)


def candidates_sharing_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """No provider lends its inventory through an aggregate: MISC_SHARES_VIA_AGGREGATE is
    not looked at."""
    survey = candidate_groups.survey

    def without_sharing(connection, root_membership):
        found = survey(connection, root_membership)
        return found and dataclasses.replace(found, sharing=frozenset())

    monkeypatch.setattr(candidate_groups, "survey", without_sharing)


def candidates_capacity_unchecked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider is a candidate when it has room for one unit of each class asked of it,
    whatever the amount: capacity, usage and the unit limits no longer bound the amount,
    nor the sum several groups take from one inventory."""
    can_take = candidate_groups.can_take
    monkeypatch.setattr(candidate_groups, "can_take",
                        lambda class_id, amount: can_take(class_id, 1))
    monkeypatch.setattr(candidate_merge, "_shared_limits", lambda connection, grouped: {})


def candidates_isolate_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`group_policy=isolate` is read as `none`: granular groups may share a provider."""
    _combine_with(monkeypatch, isolate=False)


def candidates_same_subtree_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    """`same_subtree` constrains nothing."""
    _combine_with(monkeypatch, same_subtree=())


def _combine_with(monkeypatch: pytest.MonkeyPatch, **overridden) -> None:
    """The groups' options are combined with `overridden` instead of what was asked."""
    combine = candidate_merge.combine
    monkeypatch.setattr(candidate_merge, "combine", lambda connection, grouped, **asked:
                        combine(connection, grouped, **{**asked, **overridden}))
