"""Concurrent writers of a provider's traits and aggregates, on every backend, through
several workers: one write per generation wins, every other is a 409, never a 500."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.databases import BACKENDS
from tests.server_process import serving_scratch_database

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}
WRITERS = 8


def _body(path: str, number: int, generation: int) -> dict:
    """What writer `number` puts: a trait, or an aggregate, of its own."""
    listed = [f"CUSTOM_WRITER_{number}"] if path == "traits" else [str(uuid.uuid4())]
    return {"resource_provider_generation": generation, path: listed}


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_writer_per_generation_wins(tmp_path, backend):
    with serving_scratch_database(backend, tmp_path, workers=2) as server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            rp = client.post("/resource_providers", json={"name": "contended"}).json()["uuid"]
            for number in range(WRITERS):
                assert client.put(f"/traits/CUSTOM_WRITER_{number}").status_code == 201

        for path in ("traits", "aggregates"):
            with httpx.Client(base_url=server.url, headers=HEADERS) as client:
                generation = client.get(f"/resource_providers/{rp}").json()["generation"]
            start = threading.Barrier(WRITERS, timeout=60)

            def write(number: int) -> int:
                with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
                    start.wait()
                    return client.put(f"/resource_providers/{rp}/{path}",
                                      json=_body(path, number, generation)).status_code

            with ThreadPoolExecutor(WRITERS) as writers:
                statuses = sorted(writers.map(write, range(WRITERS)))
            assert statuses == [200] + [409] * (WRITERS - 1), (path, statuses)
            with httpx.Client(base_url=server.url, headers=HEADERS) as client:
                shown = client.get(f"/resource_providers/{rp}/{path}").json()
                assert len(shown[path]) == 1
                assert client.put(f"/resource_providers/{rp}/{path}", json={
                    path: [], "resource_provider_generation": shown[
                        "resource_provider_generation"]}).status_code == 200
