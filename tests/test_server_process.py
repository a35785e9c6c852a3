"""The reference server as users run it: a process, a socket, several workers, and
concurrent writers that must never over-allocate a provider."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from reference_impl import cli
from tests.databases import BACKENDS
from tests.server_process import running_server, serving_scratch_database

HEADERS = {"x-auth-token": "admin", "openstack-api-version": "placement 1.39"}


def test_serve_answers_over_http_and_logs_each_request(tmp_path):
    with running_server(f"sqlite:///{tmp_path / 'served.db'}") as server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            rp = client.post("/resource_providers", json={"name": "served"}).json()["uuid"]
            assert client.put(f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": 0,
                "inventories": {"VCPU": {"total": 2}}}).status_code == 200
            assert client.get(f"/resource_providers/{rp}/usages").json()["usages"] == {"VCPU": 0}
    log = server.log
    assert "GET /resource_providers/" in log and "PUT /resource_providers/" in log


def test_a_database_in_memory_keeps_its_data_between_requests():
    with running_server("sqlite://") as server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            rp = client.post("/resource_providers", json={"name": "in-memory"}).json()["uuid"]
            assert client.get(f"/resource_providers/{rp}").json()["name"] == "in-memory"


def test_the_environment_sets_defaults_and_options_override_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PLACEMENT_REF_DB_URL", f"sqlite:///{tmp_path / 'from-env.db'}")
    monkeypatch.setenv("PLACEMENT_REF_ADMIN_TOKEN", "from-env")
    served = []
    monkeypatch.setattr(cli, "_serve", served.append)
    cli.main(["serve"])
    cli.main(["serve", "--token", "from-option"])
    assert [(a.db_url, a.token) for a in served] == [
        (f"sqlite:///{tmp_path / 'from-env.db'}", "from-env"),
        (f"sqlite:///{tmp_path / 'from-env.db'}", "from-option")]


@pytest.mark.parametrize(("options", "complaint"), [
    pytest.param(["--workers", "2", "--db-url", "sqlite://"],
                 "a database in memory lives in one process", id="workers sharing memory"),
    pytest.param(["--workers", "0"], "argument --workers: must be at least 1", id="no workers"),
])
def test_serve_refuses_what_cannot_work(options, complaint, capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["serve", *options])
    assert exited.value.code == 2
    assert complaint in capsys.readouterr().err


WRITERS = 12
CAPACITY = 5  # of VCPU; each writer claims one, so exactly this many claims fit


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_writers_never_over_allocate(tmp_path, backend):
    with serving_scratch_database(backend, tmp_path, workers=3) as server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            rp = client.post("/resource_providers", json={"name": "contended"}).json()["uuid"]
            assert client.put(f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": 0,
                "inventories": {"VCPU": {"total": CAPACITY}}}).status_code == 200

        start = threading.Barrier(WRITERS, timeout=60)

        def claim_one(_) -> tuple[int, str]:
            """Claim one VCPU for a new consumer, all writers at once: (status, consumer)."""
            consumer = str(uuid.uuid4())
            with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
                start.wait()
                response = client.put(f"/allocations/{consumer}", json={
                    "allocations": {rp: {"resources": {"VCPU": 1}}}, "project_id": "p",
                    "user_id": "u", "consumer_generation": None, "consumer_type": "INSTANCE"})
            return response.status_code, consumer

        # map() hands back each writer's result, or raises what the writer raised.
        with ThreadPoolExecutor(WRITERS) as writers:
            outcomes = list(writers.map(claim_one, range(WRITERS)))

        # Writers wait for each other's locks, so every claim that fits is granted and
        # every other one is refused for want of capacity.
        statuses = sorted(status for status, _ in outcomes)
        assert statuses == [204] * CAPACITY + [409] * (WRITERS - CAPACITY), statuses
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            usage = client.get(f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"]
            held = sum(
                sum(entry["resources"]["VCPU"] for entry in
                    client.get(f"/allocations/{consumer}").json()["allocations"].values())
                for status, consumer in outcomes if status == 204)
        assert usage == held == CAPACITY


RACERS = 6
RACE_ROUNDS = 20


@pytest.mark.parametrize("backend", BACKENDS)
def test_deletes_racing_writes_of_the_same_consumers_stay_consistent(tmp_path, backend):
    """DELETE and PUT of the same few consumers at once, on several workers: DELETE locks
    the consumer before its allocations, as PUT does, so every answer is a success or
    Placement's refusal (404: nothing held; 409: a stale generation or a lost race), never
    a 5xx, and afterwards the provider's usage is exactly what the consumers hold."""
    consumers = [str(uuid.uuid4()) for _ in range(3)]
    with serving_scratch_database(backend, tmp_path, workers=3) as server:
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            rp = client.post("/resource_providers", json={"name": "raced"}).json()["uuid"]
            assert client.put(f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": 0,
                "inventories": {"VCPU": {"total": 1000}}}).status_code == 200

        def race(racer: int) -> list[int]:
            """Half the racers delete, half write, each over every consumer in turn."""
            statuses = []
            with httpx.Client(base_url=server.url, headers=HEADERS, timeout=60) as client:
                for round_ in range(RACE_ROUNDS):
                    consumer = consumers[(racer + round_) % len(consumers)]
                    if racer % 2:
                        response = client.delete(f"/allocations/{consumer}")
                    else:
                        seen = client.get(f"/allocations/{consumer}").json()
                        response = client.put(f"/allocations/{consumer}", json={
                            "allocations": {rp: {"resources": {"VCPU": racer + 1}}},
                            "project_id": "p", "user_id": "u", "consumer_type": "INSTANCE",
                            "consumer_generation": seen.get("consumer_generation")})
                    statuses.append(response.status_code)
            return statuses

        with ThreadPoolExecutor(RACERS) as racers:
            statuses = {status for outcome in racers.map(race, range(RACERS))
                        for status in outcome}

        assert statuses <= {204, 404, 409}, statuses
        with httpx.Client(base_url=server.url, headers=HEADERS) as client:
            usage = client.get(f"/resource_providers/{rp}/usages").json()["usages"]["VCPU"]
            held = sum(entry["resources"]["VCPU"]
                       for consumer in consumers
                       for entry in client.get(f"/allocations/{consumer}")
                       .json()["allocations"].values())
        assert usage == held
