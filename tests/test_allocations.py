"""The allocations contract of the reference server, rule by rule, at the microversions
where each rule changes. Runs on every configured database backend."""

from __future__ import annotations

import uuid

import pytest


def new_uuid() -> str:
    return str(uuid.uuid4())


def body_for(version: str, rp: str, resources: dict, **extra) -> dict:
    """A PUT /allocations/{c} body in the form `version` expects."""
    minor = int(version.split(".")[1])
    if minor < 12:
        body = {"allocations": [{"resource_provider": {"uuid": rp}, "resources": resources}]}
        if minor >= 8:
            body.update(project_id="p", user_id="u")
    else:
        body = {"allocations": {rp: {"resources": resources}}, "project_id": "p", "user_id": "u"}
    if minor >= 28:
        body["consumer_generation"] = None
    if minor >= 38:
        body["consumer_type"] = "INSTANCE"
    body.update(extra)
    return body


def error(response) -> dict:
    return response.json()["errors"][0]


class TestBodyForms:
    @pytest.mark.parametrize("version", ["1.0", "1.7", "1.8", "1.11", "1.12", "1.27", "1.28",
                                         "1.34", "1.38", "1.39"])
    def test_each_version_accepts_its_own_form(self, api, version):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put(f"/allocations/{new_uuid()}", version=version,
                           json=body_for(version, rp, {"VCPU": 1}))
        assert response.status_code == 204, response.text
        assert response.content == b""
        assert "content-type" not in response.headers

    def test_list_form_is_refused_from_1_12(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        body = body_for("1.8", rp, {"VCPU": 1})
        response = api.put(f"/allocations/{new_uuid()}", version="1.12", json=body)
        assert response.status_code == 400
        assert "JSON does not validate" in error(response)["detail"]

    def test_dict_form_is_refused_before_1_12(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        body = body_for("1.12", rp, {"VCPU": 1})
        assert api.put(f"/allocations/{new_uuid()}", version="1.11", json=body).status_code == 400

    @pytest.mark.parametrize("version, key, value, status", [
        ("1.7", "project_id", "p", 400),            # not known before 1.8
        ("1.27", "consumer_generation", None, 400),  # not known before 1.28
        ("1.33", "mappings", {"x": [str(uuid.UUID(int=1))]}, 400),  # not known before 1.34
        ("1.34", "mappings", {"x": [str(uuid.UUID(int=1))]}, 204),
        ("1.34", "mappings", {"": [str(uuid.UUID(int=1))]}, 204),  # the key pattern is unanchored
        ("1.37", "consumer_type", "INSTANCE", 400),  # not known before 1.38
    ])
    def test_keys_arrive_at_their_microversion(self, api, version, key, value, status):
        rp = api.provider({"VCPU": {"total": 4}})
        body = body_for(version, rp, {"VCPU": 1})
        body[key] = value
        assert api.put(f"/allocations/{new_uuid()}", version=version, json=body).status_code == status

    @pytest.mark.parametrize("version, key", [
        ("1.8", "project_id"), ("1.8", "user_id"), ("1.28", "consumer_generation"),
        ("1.38", "consumer_type"),
    ])
    def test_required_keys(self, api, version, key):
        rp = api.provider({"VCPU": {"total": 4}})
        body = body_for(version, rp, {"VCPU": 1})
        del body[key]
        response = api.put(f"/allocations/{new_uuid()}", version=version, json=body)
        assert response.status_code == 400
        assert key in error(response)["detail"]

    @pytest.mark.parametrize("resources", [{"VCPU": 0}, {"VCPU": -1}, {}, {"vcpu": 1}])
    def test_bad_amounts_and_classes_are_400(self, api, resources):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put(f"/allocations/{new_uuid()}", version="1.39",
                           json=body_for("1.39", rp, resources))
        assert response.status_code == 400

    def test_empty_allocations_are_refused_before_1_28(self, api):
        body = {"allocations": {}, "project_id": "p", "user_id": "u"}
        assert api.put(f"/allocations/{new_uuid()}", version="1.27", json=body).status_code == 400

    def test_malformed_consumer_uuid(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put("/allocations/not-a-uuid", version="1.39",
                           json=body_for("1.39", rp, {"VCPU": 1}))
        assert response.status_code == 400
        assert "Malformed consumer_uuid" in error(response)["detail"]

    def test_dashless_consumer_uuid_is_normalised(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = uuid.uuid4()
        response = api.put(f"/allocations/{consumer.hex.upper()}", version="1.39",
                           json=body_for("1.39", rp, {"VCPU": 1}))
        assert response.status_code == 204
        assert api.get(f"/allocations/{consumer}").json()["allocations"] != {}


class TestWrites:
    def test_unknown_provider_is_400(self, api):
        response = api.put(f"/allocations/{new_uuid()}", version="1.39",
                           json=body_for("1.39", new_uuid(), {"VCPU": 1}))
        assert response.status_code == 400
        assert "does not exist" in error(response)["detail"]

    def test_unknown_resource_class_is_400(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put(f"/allocations/{new_uuid()}", version="1.39",
                           json=body_for("1.39", rp, {"CUSTOM_NOPE": 1}))
        assert response.status_code == 400
        assert "No such resource class CUSTOM_NOPE" in error(response)["detail"]

    def test_class_without_inventory_is_409(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put(f"/allocations/{new_uuid()}", version="1.39",
                           json=body_for("1.39", rp, {"DISK_GB": 1}))
        assert response.status_code == 409
        assert error(response)["code"] == "placement.undefined_code"

    @pytest.mark.parametrize("amount, status", [(1, 409), (2, 204), (3, 409), (4, 204), (8, 409)])
    def test_min_max_and_step(self, api, amount, status):
        rp = api.provider({"VCPU": {"total": 16, "min_unit": 2, "max_unit": 6, "step_size": 2}})
        response = api.put(f"/allocations/{new_uuid()}", version="1.39",
                           json=body_for("1.39", rp, {"VCPU": amount}))
        assert response.status_code == status, response.text
        if status == 409:
            assert "violate inventory constraints" in error(response)["detail"]

    def test_capacity_is_not_truncated(self, api):
        # (10 - 3) * 0.5 = 3.5: three fit, four do not.
        rp = api.provider({"VCPU": {"total": 10, "reserved": 3, "allocation_ratio": 0.5}})
        refused = api.put(f"/allocations/{new_uuid()}", version="1.39",
                          json=body_for("1.39", rp, {"VCPU": 4}))
        assert refused.status_code == 409
        assert "exceed the capacity" in error(refused)["detail"]
        accepted = api.put(f"/allocations/{new_uuid()}", version="1.39",
                           json=body_for("1.39", rp, {"VCPU": 3}))
        assert accepted.status_code == 204

    def test_capacity_counts_other_consumers(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        assert api.put(f"/allocations/{new_uuid()}", version="1.39",
                       json=body_for("1.39", rp, {"VCPU": 3})).status_code == 204
        assert api.put(f"/allocations/{new_uuid()}", version="1.39",
                       json=body_for("1.39", rp, {"VCPU": 2})).status_code == 409
        assert api.put(f"/allocations/{new_uuid()}", version="1.39",
                       json=body_for("1.39", rp, {"VCPU": 1})).status_code == 204

    def test_a_provider_over_capacity_may_keep_or_lower_its_usage(self, api):
        rp = api.provider({"VCPU": {"total": 3}})
        holder, other = new_uuid(), new_uuid()

        def claim(consumer, amount):
            return api.put(f"/allocations/{consumer}", version="1.23",
                           json=body_for("1.23", rp, {"VCPU": amount})).status_code

        assert claim(holder, 3) == 204
        generation = api.get(f"/resource_providers/{rp}").json()["generation"]
        shrunk = api.put(f"/resource_providers/{rp}/inventories/VCPU",
                         json={"resource_provider_generation": generation, "total": 1})
        assert shrunk.status_code == 200, shrunk.text
        assert claim(holder, 3) == 204  # the same usage, over capacity
        assert claim(holder, 2) == 204  # less, still over capacity
        assert claim(holder, 3) == 409  # more than just before
        assert claim(other, 1) == 409   # more, from another consumer
        assert api.get(f"/resource_providers/{rp}/usages").json()["usages"] == {"VCPU": 2}

    def test_put_replaces_on_every_provider(self, api):
        first = api.provider({"VCPU": {"total": 4}, "MEMORY_MB": {"total": 1024}})
        second = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        assert api.put(f"/allocations/{consumer}", json={
            "allocations": {first: {"resources": {"VCPU": 2, "MEMORY_MB": 512}}},
            "project_id": "p", "user_id": "u", "consumer_generation": None,
            "consumer_type": "INSTANCE"}).status_code == 204
        first_generation = api.get(f"/resource_providers/{first}").json()["generation"]
        assert api.put(f"/allocations/{consumer}", json={
            "allocations": {second: {"resources": {"VCPU": 1}}},
            "project_id": "p", "user_id": "u", "consumer_generation": 1,
            "consumer_type": "INSTANCE"}).status_code == 204
        held = api.get(f"/allocations/{consumer}").json()
        assert held["allocations"] == {
            second: {"generation": 2, "resources": {"VCPU": 1}}}
        assert held["consumer_generation"] == 2
        assert api.get(f"/resource_providers/{first}/usages").json()["usages"] == {
            "VCPU": 0, "MEMORY_MB": 0}
        # As upstream: a provider the consumer merely left keeps its generation.
        assert api.get(f"/resource_providers/{first}").json()["generation"] == first_generation

    def test_failed_put_changes_nothing(self, api):
        roomy = api.provider({"VCPU": {"total": 8}})
        small = api.provider({"VCPU": {"total": 1}})
        consumer = new_uuid()
        assert api.put(f"/allocations/{consumer}", json=body_for("1.39", roomy, {"VCPU": 2})
                       ).status_code == 204
        before = api.get(f"/allocations/{consumer}").json()
        response = api.put(f"/allocations/{consumer}", json={
            "allocations": {roomy: {"resources": {"VCPU": 4}},
                            small: {"resources": {"VCPU": 2}}},
            "project_id": "p", "user_id": "u", "consumer_generation": 1,
            "consumer_type": "INSTANCE"})
        assert response.status_code == 409
        assert api.get(f"/allocations/{consumer}").json() == before
        assert api.get(f"/resource_providers/{small}/usages").json()["usages"] == {"VCPU": 0}

    def test_same_provider_twice_in_list_form_keeps_the_last(self, api):
        rp = api.provider({"VCPU": {"total": 8}})
        consumer = new_uuid()
        response = api.put(f"/allocations/{consumer}", version="1.0", json={"allocations": [
            {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 1}},
            {"resource_provider": {"uuid": rp}, "resources": {"VCPU": 3}}]})
        assert response.status_code == 204
        assert api.get(f"/allocations/{consumer}").json()["allocations"][rp]["resources"] == {"VCPU": 3}

    def test_over_committed_provider_may_shrink_but_not_grow(self, api):
        rp = api.provider({"VCPU": {"total": 8}})
        consumer = new_uuid()
        assert api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 6})
                       ).status_code == 204
        inventory = api.get(f"/resource_providers/{rp}/inventories").json()
        assert api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": inventory["resource_provider_generation"],
            "inventories": {"VCPU": {"total": 4}}}).status_code == 200
        assert api.put(f"/allocations/{consumer}", json=body_for(
            "1.39", rp, {"VCPU": 7}, consumer_generation=1)).status_code == 409
        assert api.put(f"/allocations/{consumer}", json=body_for(
            "1.39", rp, {"VCPU": 5}, consumer_generation=1)).status_code == 204


class TestConsumerGenerations:
    def test_new_consumer_needs_null(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put(f"/allocations/{new_uuid()}",
                           json=body_for("1.39", rp, {"VCPU": 1}, consumer_generation=0))
        assert response.status_code == 409
        assert error(response)["code"] == "placement.concurrent_update"
        assert "expected null but got 0" in error(response)["detail"]

    def test_stale_generation_is_409(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        assert api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1})
                       ).status_code == 204
        stale = api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 2}))
        assert stale.status_code == 409
        assert "expected 1 but got None" in error(stale)["detail"]
        assert api.put(f"/allocations/{consumer}", json=body_for(
            "1.39", rp, {"VCPU": 2}, consumer_generation=1)).status_code == 204

    def test_generation_is_not_checked_before_1_28(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        for amount in (1, 2):
            assert api.put(f"/allocations/{consumer}", version="1.27",
                           json=body_for("1.27", rp, {"VCPU": amount})).status_code == 204

    def test_conflict_has_no_code_before_1_23(self, api):
        rp = api.provider({"VCPU": {"total": 1}})
        response = api.put(f"/allocations/{new_uuid()}", version="1.22",
                           json=body_for("1.22", rp, {"VCPU": 2}))
        assert response.status_code == 409
        assert "code" not in error(response)

    def test_empty_allocations_delete_the_consumer(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        assert api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1})
                       ).status_code == 204
        emptied = {"allocations": {}, "project_id": "p", "user_id": "u",
                   "consumer_generation": 1, "consumer_type": "INSTANCE"}
        assert api.put(f"/allocations/{consumer}", json=emptied).status_code == 204
        assert api.get(f"/allocations/{consumer}").json() == {"allocations": {}}
        # The consumer is gone, so the next write starts again from null.
        assert api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1})
                       ).status_code == 204


