"""Answers where the reference server once differed from upstream Placement 16.0.0, found
by sending both the same sequences of requests; and what `--strict` changes."""

from __future__ import annotations

import uuid

import pytest

from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.conftest import Api

INCOMPLETE = "00000000-0000-0000-0000-000000000000"


def new_uuid() -> str:
    return str(uuid.uuid4())


def claim(api: Api, consumer: str, rp: str, generation=None, version: str = "1.28",
          project: str = "p"):
    return api.put(f"/allocations/{consumer}", version=version, json={
        "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": project,
        "user_id": "u", "consumer_generation": generation})


@pytest.fixture(scope="module")
def strict_app(database_url):
    return create_app(Settings(db_url=database_url, validate_responses=True, strict=True))


@pytest.fixture
def strict_api(strict_app):
    with strict_app.test_client() as client:
        yield Api(client)


class TestListFormOnAnExistingConsumer:
    def test_moves_the_consumer_to_the_placeholder_project_and_user(self, api):
        rp, consumer, project = api.provider({"VCPU": {"total": 8}}), new_uuid(), new_uuid()
        assert claim(api, consumer, rp, project=project).status_code == 204
        list_form = {"allocations": [{"resource_provider": {"uuid": rp},
                                      "resources": {"VCPU": 2}}]}
        assert api.put(f"/allocations/{consumer}", version="1.7",
                       json=list_form).status_code == 204
        held = api.get(f"/allocations/{consumer}", version="1.12").json()
        assert (held["project_id"], held["user_id"]) == (INCOMPLETE, INCOMPLETE)
        assert api.get(f"/usages?project_id={project}", version="1.9").json() == {"usages": {}}


class TestReparenting:
    def tree(self, api: Api) -> tuple[str, str, str]:
        """A root with a child that has a child of its own."""
        root = api.provider()
        child = api.provider(parent_provider_uuid=root)
        grandchild = api.provider(parent_provider_uuid=child)
        return root, child, grandchild

    def move(self, api, uuid_, parent, version="1.37"):
        return api.put(f"/resource_providers/{uuid_}", version=version,
                       json={"name": f"test-rp-{uuid_}", "parent_provider_uuid": parent})

    def root_of(self, api, uuid_) -> str:
        return api.get(f"/resource_providers/{uuid_}").json()["root_provider_uuid"]

    def test_a_move_takes_the_subtree_to_the_new_root(self, api):
        _, child, grandchild = self.tree(api)
        other_root = api.provider()
        assert self.move(api, child, other_root).status_code == 200
        assert self.root_of(api, grandchild) == other_root
        in_tree = api.get(f"/resource_providers?in_tree={other_root}").json()
        assert {rp["uuid"] for rp in in_tree["resource_providers"]} == {
            other_root, child, grandchild}

    def test_unparenting_makes_a_new_root_of_the_subtree(self, api):
        _, child, grandchild = self.tree(api)
        assert self.move(api, child, None).status_code == 200
        assert self.root_of(api, grandchild) == child

    def test_a_root_given_a_parent_brings_its_children(self, api):
        root, _, grandchild = self.tree(api)
        new_root = api.provider()
        assert self.move(api, root, new_root, version="1.14").status_code == 200
        assert self.root_of(api, grandchild) == new_root

    @pytest.mark.parametrize(("target", "reason"), [
        ("other", "re-parenting a provider is not currently allowed."),
        (None, "un-parenting a provider is not currently allowed."),
    ], ids=["re-parent", "un-parent"])
    def test_moving_a_child_needs_1_37(self, api, target, reason):
        _, child, _ = self.tree(api)
        parent = api.provider() if target == "other" else None
        response = self.move(api, child, parent, version="1.36")
        assert response.status_code == 400
        assert response.json()["errors"][0]["detail"].endswith(
            f"Unable to save resource provider {child}: Object action update failed "
            f"because: {reason}  ")

    def test_a_loop_is_refused(self, api):
        root, _, grandchild = self.tree(api)
        response = self.move(api, root, grandchild)
        assert response.status_code == 400
        assert "creating loop in the provider tree is not allowed." in response.text


