"""Traits: the standard and custom ones, and the traits of a provider (from 1.6)."""

from __future__ import annotations

import uuid

import pytest

from reference_impl.storage.standard_classes import STANDARD_TRAITS


def error(response) -> dict:
    return response.json()["errors"][0]


def custom_trait(api) -> str:
    name = f"CUSTOM_T_{uuid.uuid4().hex.upper()}"
    assert api.put(f"/traits/{name}").status_code == 201
    return name


def set_traits(api, rp, generation, traits, **kwargs):
    return api.put(f"/resource_providers/{rp}/traits", json={
        "resource_provider_generation": generation, "traits": traits}, **kwargs)


class TestTraits:
    def test_absent_before_1_6(self, api):
        for method in ("GET", "PUT", "DELETE"):
            assert api.request(method, "/traits/CUSTOM_X", version="1.5").status_code == 404
        assert api.get("/traits", version="1.5").status_code == 404

    def test_standard_traits_come_from_os_traits(self, api):
        listed = api.get("/traits").json()["traits"]
        assert set(STANDARD_TRAITS) <= set(listed)
        assert "HW_CPU_X86_AVX2" in STANDARD_TRAITS
        assert api.get("/traits/HW_CPU_X86_AVX2").status_code == 204

    def test_create_then_confirm(self, api):
        name = f"CUSTOM_NEW_{uuid.uuid4().hex.upper()}"
        created = api.put(f"/traits/{name}")
        assert created.status_code == 201
        assert created.headers["location"] == f"http://testserver/traits/{name}"
        assert "last-modified" in created.headers
        again = api.put(f"/traits/{name}")
        assert again.status_code == 204 and again.content == b""
        shown = api.get(f"/traits/{name}")
        assert shown.status_code == 204 and shown.headers["cache-control"] == "no-cache"
        assert "last-modified" not in api.get(f"/traits/{name}", version="1.14").headers

    @pytest.mark.parametrize("name", ["custom_lower", "HW_CPU_X86_AVX2", "CUSTOM_",
                                      "CUSTOM_" + "A" * 249])
    def test_only_custom_names_may_be_created(self, api, name):
        response = api.put(f"/traits/{name}")
        assert response.status_code == 400
        assert 'start with the prefix "CUSTOM_"' in error(response)["detail"]

    def test_delete_rules(self, api):
        assert api.delete("/traits/CUSTOM_NEVER_MADE_X").status_code == 404
        standard = api.delete("/traits/HW_CPU_X86_AVX2")
        assert standard.status_code == 400
        assert "Cannot delete standard trait" in error(standard)["detail"]
        name = custom_trait(api)
        rp = api.provider()
        assert set_traits(api, rp, 0, [name]).status_code == 200
        in_use = api.delete(f"/traits/{name}")
        assert in_use.status_code == 409
        assert "in use" in error(in_use)["detail"]
        assert api.delete(f"/resource_providers/{rp}/traits").status_code == 204
        assert api.delete(f"/traits/{name}").status_code == 204
        assert api.get(f"/traits/{name}").status_code == 404

    def test_name_filters(self, api):
        first, second = custom_trait(api), custom_trait(api)
        listed = api.get(f"/traits?name=in:{second},{first},CUSTOM_NOT_THERE").json()
        assert listed["traits"] == sorted([first, second])
        prefix = first[:-4]
        assert api.get(f"/traits?name=startswith:{prefix}").json()["traits"] == [first]
        assert api.get("/traits?name=in:").json()["traits"] == []
        everything = api.get("/traits?name=other:CUSTOM").json()["traits"]
        assert first in everything and "HW_CPU_X86_AVX2" in everything

    @pytest.mark.parametrize("query, words", [
        ("name=CUSTOM_X", "Badly formatted name parameter"),
        ("associated=yes", '"associated" only accepts'),
        ("other=1", "Additional properties are not allowed"),
    ])
    def test_bad_queries_are_400(self, api, query, words):
        response = api.get(f"/traits?{query}")
        assert response.status_code == 400
        assert words in error(response)["detail"]

    def test_associated_filter(self, api):
        used, unused = custom_trait(api), custom_trait(api)
        rp = api.provider()
        assert set_traits(api, rp, 0, [used]).status_code == 200
        assert used in api.get("/traits?associated=TRUE").json()["traits"]
        assert unused not in api.get("/traits?associated=true").json()["traits"]
        free = api.get("/traits?associated=false&name=startswith:CUSTOM_T_").json()["traits"]
        assert unused in free and used not in free

    def test_show_ignores_accept(self, api):
        response = api.get("/traits/HW_CPU_X86_AVX2", headers={"accept": "text/plain"})
        assert response.status_code == 204
        assert api.get("/traits", headers={"accept": "text/plain"}).status_code == 406


