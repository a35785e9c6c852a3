"""What a client sets up around allocations: providers, inventories, classes, usages."""

from __future__ import annotations

import uuid

import pytest


def error(response) -> dict:
    return response.json()["errors"][0]


def claim(api, rp, amount, consumer=None, project="p", user="u", consumer_type="INSTANCE",
          resource_class="VCPU"):
    consumer = consumer or str(uuid.uuid4())
    response = api.put(f"/allocations/{consumer}", json={
        "allocations": {rp: {"resources": {resource_class: amount}}}, "project_id": project,
        "user_id": user, "consumer_generation": None, "consumer_type": consumer_type})
    assert response.status_code == 204, response.text
    return consumer


class TestProviders:
    def test_create_is_201_before_1_20_and_200_after(self, api):
        old = api.post("/resource_providers", version="1.19",
                       json={"name": f"old-{uuid.uuid4()}"})
        assert old.status_code == 201
        assert old.content == b""
        assert old.headers["location"].startswith("http://testserver/resource_providers/")
        new = api.post("/resource_providers", version="1.20",
                       json={"name": f"new-{uuid.uuid4()}"})
        assert new.status_code == 200
        assert new.headers["location"] == (
            f"http://testserver/resource_providers/{new.json()['uuid']}")
        assert new.json()["generation"] == 0

    def test_links_and_nesting_by_version(self, api):
        rp = api.provider()
        old = api.get(f"/resource_providers/{rp}", version="1.0").json()
        assert [link["rel"] for link in old["links"]] == ["self", "inventories", "usages"]
        assert "root_provider_uuid" not in old
        new = api.get(f"/resource_providers/{rp}", version="1.14").json()
        assert new["root_provider_uuid"] == rp and new["parent_provider_uuid"] is None

    def test_dashless_uuid_is_normalised(self, api):
        rp = uuid.uuid4()
        response = api.post("/resource_providers", json={"uuid": rp.hex, "name": f"n-{rp}"})
        assert response.json()["uuid"] == str(rp)

    def test_duplicate_name_is_409(self, api):
        name = f"dup-{uuid.uuid4()}"
        assert api.post("/resource_providers", json={"name": name}).status_code == 200
        response = api.post("/resource_providers", json={"name": name})
        assert response.status_code == 409
        assert error(response)["code"] == "placement.duplicate_name"

    def test_child_provider_and_delete_rules(self, api):
        parent = api.provider({"VCPU": {"total": 2}})
        child = api.provider(parent_provider_uuid=parent)
        assert api.get(f"/resource_providers/{child}").json()["root_provider_uuid"] == parent
        refused = api.delete(f"/resource_providers/{parent}")
        assert refused.status_code == 409
        assert error(refused)["code"] == "placement.resource_provider.cannot_delete_parent"
        assert api.delete(f"/resource_providers/{child}").status_code == 204
        consumer = claim(api, parent, 1)
        in_use = api.delete(f"/resource_providers/{parent}")
        assert error(in_use)["code"] == "placement.resource_provider.inuse"
        api.delete(f"/allocations/{consumer}")
        assert api.delete(f"/resource_providers/{parent}").status_code == 204
        assert api.get(f"/resource_providers/{parent}").status_code == 404

    def test_no_loops_in_a_provider_tree(self, api):
        root = api.provider()
        child = api.provider(parent_provider_uuid=root)
        for parent in (root, child):
            response = api.put(f"/resource_providers/{root}",
                               json={"name": f"loop-{uuid.uuid4()}", "parent_provider_uuid": parent})
            assert response.status_code == 400
            assert "loop" in error(response)["detail"]

    def test_rename(self, api):
        rp = api.provider()
        name = f"renamed-{uuid.uuid4()}"
        response = api.put(f"/resource_providers/{rp}", json={"name": name})
        assert response.status_code == 200 and response.json()["name"] == name

    def test_list_filters(self, api):
        small = api.provider({"VCPU": {"total": 2}})
        big = api.provider({"VCPU": {"total": 16}})
        found = api.get("/resource_providers?resources=VCPU:8").json()["resource_providers"]
        uuids = {provider["uuid"] for provider in found}
        assert big in uuids and small not in uuids
        by_uuid = api.get(f"/resource_providers?uuid={small}").json()["resource_providers"]
        assert [provider["uuid"] for provider in by_uuid] == [small]
        assert api.get("/resource_providers?resources=NOPE:1").status_code == 400
        assert api.get("/resource_providers?bogus=1").status_code == 400