class TestOrderOfChecks:
    def test_an_unknown_provider_comes_before_its_body(self, api):
        missing = new_uuid()
        for method, path in (("PUT", "inventories"), ("POST", "inventories"),
                             ("PUT", "inventories/VCPU"), ("PUT", "")):
            response = api.request(method, f"/resource_providers/{missing}/{path}".rstrip("/"),
                                   content=b"not json",
                                   headers={"content-type": "application/json"})
            assert response.status_code == 404, (method, path)
            assert "vary" not in response.headers

    def test_an_unknown_parent_comes_before_a_duplicate(self, api):
        rp = api.provider()
        response = api.post("/resource_providers", version="1.14", json={
            "uuid": rp, "name": f"test-rp-{rp}", "parent_provider_uuid": new_uuid()})
        assert response.status_code == 400
        assert "parent provider UUID does not exist." in response.text


class TestNewConsumerLeftBehind:
    """Upstream creates a new consumer before it checks the providers of its allocations,
    and keeps it when that check fails, or when the consumer is given no allocations."""

    def test_after_an_unknown_provider_the_retry_sends_generation_0(self, api):
        rp, consumer = api.provider({"VCPU": {"total": 8}}), new_uuid()
        assert claim(api, consumer, new_uuid()).status_code == 400
        assert api.get(f"/allocations/{consumer}").json() == {"allocations": {}}
        assert api.delete(f"/allocations/{consumer}").status_code == 404
        refused = claim(api, consumer, rp, generation=None)
        assert refused.status_code == 409
        assert "expected 0 but got None" in refused.text
        assert claim(api, consumer, rp, generation=0).status_code == 204
        held = api.get(f"/allocations/{consumer}", version="1.28").json()
        assert held["consumer_generation"] == 1

    def test_also_before_1_28_and_through_post(self, api):
        rp, first, second = api.provider({"VCPU": {"total": 8}}), new_uuid(), new_uuid()
        body = {consumer: {"allocations": {new_uuid(): {"resources": {"VCPU": 1}}},
                           "project_id": "p", "user_id": "u"}
                for consumer in (first, second)}
        assert api.post("/allocations", version="1.13", json=body).status_code == 400
        for consumer in (first, second):
            assert claim(api, consumer, rp, generation=None).status_code == 409

    def test_a_new_consumer_given_nothing_stays_at_generation_0(self, api):
        rp, consumer = api.provider({"VCPU": {"total": 8}}), new_uuid()
        empty = {"allocations": {}, "project_id": "p", "user_id": "u",
                 "consumer_generation": None}
        assert api.put(f"/allocations/{consumer}", version="1.28", json=empty).status_code == 204
        assert api.put(f"/allocations/{consumer}", version="1.28",
                       json={**empty, "consumer_generation": 0}).status_code == 204
        assert claim(api, consumer, rp, generation=0).status_code == 204

    def test_a_failure_past_the_providers_leaves_nothing(self, api):
        rp, consumer = api.provider({"VCPU": {"total": 1}}), new_uuid()
        too_much = {"allocations": {rp: {"resources": {"VCPU": 2}}}, "project_id": "p",
                    "user_id": "u", "consumer_generation": None}
        assert api.put(f"/allocations/{consumer}", version="1.28",
                       json=too_much).status_code == 409
        assert claim(api, consumer, rp, generation=None).status_code == 204

    def test_strict_leaves_nothing(self, strict_api):
        rp, consumer = strict_api.provider({"VCPU": {"total": 8}}), new_uuid()
        assert claim(strict_api, consumer, new_uuid()).status_code == 400
        empty = {"allocations": {}, "project_id": "p", "user_id": "u",
                 "consumer_generation": None}
        assert strict_api.put(f"/allocations/{consumer}", version="1.28",
                              json=empty).status_code == 204
        assert claim(strict_api, consumer, rp, generation=None).status_code == 204


