"""The fuzzer's rewriting rules, held to the spec: every operation that writes keeps to the
run's own data, and only valid requests are steered."""

from __future__ import annotations

import placement_spec
from conformance.fuzz_safety import (
    REACH,
    SAFETY,
    consumer_in_path_is_the_run_s,
    provider_in_path_is_the_run_s,
)


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
