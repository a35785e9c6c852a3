"""The filters of GET /resource_providers by aggregate (`member_of`) and trait
(`required`), on every backend: the SQL conditions, and the order in which upstream looks
the filters up, which decides whether an odd request gets 400 or an empty list.

The database is shared by the tests of a backend, so every test names new aggregates and
traits, and asserts only about its own providers where a filter could list others."""

from __future__ import annotations

import uuid

import pytest


def listed(api, query: str, version: str = "latest") -> list[str]:
    response = api.get(f"/resource_providers?{query}", version=version)
    assert response.status_code == 200, response.text
    return sorted(provider["uuid"] for provider in response.json()["resource_providers"])


def refusal(api, query: str, version: str = "latest") -> str:
    response = api.get(f"/resource_providers?{query}", version=version)
    assert response.status_code == 400, response.text
    return response.json()["errors"][0]["detail"]


def new_trait(api) -> str:
    name = f"CUSTOM_FILTERS_{uuid.uuid4().hex.upper()}"
    assert api.put(f"/traits/{name}").status_code == 201
    return name


def provider_with(api, aggregates: list[str] = (), traits: list[str] = (), **fields) -> str:
    rp = api.provider(**fields)
    generation = 0
    if aggregates:
        response = api.put(f"/resource_providers/{rp}/aggregates", json={
            "aggregates": list(aggregates), "resource_provider_generation": generation})
        assert response.status_code == 200, response.text
        generation += 1
    if traits:
        response = api.put(f"/resource_providers/{rp}/traits", json={
            "traits": list(traits), "resource_provider_generation": generation})
        assert response.status_code == 200, response.text
    return rp