class TestReads:
    def test_unknown_consumer_is_empty(self, api):
        for version in ("1.0", "1.12", "1.28", "1.38"):
            response = api.get(f"/allocations/{new_uuid()}", version=version)
            assert response.status_code == 200
            assert response.json() == {"allocations": {}}

    @pytest.mark.parametrize("version, keys", [
        ("1.11", {"allocations"}),
        ("1.12", {"allocations", "project_id", "user_id"}),
        ("1.28", {"allocations", "project_id", "user_id", "consumer_generation"}),
        ("1.38", {"allocations", "project_id", "user_id", "consumer_generation",
                  "consumer_type"}),
    ])
    def test_keys_of_get_by_version(self, api, version, keys):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1}))
        document = api.get(f"/allocations/{consumer}", version=version).json()
        assert set(document) == keys
        assert document["allocations"][rp]["resources"] == {"VCPU": 1}

    def test_untyped_consumer_shows_unknown(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        api.put(f"/allocations/{consumer}", version="1.8", json=body_for("1.8", rp, {"VCPU": 1}))
        assert api.get(f"/allocations/{consumer}").json()["consumer_type"] == "unknown"

    def test_consumer_before_1_8_has_placeholder_project(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        api.put(f"/allocations/{consumer}", version="1.0", json=body_for("1.0", rp, {"VCPU": 1}))
        document = api.get(f"/allocations/{consumer}", version="1.12").json()
        assert document["project_id"] == "00000000-0000-0000-0000-000000000000"

    def test_provider_allocations(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1}))
        old = api.get(f"/resource_providers/{rp}/allocations", version="1.27").json()
        assert old == {"allocations": {consumer: {"resources": {"VCPU": 1}}},
                       "resource_provider_generation": 2}
        new = api.get(f"/resource_providers/{rp}/allocations", version="1.28").json()
        assert new["allocations"][consumer]["consumer_generation"] == 1
        assert api.get(f"/resource_providers/{new_uuid()}/allocations").status_code == 404

    def test_last_modified_from_1_15_and_never_on_204(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        put = api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1}))
        assert "last-modified" not in put.headers
        old = api.get(f"/allocations/{consumer}", version="1.14")
        assert "last-modified" not in old.headers and "cache-control" not in old.headers
        new = api.get(f"/allocations/{consumer}", version="1.15")
        assert new.headers["cache-control"] == "no-cache"
        assert new.headers["last-modified"].endswith("GMT")