class TestInventories:
    def test_generation_conflict(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        response = api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 8}}})
        assert response.status_code == 409
        assert error(response)["code"] == "placement.concurrent_update"

    def test_defaults_are_filled_in(self, api):
        rp = api.provider({"VCPU": {"total": 4}})
        document = api.get(f"/resource_providers/{rp}/inventories/VCPU").json()
        assert document == {"total": 4, "reserved": 0, "min_unit": 1, "max_unit": 2147483647,
                            "step_size": 1, "allocation_ratio": 1.0,
                            "resource_provider_generation": 1}

    def test_reserved_equal_to_total_from_1_26(self, api):
        rp = api.provider()
        full = {"VCPU": {"total": 4, "reserved": 4}}
        body = {"resource_provider_generation": 0, "inventories": full}
        assert api.put(f"/resource_providers/{rp}/inventories", version="1.25",
                       json=body).status_code == 400
        assert api.put(f"/resource_providers/{rp}/inventories", version="1.26",
                       json=body).status_code == 200

    def test_in_use_inventory_cannot_go(self, api):
        rp = api.provider({"VCPU": {"total": 4}, "DISK_GB": {"total": 10}})
        claim(api, rp, 1)
        response = api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 2, "inventories": {"DISK_GB": {"total": 10}}})
        assert response.status_code == 409
        assert error(response)["code"] == "placement.inventory.inuse"
        single = api.delete(f"/resource_providers/{rp}/inventories/VCPU")
        assert single.status_code == 409
        assert api.delete(f"/resource_providers/{rp}/inventories/DISK_GB").status_code == 204

    def test_one_class_at_a_time(self, api):
        rp = api.provider()
        created = api.post(f"/resource_providers/{rp}/inventories",
                           json={"resource_class": "DISK_GB", "total": 100})
        assert created.status_code == 201
        assert created.headers["location"].endswith(f"/{rp}/inventories/DISK_GB")
        assert created.json()["resource_provider_generation"] == 1
        again = api.post(f"/resource_providers/{rp}/inventories",
                         json={"resource_class": "DISK_GB", "total": 100})
        assert again.status_code == 409
        updated = api.put(f"/resource_providers/{rp}/inventories/DISK_GB",
                          json={"resource_provider_generation": 1, "total": 50})
        assert updated.status_code == 200 and updated.json()["total"] == 50
        assert api.get(f"/resource_providers/{rp}/inventories/VCPU").status_code == 404
        unknown_class = api.put(f"/resource_providers/{rp}/inventories", json={
            "resource_provider_generation": 2, "inventories": {"CUSTOM_NOPE": {"total": 1}}})
        assert unknown_class.status_code == 400

    def test_unknown_provider_is_404(self, api):
        assert api.get(f"/resource_providers/{uuid.uuid4()}/inventories").status_code == 404


class TestResourceClasses:
    def test_lifecycle(self, api):
        name = f"CUSTOM_TEST_{uuid.uuid4().hex.upper()}"
        created = api.post("/resource_classes", json={"name": name})
        assert created.status_code == 201
        assert created.headers["location"] == f"http://testserver/resource_classes/{name}"
        assert api.post("/resource_classes", json={"name": name}).status_code == 409
        assert api.get(f"/resource_classes/{name}").json()["name"] == name
        assert api.put(f"/resource_classes/{name}").status_code == 204
        rp = api.provider({name: {"total": 1}})
        assert api.delete(f"/resource_classes/{name}").status_code == 409
        api.delete(f"/resource_providers/{rp}")
        assert api.delete(f"/resource_classes/{name}").status_code == 204
        assert api.get(f"/resource_classes/{name}").status_code == 404

    def test_put_creates_from_1_7(self, api):
        name = f"CUSTOM_PUT_{uuid.uuid4().hex.upper()}"
        assert api.put(f"/resource_classes/{name}", version="1.7").status_code == 201
        assert api.put(f"/resource_classes/{name}", version="1.7").status_code == 204
        assert api.put("/resource_classes/VCPU", version="1.7").status_code == 400

    def test_put_renames_before_1_7(self, api):
        name = f"CUSTOM_OLD_{uuid.uuid4().hex.upper()}"
        api.post("/resource_classes", json={"name": name})
        renamed = name.replace("OLD", "NEW")
        response = api.put(f"/resource_classes/{name}", version="1.6", json={"name": renamed})
        assert response.status_code == 200 and response.json()["name"] == renamed

    def test_standard_classes_stay(self, api):
        names = [c["name"] for c in api.get("/resource_classes").json()["resource_classes"]]
        assert names[:3] == ["VCPU", "MEMORY_MB", "DISK_GB"]
        assert api.delete("/resource_classes/VCPU").status_code == 400
        assert api.post("/resource_classes", json={"name": "NOT_CUSTOM"}).status_code == 400


class TestUsages:
    def test_provider_usages_list_every_inventory_class(self, api):
        rp = api.provider({"VCPU": {"total": 4}, "DISK_GB": {"total": 10}})
        claim(api, rp, 3)
        assert api.get(f"/resource_providers/{rp}/usages").json() == {
            "resource_provider_generation": 2, "usages": {"VCPU": 3, "DISK_GB": 0}}

    def test_project_usages_before_and_from_1_38(self, api):
        rp = api.provider({"VCPU": {"total": 16}})
        project = f"project-{uuid.uuid4()}"
        claim(api, rp, 1, project=project, consumer_type="INSTANCE")
        claim(api, rp, 2, project=project, consumer_type="MIGRATION")
        claim(api, rp, 4, project=project, user="other", consumer_type="INSTANCE")
        assert api.get(f"/usages?project_id={project}", version="1.37").json() == {
            "usages": {"VCPU": 7}}
        assert api.get(f"/usages?project_id={project}&user_id=u", version="1.37").json() == {
            "usages": {"VCPU": 3}}
        by_type = api.get(f"/usages?project_id={project}", version="1.38").json()
        assert by_type == {"usages": {"INSTANCE": {"VCPU": 5, "consumer_count": 2},
                                      "MIGRATION": {"VCPU": 2, "consumer_count": 1}}}
        every = api.get(f"/usages?project_id={project}&consumer_type=all").json()
        assert every == {"usages": {"all": {"VCPU": 7, "consumer_count": 3}}}

    @pytest.mark.parametrize("query", ["", "?user_id=u", "?project_id=p&bogus=1"])
    def test_bad_queries_are_400(self, api, query):
        assert api.get(f"/usages{query}").status_code == 400


class TestOddPaths:
    def test_a_line_feed_in_a_path_parameter(self, api):
        assert api.get("/allocations/a%0Ab").json() == {"allocations": {}}
        assert api.put("/resource_classes/CUSTOM_A%0AB", version="1.7").status_code == 400
        assert api.get(f"/resource_providers/{uuid.uuid4()}%0A").status_code == 404
