"""The aggregates of a provider (from 1.1), with generations from 1.19."""

from __future__ import annotations

import uuid

import pytest


def error(response) -> dict:
    return response.json()["errors"][0]


def aggregates_path(rp: str) -> str:
    return f"/resource_providers/{rp}/aggregates"


class TestAggregates:
    def test_absent_before_1_1(self, api):
        rp = api.provider()
        assert api.get(aggregates_path(rp), version="1.0").status_code == 404
        assert api.put(aggregates_path(rp), version="1.0", json=[]).status_code == 404

    def test_bare_list_before_1_19_keeps_the_generation(self, api):
        rp = api.provider()
        wanted = [str(uuid.uuid4()), str(uuid.uuid4()).upper(), uuid.uuid4().hex]
        response = api.put(aggregates_path(rp), version="1.18", json=wanted)
        assert response.status_code == 200
        assert response.json() == {"aggregates": wanted}
        shown = api.get(aggregates_path(rp), version="1.18").json()
        assert sorted(shown["aggregates"]) == sorted(wanted)
        assert api.get(f"/resource_providers/{rp}").json()["generation"] == 0

    def test_generation_from_1_19(self, api):
        rp = api.provider()
        assert api.get(aggregates_path(rp), version="1.19").json() == {
            "aggregates": [], "resource_provider_generation": 0}
        first = str(uuid.uuid4())
        response = api.put(aggregates_path(rp), version="1.19", json={
            "aggregates": [first], "resource_provider_generation": 0})
        assert response.json() == {"aggregates": [first], "resource_provider_generation": 1}
        # The generation moves even when nothing changes.
        again = api.put(aggregates_path(rp), version="1.19", json={
            "aggregates": [first], "resource_provider_generation": 1})
        assert again.json()["resource_provider_generation"] == 2
        stale = api.put(aggregates_path(rp), json={
            "aggregates": [], "resource_provider_generation": 1})
        assert stale.status_code == 409
        assert error(stale)["code"] == "placement.concurrent_update"
        assert api.get(aggregates_path(rp)).json()["aggregates"] == [first]

    @pytest.mark.parametrize("version, body, words", [
        ("1.18", ["not-a-uuid"], "is not a 'uuid'"),
        ("1.18", ["42896e0d-205d-4fe3-bd1e-100924931787"] * 2, "has non-unique elements"),
        ("1.19", ["42896e0d-205d-4fe3-bd1e-100924931787"], "is not of type 'object'"),
        ("1.19", {"aggregates": []}, "'resource_provider_generation' is a required"),
        ("1.18", {"aggregates": [], "resource_provider_generation": 0},
         "is not of type 'array'"),
    ])
    def test_body_by_version(self, api, version, body, words):
        response = api.put(aggregates_path(api.provider()), version=version, json=body)
        assert response.status_code == 400
        assert words in error(response)["detail"]

    def test_unknown_provider_is_404_before_the_body(self, api):
        missing = str(uuid.uuid4())
        assert api.put(aggregates_path(missing), json=["not-a-uuid"]).status_code == 404
        assert api.get(aggregates_path(missing)).status_code == 404

    def test_a_deleted_provider_leaves_no_aggregates(self, api):
        shared = str(uuid.uuid4())
        kept, deleted = api.provider(), api.provider()
        for rp in (kept, deleted):
            assert api.put(aggregates_path(rp), version="1.18", json=[shared]).status_code == 200
        assert api.delete(f"/resource_providers/{deleted}").status_code == 204
        assert api.get(aggregates_path(kept)).json()["aggregates"] == [shared]