class TestDelete:
    def test_delete_then_404(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        consumer = new_uuid()
        api.put(f"/allocations/{consumer}", json=body_for("1.39", rp, {"VCPU": 1}))
        generation = api.get(f"/resource_providers/{rp}").json()["generation"]
        assert api.delete(f"/allocations/{consumer}").status_code == 204
        # DELETE does not move provider generations.
        assert api.get(f"/resource_providers/{rp}").json()["generation"] == generation
        missing = api.delete(f"/allocations/{consumer}")
        assert missing.status_code == 404
        assert "No allocations for consumer" in error(missing)["detail"]
        assert api.get(f"/allocations/{consumer}").json() == {"allocations": {}}


class TestPostAllocations:
    def entry(self, rp, amount, generation=None):
        return {"allocations": {rp: {"resources": {"VCPU": amount}}}, "project_id": "p",
                "user_id": "u", "consumer_generation": generation, "consumer_type": "INSTANCE"}

    def test_absent_before_1_13(self, api):
        assert api.post("/allocations", version="1.12", json={}).status_code == 404

    def test_get_is_405(self, api):
        response = api.get("/allocations")
        assert response.status_code == 405
        assert response.headers["allow"] == "POST"

    def test_capacity_is_checked_against_the_sum(self, api):
        rp = api.provider({"VCPU": {"total": 2}})
        body = {new_uuid(): self.entry(rp, 1) for _ in range(3)}
        response = api.post("/allocations", json=body)
        assert response.status_code == 409
        assert api.get(f"/resource_providers/{rp}/usages").json()["usages"] == {"VCPU": 0}

    def test_all_or_nothing(self, api):
        rp = api.provider({"VCPU": {"total": 8}})
        good, bad = new_uuid(), new_uuid()
        response = api.post("/allocations", json={
            good: self.entry(rp, 1), bad: self.entry(rp, 1, generation=5)})
        assert response.status_code == 409
        assert error(response)["code"] == "placement.concurrent_update"
        assert api.get(f"/allocations/{good}").json() == {"allocations": {}}

    def test_moves_and_clears(self, api):
        source = api.provider({"VCPU": {"total": 4}})
        target = api.provider({"VCPU": {"total": 4}})
        instance, migration = new_uuid(), new_uuid()
        assert api.put(f"/allocations/{instance}", json=body_for("1.39", source, {"VCPU": 2})
                       ).status_code == 204
        response = api.post("/allocations", json={
            instance: self.entry(target, 2, generation=1),
            migration: self.entry(source, 2),
        })
        assert response.status_code == 204, response.text
        assert set(api.get(f"/allocations/{instance}").json()["allocations"]) == {target}
        cleared = {**self.entry(source, 1, generation=1), "allocations": {}}
        assert api.post("/allocations", json={migration: cleared}).status_code == 204
        assert api.get(f"/allocations/{migration}").json() == {"allocations": {}}

    def test_body_rules_by_version(self, api):
        rp = api.provider({"VCPU": {"total": 8}})
        entry = self.entry(rp, 1)
        del entry["consumer_type"]
        assert api.post("/allocations", version="1.37", json={new_uuid(): entry}).status_code == 204
        assert api.post("/allocations", version="1.38", json={new_uuid(): entry}).status_code == 400
        del entry["consumer_generation"]
        assert api.post("/allocations", version="1.27", json={new_uuid(): entry}).status_code == 204
        assert api.post("/allocations", version="1.28", json={new_uuid(): entry}).status_code == 400