@pytest.fixture
def world(api):
    """Three providers: one in aggregate a with trait t, one in a and b with t and u, one
    in b with u (a child of the first)."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    t, u = new_trait(api), new_trait(api)
    first = provider_with(api, [a], [t])
    both = provider_with(api, [a, b], [t, u])
    child = provider_with(api, [b], [u], parent_provider_uuid=first)
    return {"a": a, "b": b, "t": t, "u": u, "first": first, "both": both, "child": child}


def test_member_of_in_each_form(api, world):
    w = world
    assert listed(api, f"member_of={w['a']}") == sorted([w["first"], w["both"]])
    assert listed(api, f"member_of=in:{w['a']},{w['b']}") == sorted(
        [w["first"], w["both"], w["child"]])
    assert listed(api, f"member_of={w['a']}&member_of={w['b']}") == [w["both"]]
    assert listed(api, f"in_tree={w['first']}&member_of=!{w['a']}") == [w["child"]]
    assert listed(api, f"in_tree={w['first']}&member_of=!in:{w['a']},{w['b']}") == []
    assert listed(api, f"member_of=in:{w['a']},{w['b']}&member_of=!{w['a']}") == [w["child"]]


def test_required_in_each_form(api, world):
    w = world
    assert listed(api, f"required={w['t']}") == sorted([w["first"], w["both"]])
    assert listed(api, f"required={w['t']},{w['u']}") == [w["both"]]
    assert listed(api, f"required={w['t']},!{w['u']}") == [w["first"]]
    assert listed(api, f"in_tree={w['first']}&required=!!{w['t']}") == [w["child"]]
    assert listed(api, f"required=in:{w['t']},{w['u']}") == sorted(
        [w["first"], w["both"], w["child"]])
    assert listed(api, f"required={w['u']}&required={w['t']}") == [w["both"]]
    # Before 1.39 a repeated `required` counts once: the last.
    assert listed(api, f"required={w['u']}&required={w['t']}", "1.38") == sorted(
        [w["first"], w["both"]])


def test_every_filter_combines(api, world):
    w = world
    assert listed(api, f"member_of={w['b']}&required={w['t']}") == [w["both"]]
    assert listed(api, f"in_tree={w['first']}&required={w['u']}&member_of={w['b']}") == [
        w["child"]]


def test_resources_combine_with_the_filters(api):
    aggregate, trait = str(uuid.uuid4()), new_trait(api)
    roomy = provider_with(api, [aggregate], [trait])
    assert api.put(f"/resource_providers/{roomy}/inventories", json={
        "resource_provider_generation": 2, "inventories": {"VCPU": {"total": 4}}},
    ).status_code == 200
    provider_with(api, [aggregate], [trait])
    assert listed(api, f"member_of={aggregate}&required={trait}&resources=VCPU:4") == [roomy]
    assert listed(api, f"member_of={aggregate}&resources=VCPU:5") == []


@pytest.mark.parametrize("version, query, words", [
    ("1.2", "member_of={a}", "'member_of' was unexpected"),
    ("1.3", "member_of={a},{a}", "must be prefixed with the 'in:' or '!in:' keyword"),
    ("1.3", "member_of=in:", "to contain valid UUID(s). Got: "),
    ("1.3", "member_of=in:{a},nope", "to contain valid UUID(s). Got: nope"),
    ("1.23", "member_of={a}&member_of={a}", "Multiple member_of parameters are not supported"),
    ("1.31", "member_of=!{a}", "Forbidden member_of parameters are not supported"),
    ("1.32", "member_of=in:{a},!{a}", "Got: !{a}"),
    ("1.17", "required={t}", "'required' was unexpected"),
    ("1.18", "required=", "Got an empty trait in: "),
    ("1.18", "required={t},!{t}", "HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {t},!{t}"),
    ("1.22", "required=!", "HW_CPU_X86_VMX,!CUSTOM_MAGIC. Got an empty trait in: !"),
    ("1.38", "required=in:{t}", "only supported since microversion 1.39"),
    ("1.39", "required=in:{t},!{t}", "does not support forbidden traits"),
    ("1.39", "required=in:", "in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: in:"),
    ("1.18", "required=CUSTOM_FILTERS_NONE", 'Invalid trait(s) in "required" parameter: '
                                             "No such trait(s): CUSTOM_FILTERS_NONE."),
], ids=["member_of before 1.3", "a list without in", "in naming nothing", "not a uuid",
        "several member_of before 1.24", "a forbidden aggregate before 1.32",
        "a forbidden mark inside in", "required before 1.18", "an empty required",
        "a forbidden trait before 1.22", "a forbidden mark alone", "in before 1.39",
        "a forbidden trait inside in", "in naming no trait", "an unknown trait"])
def test_malformed_filters_get_upstream_s_400(api, version, query, words):
    names = {"a": str(uuid.uuid4()), "t": new_trait(api)}
    assert words.format(**names) in refusal(api, query.format(**names), version)


def test_filters_are_looked_up_in_upstream_s_order(api):
    """An empty list at the first filter that no provider passes, before the names of
    later filters are looked up; a 400 for an unknown name when every earlier one passes
    some provider."""
    nobody, held = new_trait(api), new_trait(api)
    provider_with(api, traits=[held])
    missing = str(uuid.uuid4())
    assert listed(api, f"in_tree={missing}&required=CUSTOM_FILTERS_NONE") == []
    assert listed(api, f"in_tree={missing}&resources=CUSTOM_FILTERS_NONE:1") == []
    assert listed(api, f"required={nobody},!CUSTOM_FILTERS_NONE") == []
    assert "No such trait(s): CUSTOM_FILTERS_NONE" in refusal(
        api, f"required={held},!CUSTOM_FILTERS_NONE")
    assert listed(api, f"required={nobody}&resources=CUSTOM_FILTERS_NONE:1") == []
    assert listed(api, f"member_of={missing}&resources=CUSTOM_FILTERS_NONE:1") == []
    assert "No such resource class CUSTOM_FILTERS_NONE" in refusal(
        api, f"required={held}&resources=CUSTOM_FILTERS_NONE:1")


def test_a_deleted_provider_leaves_its_traits_and_aggregates(api):
    aggregate, trait = str(uuid.uuid4()), new_trait(api)
    kept = provider_with(api, [aggregate], [trait])
    deleted = provider_with(api, [aggregate], [trait])
    assert api.delete(f"/resource_providers/{deleted}").status_code == 204
    assert listed(api, f"member_of={aggregate}") == [kept]
    assert listed(api, f"required={trait}") == [kept]
    assert api.delete(f"/resource_providers/{kept}/traits").status_code == 204
    # No link of the deleted provider holds the trait any more.
    assert api.delete(f"/traits/{trait}").status_code == 204
