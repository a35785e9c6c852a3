"""The fuzzer's rewriting rules, held to the spec: every operation that writes keeps to the
run's own data, and only valid requests are steered."""

from __future__ import annotations

import copy
from types import SimpleNamespace

import pytest
import schemathesis

import placement_spec
from conformance.fuzz_data import Fixtures, RunNames
from conformance.fuzz_safety import (
    REACH,
    SAFETY,
    STANDARD_TRAITS,
    Steering,
    candidates_of_the_fixtures,
    consumer_in_path_is_the_run_s,
    filters_name_the_run_s,
    provider_in_path_is_the_run_s,
)
from conformance.uuids import is_uuid_like


def spec_operations() -> set[str]:
    return {operation for version in placement_spec.supported()
            for operation in placement_spec.operations(placement_spec.project(version))}


def write_operations() -> set[str]:
    return {operation for operation in spec_operations() if not operation.startswith("GET ")}


def test_every_operation_that_writes_has_safety_rules():
    assert set(SAFETY) == write_operations()


def test_a_write_to_a_provider_or_consumer_path_is_kept_to_the_run_s_own():
    for operation, rules in SAFETY.items():
        if "{uuid}" in operation:
            assert provider_in_path_is_the_run_s in rules, operation
        if "{consumer_uuid}" in operation:
            assert consumer_in_path_is_the_run_s in rules, operation


def test_only_reads_and_operations_under_safety_rules_are_steered():
    assert set(REACH) <= set(SAFETY) | (spec_operations() - write_operations())


def _steered_query(run: Steering, query: dict) -> dict:
    case = SimpleNamespace(query=query)
    filters_name_the_run_s(run, case)
    return case.query


def test_provider_filters_name_the_run_s_aggregates_and_standard_traits():
    run = Steering(names=None, fixtures=None)
    before = _steered_query(run, {"member_of": "drawn", "required": "drawn", "name": "x"})
    assert is_uuid_like(before["member_of"]) and before["required"] in STANDARD_TRAITS
    assert before["name"] == "x"
    # The same drawn value is steered the same way, and a steered one stays as it is.
    assert _steered_query(run, {"member_of": "drawn"}) == {"member_of": before["member_of"]}
    assert _steered_query(run, {"required": before["required"]}) == {
        "required": before["required"]}
    run.aggregates = ["42896e0d-205d-4fe3-bd1e-100924931787"]
    assert _steered_query(run, {"member_of": "drawn"}) == {"member_of": run.aggregates[0]}
# ------------------------------------------------------------------ allocation candidates

def _candidates_query(version: str, query: dict) -> dict:
    """`query` as the reach rule of GET /allocation_candidates sends it at `version`."""
    schema = schemathesis.openapi.from_dict(placement_spec.project(version))
    run = Steering(RunNames("r1"), Fixtures(providers=(FIXTURE,), classes=("CUSTOM_R1_A",)))
    case = SimpleNamespace(query=dict(query),
                           operation=schema["/allocation_candidates"]["GET"])
    candidates_of_the_fixtures(run, case)
    return case.query


def test_candidates_before_groups_ask_for_the_fixtures_by_the_named_keys():
    assert _candidates_query("1.21", {"resources": "drawn", "required": "drawn",
                                      "limit": "3"}) == {
        "resources": "CUSTOM_R1_A:1", "required": _steered_query(
            Steering(names=None, fixtures=None), {"required": "drawn"})["required"],
        "limit": "3"}


def _query_parameters(version: str) -> list[dict]:
    document = placement_spec.project(version)
    operation = document["paths"]["/allocation_candidates"]["get"]
    return [parameter for parameter in (placement_spec.resolve(document, p)
                                        for p in operation["parameters"])
            if parameter["in"] == "query"]


@pytest.mark.parametrize("version", ["1.25", "1.33", "1.36"])
def test_candidates_families_become_the_keys_of_one_group_on_the_fixtures(version):
    drawn = {parameter["name"]: "none" if parameter["name"] == "group_policy" else "drawn"
             for parameter in _query_parameters(version)}
    steered = _candidates_query(version, drawn)
    suffixes = {key.removeprefix("resources") for key in steered
                if key.startswith("resources")}
    assert len(suffixes) == 1
    suffix = suffixes.pop()
    assert steered[f"resources{suffix}"] == "CUSTOM_R1_A:1"
    assert steered[f"required{suffix}"] in STANDARD_TRAITS
    assert is_uuid_like(steered[f"member_of{suffix}"])
    assert steered.get(f"in_tree{suffix}", FIXTURE) == FIXTURE
    assert steered.get("same_subtree", suffix) == suffix
    assert not set(steered) & {"resourcesN", "requiredN", "member_ofN", "in_treeN"}
    # A steered query keeps its keys, resources, tree and traits.
    again = _candidates_query(version, steered)
    assert set(again) == set(steered)
    for key in (f"resources{suffix}", f"in_tree{suffix}", f"required{suffix}"):
        assert again.get(key) == steered.get(key)


# ------------------------------------------------------------------------------- reshaper

FIXTURE = "11111111-1111-4111-8111-111111111111"
OWN_PROVIDER = "22222222-2222-4222-8222-222222222222"
OWN_CONSUMER = "33333333-3333-4333-8333-333333333333"
OTHERS_PROVIDER = "44444444-4444-4444-8444-444444444444"
OTHERS_CONSUMER = "55555555-5555-4555-8555-555555555555"


def _reshape(body: dict) -> dict:
    """`body` as the reshaper's safety rules send it, for a run that created one provider
    and one consumer."""
    run = Steering(RunNames("r1"), Fixtures(providers=(FIXTURE,), classes=("CUSTOM_R1_A",)))
    run.providers.append(OWN_PROVIDER)
    run.consumers.append(OWN_CONSUMER)
    case = SimpleNamespace(body=copy.deepcopy(body))
    for rule in SAFETY["POST /reshaper"]:
        rule(run, case)
    return case.body


def test_a_reshape_changes_the_inventories_of_the_run_s_providers_only():
    sent = _reshape({"inventories": {
        OTHERS_PROVIDER: {"resource_provider_generation": 1, "inventories": {}},
        FIXTURE: {"resource_provider_generation": 1, "inventories": {}}},
        "allocations": {}})
    assert set(sent["inventories"]) == {OWN_PROVIDER}


def test_a_reshape_moves_the_run_s_consumers_onto_providers_it_may_claim():
    sent = _reshape({"inventories": {}, "allocations": {OTHERS_CONSUMER: {
        "allocations": {OTHERS_PROVIDER: {"resources": {"VCPU": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None}}})
    assert list(sent["allocations"]) == [OWN_CONSUMER]
    document = sent["allocations"][OWN_CONSUMER]
    assert set(document["allocations"]) <= {OWN_PROVIDER, FIXTURE}
    assert document["project_id"].startswith(RunNames("r1").provider_prefix)
