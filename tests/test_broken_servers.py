"""The conformance suite must catch a broken server, and say which rule it broke.

Each case breaks the reference server in one way, by replacing one of its functions for
the test's duration (the product has no switches for this), runs the whole suite against
it in-process, and checks that the run fails and that among the failing tests are those
that state the broken rule. A suite that stayed green, or failed only in unrelated
places, would not tell a deployment's operator what to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
from a2wsgi import ASGIMiddleware

from conformance.report import Outcome
from conformance.roles import RoleChoice
from conformance.runner import Deployment, RunOptions, run_suite
from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.breakages import (
    aggregates_generation_ignored,
    candidates_capacity_unchecked,
    candidates_forbidden_traits_ignored,
    candidates_isolate_ignored,
    candidates_same_subtree_ignored,
    candidates_sharing_ignored,
    capacity_refusals_misworded,
    capacity_unchecked,
    conflict_is_400,
    consumer_generation_unchecked,
    delete_missing_is_204,
    emptied_providers_keep_generations,
    errors_in_another_shape,
    forbidden_aggregates_ignored,
    forbidden_traits_ignored,
    generation_conflicts_misworded,
    merge_on_put,
    microversion_ignored,
    missing_inventory_classes_by_name,
    provider_traits_generation_unchecked,
    reshape_generation_unchecked,
    reshape_not_all_or_nothing,
    unit_limits_exclusive,
    usage_target_ignored,
    usages_user_ignored,
)


BREAKS = [
    pytest.param(merge_on_put, {
        ("replace-on-put", "after PUT B the consumer holds exactly B"),
        ("replace-on-put", "after PUT B rp1, used by A only, holds nothing for the consumer"),
        ("replace-on-put", "with generations, after PUT D the consumer holds exactly D"),
        ("replace-on-put", "with the list body, after PUT F the consumer holds exactly F"),
    }, id="PUT merges instead of replacing"),
    pytest.param(delete_missing_is_204, {
        ("put-status-codes", "DELETE of a consumer that has no allocations is 404"),
        ("put-status-codes", "a second DELETE of the same consumer is 404"),
    }, id="DELETE of a missing consumer is 204"),
    pytest.param(capacity_unchecked, {
        ("capacity", "an amount above total minus reserved is 409 with the undefined error code"),
        ("capacity", "capacity counts what other consumers already use"),
        ("capacity", "an amount above the capacity with allocation_ratio is 409"),
        ("post-allocations", "capacity is checked against the sum the request asks of a provider"),
    }, id="capacity not checked"),
    pytest.param(unit_limits_exclusive, {
        ("capacity-rules", "an amount of exactly min_unit fits"),
        ("capacity-rules", "an amount of exactly max_unit fits"),
    }, id="min_unit and max_unit exclusive"),
    pytest.param(capacity_refusals_misworded, {
        ("capacity-rules", "an amount below min_unit is refused for the inventory's constraints"),
        ("capacity-rules", "an amount above max_unit, within the capacity, is refused for the "
                           "constraints"),
        ("capacity-rules", "an amount off step_size, within the units, is refused for the "
                           "constraints"),
    }, id="a unit constraint refused as capacity"),
    pytest.param(missing_inventory_classes_by_name, {
        ("capacity-rules", "a provider with no inventory is refused naming every class asked, "
                           "in class id order"),
    }, id="classes without inventory named alphabetically"),
    pytest.param(generation_conflicts_misworded, {
        ("consumer-generations", "null for a consumer that has allocations is 409 "
                                 "concurrent_update"),
        ("consumer-generations", "a stale generation is 409 concurrent_update"),
    }, id="generation conflicts misworded"),
    pytest.param(consumer_generation_unchecked, {
        ("consumer-generations", "a stale generation is 409 concurrent_update"),
        ("consumer-generations", "null for a consumer that has allocations is 409 "
                                 "concurrent_update"),
        ("consumer-generations", "a generation for a consumer that does not exist is 409 "
                                 "concurrent_update"),
    }, id="consumer generation not checked"),
    pytest.param(provider_traits_generation_unchecked, {
        ("traits", "PUT with a stale generation is 409 and changes nothing"),
    }, id="provider generation not checked on PUT traits"),
    pytest.param(aggregates_generation_ignored, {
        ("aggregates", "PUT from 1.19 with the generation replaces the set and moves it"),
    }, id="provider generation ignored on PUT aggregates"),
    pytest.param(forbidden_traits_ignored, {
        ("provider-filters", "from 1.22 a forbidden trait leaves out its providers"),
        ("provider-filters", "a forbidden trait alone combines with in_tree"),
        ("provider-filters", "from 1.39 in combines with a forbidden trait"),
    }, id="! ignored in required"),
    pytest.param(forbidden_aggregates_ignored, {
        ("provider-filters", "from 1.32 a forbidden aggregate leaves out its providers"),
        ("provider-filters", "forbidden aggregates in a list leave out the providers of any of them"),
        ("provider-filters", "a forbidden aggregate combines with a required one"),
    }, id="! ignored in member_of"),
    pytest.param(emptied_providers_keep_generations, {
        ("allocation-generations", "emptying the consumer moved rp3, which it held"),
    }, id="emptying a consumer leaves its providers' generations"),
    pytest.param(usages_user_ignored, {
        ("usages", "with user_id, only that user's consumers in the project count"),
        ("usages", "with user_id, another user of the project has only their own"),
        ("usages", "a user with no consumers in the project uses nothing there"),
        ("usages", "from 1.38 user_id narrows every group"),
    }, id="user_id ignored in a project's usages"),
    pytest.param(reshape_not_all_or_nothing, {
        ("reshaper", "the failed reshapes left rp1's inventories and generation as they were"),
        ("reshaper", "the failed reshapes left rp2 without inventories, at its generation"),
    }, id="a reshape that is not all-or-nothing"),
    pytest.param(reshape_generation_unchecked, {
        ("reshaper", "a stale provider generation is 409 concurrent_update"),
    }, id="provider generation not checked on a reshape"),
    pytest.param(conflict_is_400, {
        ("capacity", "an amount above total minus reserved is 409 with the undefined error code"),
        ("consumer-generations", "a stale generation is 409 concurrent_update"),
    }, id="a 409 answered as 400"),
    pytest.param(errors_in_another_shape, {
        ("errors", "a 404 is one JSON error with status, title, detail and the undefined code"),
        ("errors", "a 400 is one JSON error with status 400 and the undefined code"),
        ("errors", "before 1.23 an error has status, title and detail but no code"),
    }, id="error bodies in another shape"),
    pytest.param(microversion_ignored, {
        ("microversions", "a request is served at the microversion it names"),
        ("microversions", "latest is served at the maximum"),
        ("microversions", "a microversion above the maximum is 406"),
    }, id="microversion header ignored"),
    pytest.param(candidates_forbidden_traits_ignored, {
        ("candidates-filters", "from 1.22 a forbidden trait leaves out the providers that have it"),
        ("candidates-filters", "a required and a forbidden trait combine"),
        ("candidates-trees", "a forbidden trait on any provider of the candidate leaves it out"),
        ("candidates-sharing", "a forbidden trait leaves out the candidates of the tree "
                               "that has it"),
    }, id="! ignored in the required of candidates"),
    pytest.param(candidates_sharing_ignored, {
        ("candidates-sharing", "at 1.10 a tree in the aggregate takes the store's share, "
                               "in the list form"),
        ("candidates-sharing", "a granular group may be served by a sharing provider"),
        ("candidates-sharing", "what is left of the store still serves"),
    }, id="sharing providers not considered for candidates"),
    pytest.param(candidates_capacity_unchecked, {
        ("candidates-capacity", "capacity is total less reserved, times the allocation ratio"),
        ("candidates-capacity", "beyond every capacity there is no candidate"),
        ("candidates-capacity", "what is used is not free"),
        ("candidates-sharing", "the store's capacity is checked too"),
        ("candidates-sharing", "a store with too little left lends nothing"),
    }, id="capacity not checked for candidates"),
    pytest.param(candidates_isolate_ignored, {
        ("candidates-trees", "at 1.25 isolated groups in one tree have no candidate"),
        ("candidates-trees", "with group_policy isolate two groups never share a provider"),
        ("candidates-trees", "from 1.34 mappings say which provider serves which group"),
    }, id="group_policy=isolate not honoured"),
    pytest.param(candidates_same_subtree_ignored, {
        ("candidates-trees", "from 1.36 same_subtree keeps the groups under one of their "
                             "providers"),
        ("candidates-trees", "a resourceless group in same_subtree is not served from beside "
                             "its subtree"),
    }, id="same_subtree ignored"),
]


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    """One reference server for every case: each break is patched in at request time.

    Its responses are not checked against the spec, as the conftest's app does: the
    broken responses are what the suite must see.
    """
    database = tmp_path_factory.mktemp("broken-servers") / "placement.db"
    app = create_app(Settings(db_url=f"sqlite:///{database}"))
    return Deployment.in_process(ASGIMiddleware(app))


def failing_tests(deployment: Deployment) -> set[tuple[str, str]]:
    """(feature, test name) of each test that failed in a whole run of the suite."""
    run = run_suite(deployment)
    return {(result.feature, result.name) for result in run.results
            if result.outcome is Outcome.FAILED}


def test_the_unbroken_server_passes(deployment: Deployment) -> None:
    assert failing_tests(deployment) == set()


@pytest.mark.parametrize(("break_server", "broken_rule"), BREAKS)
def test_the_suite_names_the_broken_rule(
    deployment: Deployment, monkeypatch: pytest.MonkeyPatch,
    break_server: Callable[[pytest.MonkeyPatch], None], broken_rule: set[tuple[str, str]],
) -> None:
    break_server(monkeypatch)
    failed = failing_tests(deployment)
    assert broken_rule <= failed, f"these tests passed: {sorted(broken_rule - failed)}"


def test_the_policy_feature_names_a_403_not_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy feature, run as a project reader against the secure defaults, catches
    a reader let read another project's usages (it runs only when asked, so apart)."""
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'placement.db'}",
                              policy="secure"))
    usage_target_ignored(monkeypatch)
    run = run_suite(Deployment.in_process(ASGIMiddleware(app)),
                    RunOptions(only=frozenset({"policy"}), role=RoleChoice("reader")))
    failed = {result.name for result in run.results if result.outcome is Outcome.FAILED}
    assert failed == {"list the usages of another project"}