class TestProviderTraits:
    def test_replace_moves_the_generation_only_on_change(self, api):
        rp = api.provider()
        name = custom_trait(api)
        assert api.get(f"/resource_providers/{rp}/traits").json() == {
            "traits": [], "resource_provider_generation": 0}
        response = set_traits(api, rp, 0, [name, "HW_CPU_X86_AVX2", name])
        assert response.status_code == 200
        assert response.json() == {"traits": sorted([name, "HW_CPU_X86_AVX2"]),
                                   "resource_provider_generation": 1}
        assert set_traits(api, rp, 1, [name, "HW_CPU_X86_AVX2"]).json()[
            "resource_provider_generation"] == 1
        shown = api.get(f"/resource_providers/{rp}/traits").json()
        assert sorted(shown["traits"]) == sorted([name, "HW_CPU_X86_AVX2"])
        assert api.get(f"/resource_providers/{rp}").json()["generation"] == 1

    def test_stale_generation_is_409(self, api):
        rp = api.provider()
        assert set_traits(api, rp, 0, ["HW_CPU_X86_AVX2"]).status_code == 200
        stale = set_traits(api, rp, 0, [])
        assert stale.status_code == 409
        assert error(stale)["code"] == "placement.concurrent_update"
        assert api.get(f"/resource_providers/{rp}/traits").json()["traits"] == [
            "HW_CPU_X86_AVX2"]

    def test_unknown_trait_is_400_and_changes_nothing(self, api):
        rp = api.provider()
        response = set_traits(api, rp, 0, ["CUSTOM_NOT_A_TRAIT_B", "CUSTOM_NOT_A_TRAIT_A"])
        assert response.status_code == 400
        assert "No such trait CUSTOM_NOT_A_TRAIT_A, CUSTOM_NOT_A_TRAIT_B" in error(
            response)["detail"]
        assert api.get(f"/resource_providers/{rp}").json()["generation"] == 0

    def test_body_is_read_before_the_provider(self, api):
        missing = str(uuid.uuid4())
        assert api.put(f"/resource_providers/{missing}/traits",
                       json={"traits": []}).status_code == 400
        assert set_traits(api, missing, 0, []).status_code == 404
        assert api.get(f"/resource_providers/{missing}/traits").status_code == 404
        assert api.delete(f"/resource_providers/{missing}/traits").status_code == 404

    def test_delete_clears_and_moves_the_generation(self, api):
        rp = api.provider()
        assert set_traits(api, rp, 0, ["HW_CPU_X86_AVX2"]).status_code == 200
        assert api.delete(f"/resource_providers/{rp}/traits").status_code == 204
        assert api.get(f"/resource_providers/{rp}/traits").json() == {
            "traits": [], "resource_provider_generation": 2}

    def test_deleting_the_provider_frees_its_traits(self, api):
        rp = api.provider()
        name = custom_trait(api)
        assert set_traits(api, rp, 0, [name]).status_code == 200
        assert api.delete(f"/resource_providers/{rp}").status_code == 204
        assert api.delete(f"/traits/{name}").status_code == 204