class TestInventoryTexts:
    def test_classes_in_use_are_named_in_the_order_of_their_ids(self, api):
        rp = api.provider({"DISK_GB": {"total": 10}, "VCPU": {"total": 4},
                           "MEMORY_MB": {"total": 100}})
        assert api.put(f"/allocations/{new_uuid()}", version="1.12", json={
            "allocations": {rp: {"resources": {"DISK_GB": 1, "VCPU": 1, "MEMORY_MB": 1}}},
            "project_id": "p", "user_id": "u"}).status_code == 204
        response = api.delete(f"/resource_providers/{rp}/inventories")
        assert response.status_code == 409
        assert f"Inventory for 'VCPU, MEMORY_MB, DISK_GB' on resource provider '{rp}' in use." \
            in response.json()["errors"][0]["detail"]

    def test_a_new_inventory_that_cannot_hold_anything_is_refused_as_created(self, api):
        rp = api.provider()
        response = api.post(f"/resource_providers/{rp}/inventories", version="1.25",
                            json={"resource_class": "VCPU", "total": 4, "reserved": 4})
        assert response.status_code == 400
        assert f"Unable to create inventory for resource provider {rp}: Invalid inventory " \
               f"for 'VCPU'" in response.json()["errors"][0]["detail"]


class TestMoreTexts:
    def test_a_malformed_consumer_comes_before_the_body(self, api):
        response = api.put("/allocations/not-a-uuid", version="1.0", json={"allocations": []})
        assert response.json()["errors"][0]["detail"].endswith(
            "Malformed consumer_uuid: not-a-uuid  ")

    def test_deleting_an_inventory_the_provider_lacks(self, api):
        rp = api.provider()
        for name, reason in (("CUSTOM_NOPE", "No such resource class CUSTOM_NOPE."),
                             ("PCI_DEVICE", "No inventory of class PCI_DEVICE found for delete")):
            response = api.delete(f"/resource_providers/{rp}/inventories/{name}")
            assert response.json()["errors"][0]["detail"].endswith(
                f"No inventory of class {name} found for delete: {reason}  ")

    def test_updating_an_inventory_of_an_unknown_class_is_a_404(self, api):
        rp = api.provider()
        response = api.put(f"/resource_providers/{rp}/inventories/CUSTOM_NOPE",
                           json={"total": 1, "resource_provider_generation": 0})
        assert response.status_code == 404
        assert "vary" not in response.headers

    def test_a_stale_generation_comes_before_the_inventory_it_updates(self, api):
        rp = api.provider()
        response = api.put(f"/resource_providers/{rp}/inventories/DISK_GB",
                           json={"total": 1, "resource_provider_generation": 9})
        assert response.status_code == 409

    def test_usages_of_an_unknown_provider(self, api):
        rp = new_uuid()
        missing = f"No resource provider with uuid {rp} found"
        response = api.get(f"/resource_providers/{rp}/usages")
        assert response.json()["errors"][0]["detail"].endswith(f"{missing}: {missing}  ")

    def test_a_zero_amount_in_a_resources_filter(self, api):
        response = api.get("/resource_providers?resources=VCPU:0", version="1.4")
        assert response.json()["errors"][0]["detail"].endswith(
            "Requested resource VCPU requires amount >= 1. Got: 0.  ")

    def test_the_root_ignores_accept(self, api):
        response = api.client.get("/", headers={"accept": "text/html"})
        assert response.status_code == 200

    def test_head_gets_an_empty_html_page(self, api):
        response = api.request("HEAD", f"/allocations/{new_uuid()}")
        assert response.status_code == 405
        assert response.headers["content-type"] == "text/html; charset=UTF-8"


