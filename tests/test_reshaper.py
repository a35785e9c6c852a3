"""A reshape racing allocation writes on the provider it reshapes, on every backend, through
several workers: every answer is a 204 or a 409, never a 500, and what the database holds
afterwards is what one order of the winning requests would have left."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.databases import BACKENDS
from tests.server_process import serving_scratch_database

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}
RESHAPES = 2  # racing each other too: at most one can win the generations they name
CLAIMS = 6
MOVED = 10  # DISK_GB the consumer being moved holds


def _consumer(generation: int | None, allocations: dict) -> dict:
    return {"allocations": allocations, "project_id": "project", "user_id": "user",
            "consumer_generation": generation, "consumer_type": "INSTANCE"}


def _disk_used(client: httpx.Client, provider: str) -> int:
    return client.get(f"/resource_providers/{provider}/usages").json()["usages"].get(
        "DISK_GB", 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reshape_racing_allocation_writes_is_all_or_nothing(tmp_path, backend):
    with serving_scratch_database(backend, tmp_path, workers=2) as server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            root = client.post("/resource_providers", json={"name": "root"}).json()["uuid"]
            child = client.post("/resource_providers", json={
                "name": "child", "parent_provider_uuid": root}).json()["uuid"]
            assert client.put(f"/resource_providers/{root}/inventories", json={
                "resource_provider_generation": 0,
                "inventories": {"VCPU": {"total": 8}, "DISK_GB": {"total": 100}}},
            ).status_code == 200
            moved = str(uuid.uuid4())
            assert client.put(f"/allocations/{moved}", json=_consumer(
                None, {root: {"resources": {"VCPU": 1, "DISK_GB": MOVED}}})).status_code == 204
            root_generation = client.get(f"/resource_providers/{root}").json()["generation"]

        reshape = {
            "inventories": {
                root: {"resource_provider_generation": root_generation,
                       "inventories": {"VCPU": {"total": 8}}},
                child: {"resource_provider_generation": 0,
                        "inventories": {"DISK_GB": {"total": 100}}}},
            "allocations": {moved: _consumer(1, {
                root: {"resources": {"VCPU": 1}},
                child: {"resources": {"DISK_GB": MOVED}}})},
        }
        start = threading.Barrier(RESHAPES + CLAIMS, timeout=60)

        def send(number: int) -> tuple[str, httpx.Response]:
            with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
                start.wait()
                if number < RESHAPES:
                    return "reshape", client.post("/reshaper", json=reshape)
                claim = _consumer(None, {root: {"resources": {"DISK_GB": 1}}})
                return "claim", client.put(f"/allocations/{uuid.uuid4()}", json=claim)

        with ThreadPoolExecutor(RESHAPES + CLAIMS) as senders:
            answers = list(senders.map(send, range(RESHAPES + CLAIMS)))

        for kind, response in answers:
            assert response.status_code in (204, 409), (kind, response.text)
            if response.status_code == 409:
                assert response.json()["errors"][0]["status"] == 409
        reshaped = [r for kind, r in answers if kind == "reshape" and r.status_code == 204]
        claimed = [r for kind, r in answers if kind == "claim" and r.status_code == 204]
        assert len(reshaped) <= 1

        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            root_inventories = client.get(f"/resource_providers/{root}/inventories").json()
            child_inventories = client.get(f"/resource_providers/{child}/inventories").json()
            assert _disk_used(client, root) + _disk_used(client, child) == MOVED + len(claimed)
            if reshaped:
                # Claims on the root's DISK_GB could only land before the reshape, which
                # they would then have made stale: none did.
                assert claimed == []
                assert set(root_inventories["inventories"]) == {"VCPU"}
                assert set(child_inventories["inventories"]) == {"DISK_GB"}
                assert _disk_used(client, child) == MOVED
            else:
                assert set(root_inventories["inventories"]) == {"VCPU", "DISK_GB"}
                assert child_inventories["inventories"] == {}
                assert child_inventories["resource_provider_generation"] == 0
