"""The spec's answers to "from which microversion", checked against Placement 16.0.0's
documented history: a marker missing or misplaced in the spec fails here."""

from __future__ import annotations

import pytest

from placement_spec import MAXIMUM, MINIMUM, Microversion, Range, facts

ALLOCATIONS = "/allocations/{consumer_uuid}"
PROVIDER = "/resource_providers/{uuid}"
INVENTORIES = "/resource_providers/{uuid}/inventories"


def since(minor: int) -> Range:
    return Range(Microversion(1, minor), MAXIMUM)


def test_the_spec_serves_placement_16_0_0_s_range():
    assert (MINIMUM, MAXIMUM) == (Microversion(1, 0), Microversion(1, 39))


@pytest.mark.parametrize("answer, expected", [
    (lambda: facts.schema_field_range("Error", "errors", "code"), since(23)),
    (lambda: facts.behaviour_range("reserved-may-equal-total"), since(26)),
    (lambda: facts.response_range("PUT", "/resource_classes/{name}", 201), since(7)),
    (lambda: facts.response_range("PUT", "/resource_classes/{name}", 200),
     Range(Microversion(1, 2), Microversion(1, 6))),
    (lambda: facts.parameter_range("GET", "/usages", "consumer_type"), since(38)),
    (lambda: facts.request_field_range("PUT", ALLOCATIONS, "allocations", type="object"),
     since(12)),
    (lambda: facts.request_field_range("PUT", ALLOCATIONS, "allocations", type="array"),
     Range(MINIMUM, Microversion(1, 11))),
    (lambda: facts.request_field_range("PUT", ALLOCATIONS, "project_id"), since(8)),
    (lambda: facts.request_field_range("PUT", ALLOCATIONS, "consumer_generation"), since(28)),
    (lambda: facts.request_field_range("PUT", ALLOCATIONS, "consumer_type"), since(38)),
    (lambda: facts.response_field_range("GET", ALLOCATIONS, 200, "project_id"), since(12)),
    (lambda: facts.response_field_range("GET", PROVIDER, 200, "parent_provider_uuid"),
     since(14)),
    (lambda: facts.response_range("POST", "/resource_providers", 200), since(20)),
    (lambda: facts.response_header_range("GET", PROVIDER, 200, "last-modified"), since(15)),
    (lambda: facts.operation_range("DELETE", INVENTORIES), since(5)),
    (lambda: facts.operation_range("POST", "/allocations"), since(13)),
    (lambda: facts.operation_range("GET", "/traits"), since(6)),
    (lambda: facts.operation_range("PUT", PROVIDER + "/traits"), since(6)),
    (lambda: facts.operation_range("PUT", PROVIDER + "/aggregates"), since(1)),
    (lambda: facts.response_field_range("GET", PROVIDER + "/aggregates", 200,
                                        "resource_provider_generation"), since(19)),
    (lambda: facts.request_field_range("PUT", PROVIDER + "/aggregates",
                                       "resource_provider_generation"), since(19)),
    (lambda: facts.parameter_range("GET", "/resource_providers", "member_of"), since(3)),
    (lambda: facts.parameter_range("GET", "/resource_providers", "required"), since(18)),
    (lambda: facts.behaviour_range("forbidden-traits"), since(22)),
    (lambda: facts.behaviour_range("several-member-of"), since(24)),
    (lambda: facts.behaviour_range("forbidden-aggregates"), since(32)),
    (lambda: facts.behaviour_range("any-of-traits"), since(39)),
], ids=["error code", "reserved may equal total", "create on PUT", "rename on PUT",
        "usages by consumer type", "dict form", "list form", "owners in PUT",
        "consumer generations", "consumer types", "owners in GET", "nested providers",
        "provider body on create", "last-modified", "delete all inventories",
        "POST /allocations", "traits", "a provider's traits", "aggregates",
        "aggregates with generation", "aggregates PUT with generation",
        "providers by aggregate", "providers by trait", "forbidden traits",
        "several member_of", "forbidden aggregates", "any of traits"])
def test_microversion_facts(answer, expected):
    assert answer() == expected


def test_provider_links_by_microversion():
    def rels(minor: int) -> tuple[str, ...]:
        return facts.link_rels("ResourceProvider", Microversion(1, minor))

    assert rels(0) == ("self", "inventories", "usages")
    assert rels(5) == ("self", "inventories", "usages", "aggregates")
    assert rels(10) == ("self", "inventories", "usages", "aggregates", "traits")
    assert rels(39) == ("self", "inventories", "usages", "aggregates", "traits", "allocations")


def test_inventory_defaults_and_limits():
    defaults = {"reserved": 0, "min_unit": 1, "max_unit": 2**31 - 1, "step_size": 1,
                "allocation_ratio": 1.0}
    assert facts.request_field_defaults("POST", INVENTORIES) == defaults
    each_record = ("inventories", facts.ANY_KEY)
    assert facts.request_field_defaults("PUT", INVENTORIES, *each_record) == defaults
    assert facts.request_field_schema("POST", INVENTORIES, "total")["maximum"] == 2**31 - 1