class TestProviderAnswers:
    def test_a_provider_needs_a_name(self, api):
        rp = new_uuid()
        response = api.post("/resource_providers", json={"uuid": rp, "name": ""})
        assert response.status_code == 400
        assert response.json()["errors"][0]["detail"].endswith(
            f'Unable to create resource provider "", {rp}: Object action create failed '
            "because: name is required  ")

    def test_a_rename_is_stamped_with_the_change_before_it(self, api):
        """Upstream records a root's first change as it is created (it becomes its own
        root); a child has none until it really changes."""
        root = api.provider()
        assert "last-modified" in api.put(f"/resource_providers/{root}",
                                          json={"name": f"first-{root}"}).headers
        rp = api.provider(parent_provider_uuid=root)
        first = api.put(f"/resource_providers/{rp}", json={"name": f"first-{rp}"})
        assert first.status_code == 200
        assert "last-modified" not in first.headers
        assert first.headers["cache-control"] == "no-cache"
        second = api.put(f"/resource_providers/{rp}", json={"name": f"second-{rp}"})
        assert "last-modified" in second.headers


class TestConsumerLeftBehindLater:
    def test_takes_what_a_later_empty_write_says(self, api):
        consumer = new_uuid()
        empty = {"allocations": {}, "project_id": "p", "user_id": "u",
                 "consumer_generation": None}
        assert api.put(f"/allocations/{consumer}", version="1.28", json=empty).status_code == 204
        typed = {consumer: {**empty, "consumer_generation": 0, "consumer_type": "OTHER"}}
        assert api.post("/allocations", version="1.38", json=typed).status_code == 204
        rp = api.provider({"VCPU": {"total": 8}})
        list_form = {"allocations": [{"resource_provider": {"uuid": rp},
                                      "resources": {"VCPU": 1}}]}
        assert api.put(f"/allocations/{consumer}", version="1.7",
                       json=list_form).status_code == 204
        held = api.get(f"/allocations/{consumer}", version="1.38").json()
        assert (held["consumer_type"], held["consumer_generation"]) == ("OTHER", 1)


class TestFirstOfSeveralFaults:
    """Of several faults, upstream names the first its schema lists."""

    @pytest.mark.parametrize(("method", "path", "missing"), [
        ("POST", "inventories", "total"), ("PUT", "inventories/VCPU", "total"),
        ("PUT", "", "name"),
    ], ids=["create-inventory", "update-inventory", "rename-provider"])
    def test_a_body_with_none_of_its_fields(self, api, method, path, missing):
        rp = api.provider()
        response = api.request(method, f"/resource_providers/{rp}/{path}".rstrip("/"),
                               json={"a": 1})
        assert f"JSON does not validate: '{missing}' is a required property" in \
            response.json()["errors"][0]["detail"]

    def test_an_empty_name_filters_nothing(self, api):
        rp = api.provider()
        response = api.get(f"/resource_providers?name=test-rp-{rp}&name=")
        assert len(response.json()["resource_providers"]) > 1


class TestMissingInventory:
    def test_a_provider_without_any_of_the_classes_is_named_with_them_all(self, api):
        with_vcpu = api.provider({"VCPU": {"total": 8}})
        bare = api.provider({"DISK_GB": {"total": 8}})  # none of the classes asked for
        response = api.put(f"/allocations/{new_uuid()}", version="1.12", json={
            "allocations": {with_vcpu: {"resources": {"VCPU": 1}},
                            bare: {"resources": {"IPV4_ADDRESS": 1}}},
            "project_id": "p", "user_id": "u"})
        assert response.status_code == 409
        assert (f"Inventory for 'VCPU, IPV4_ADDRESS' on resource provider '{bare}' invalid."
                in response.json()["errors"][0]["detail"])

    def test_a_provider_lacking_one_class_is_refused_at_that_allocation(self, api):
        rp = api.provider({"VCPU": {"total": 8}})
        response = api.put(f"/allocations/{new_uuid()}", version="1.12", json={
            "allocations": {rp: {"resources": {"VCPU": 1, "DISK_GB": 1}}},
            "project_id": "p", "user_id": "u"})
        assert (f"Inventory for 'DISK_GB' on resource provider '{rp}' invalid."
                in response.json()["errors"][0]["detail"])