def test_a_question_about_nothing_is_refused():
    with pytest.raises(LookupError):
        facts.operation_range("GET", "/resource_provider")
    with pytest.raises(LookupError):
        facts.request_field_range("PUT", ALLOCATIONS, "consumer_typ")
    with pytest.raises(LookupError):
        facts.behaviour_range("reserved-may-exceed-total")


def test_reshaper_facts():
    """The reshaper appeared in 1.30; its consumers took mappings in 1.34 and a type in
    1.38, as in POST /allocations."""
    assert facts.operation_range("POST", "/reshaper") == since(30)
    consumer = ("allocations", facts.ANY_KEY)
    assert facts.request_field_range("POST", "/reshaper", *consumer, "mappings") == since(34)
    assert facts.request_field_range("POST", "/reshaper", *consumer,
                                     "consumer_type") == since(38)


CANDIDATES = ("GET", "/allocation_candidates")


def test_allocation_candidates_facts():
    """Allocation candidates appeared in 1.10; their history, as Placement 16.0.0's
    microversion history tells it."""
    assert facts.operation_range(*CANDIDATES) == since(10)
    before_groups = Range(Microversion(1, 10), Microversion(1, 24))
    assert facts.parameter_range(*CANDIDATES, "resources") == before_groups
    assert facts.parameter_range(*CANDIDATES, "limit") == since(16)
    assert facts.parameter_range(*CANDIDATES, "required") == Range(Microversion(1, 17),
                                                                   Microversion(1, 24))
    assert facts.parameter_range(*CANDIDATES, "member_of") == Range(Microversion(1, 21),
                                                                    Microversion(1, 24))
    for family in ("resourcesN", "requiredN", "member_ofN", "group_policy"):
        assert facts.parameter_range(*CANDIDATES, family) == since(25)
    assert facts.parameter_range(*CANDIDATES, "in_treeN") == since(31)
    assert facts.parameter_range(*CANDIDATES, "root_required") == since(35)
    assert facts.parameter_range(*CANDIDATES, "same_subtree") == since(36)
    requests = (200, "allocation_requests")
    assert facts.response_field_range(*CANDIDATES, *requests, "allocations",
                                      facts.ANY_KEY) == since(12)
    assert facts.response_field_range(*CANDIDATES, *requests, "mappings") == since(34)
    summaries = (200, "provider_summaries", facts.ANY_KEY)
    assert facts.response_field_range(*CANDIDATES, *summaries, "traits") == since(17)
    assert facts.response_field_range(*CANDIDATES, *summaries,
                                      "parent_provider_uuid") == since(29)
    assert facts.response_header_range(*CANDIDATES, 200, "last-modified") == since(15)
    assert facts.behaviour_range("all-resources-in-summaries") == since(27)
    assert facts.behaviour_range("nested-candidates") == since(29)


@pytest.mark.parametrize("version, expected", [
    ("1.24", ()),
    ("1.25", ("^resources([1-9][0-9]*)?$", "^required([1-9][0-9]*)?$",
              "^member_of([1-9][0-9]*)?$")),
    ("1.31", ("^resources([1-9][0-9]*)?$", "^required([1-9][0-9]*)?$",
              "^member_of([1-9][0-9]*)?$", "^in_tree([1-9][0-9]*)?$")),
    ("1.33", ("^resources([a-zA-Z0-9_-]{1,64})?$", "^required([a-zA-Z0-9_-]{1,64})?$",
              "^member_of([a-zA-Z0-9_-]{1,64})?$", "^in_tree([a-zA-Z0-9_-]{1,64})?$")),
])
def test_request_group_keys_by_microversion(version, expected):
    """Granular groups from 1.25, numbered; `in_tree` joins them in 1.31; any suffix of
    1-64 letters, digits, `_` and `-` from 1.33 (upstream's patterns)."""
    assert facts.query_key_patterns(*CANDIDATES, Microversion.parse(version)) == expected


def test_operations_checked_in_another_order():
    """Upstream's decorators check a provider's aggregates' media types before the
    microversion (1.1), and its traits' PUT reads the body before the provider; every
    other operation keeps the usual order."""
    aggregates = "/resource_providers/{uuid}/aggregates"
    provider_traits = "/resource_providers/{uuid}/traits"
    assert facts.check_order("GET", aggregates) == {facts.MEDIA_BEFORE_VERSION}
    assert facts.check_order("PUT", aggregates) == {facts.MEDIA_BEFORE_VERSION}
    assert facts.check_order("PUT", provider_traits) == {facts.BODY_BEFORE_PROVIDER}
    assert facts.check_order("GET", provider_traits) == frozenset()
    assert facts.check_order("PUT", "/resource_providers/{uuid}/inventories") == frozenset()
    with pytest.raises(LookupError):
        facts.check_order("PATCH", aggregates)
