"""The control API (`placement-ref serve --control`): guarded by the admin token, absent
without `--control`, and a reset that leaves a fresh server behind."""

from __future__ import annotations

import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from starlette.testclient import TestClient

from reference_impl.app import create_app
from reference_impl.cli import main
from reference_impl.config import Settings
from reference_impl.control import PREFIX
from reference_impl.control.layer import ControlLayer
from reference_impl.dispatch import App
from reference_impl.storage.standard_classes import STANDARD_RESOURCE_CLASSES, STANDARD_TRAITS
from tests.databases import BACKENDS, scratch_database
from tests.peer import running_peer
from tests.server_process import running_server

ADMIN = {"x-auth-token": "admin", "openstack-api-version": "placement latest"}


@pytest.fixture(scope="module")
def controlled(tmp_path_factory):
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path_factory.mktemp('c') / 'c.db'}",
                              control=True, validate_responses=True))
    with TestClient(app) as client:
        yield client


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path_factory.mktemp('p') / 'p.db'}"))
    with TestClient(app) as client:
        yield client


def _tree(client) -> tuple[str, str]:
    """A root and a child with inventory, an allocation, a custom class and trait and an
    aggregate: something of everything a reset deletes."""
    root, child, consumer = (str(uuid.uuid4()) for _ in range(3))
    for rp, parent in ((root, None), (child, root)):
        body = {"uuid": rp, "name": f"rp-{rp}"} | ({"parent_provider_uuid": parent}
                                                   if parent else {})
        assert client.post("/resource_providers", json=body, headers=ADMIN).status_code == 200
    assert client.put("/resource_classes/CUSTOM_GOLD", headers=ADMIN).status_code in (201, 204)
    assert client.put("/traits/CUSTOM_FAST", headers=ADMIN).status_code in (201, 204)
    inventory = {"resource_provider_generation": 0,
                 "inventories": {"VCPU": {"total": 8}, "CUSTOM_GOLD": {"total": 2}}}
    assert client.put(f"/resource_providers/{child}/inventories", json=inventory,
                      headers=ADMIN).status_code == 200
    assert client.put(f"/resource_providers/{child}/traits", headers=ADMIN, json={
        "resource_provider_generation": 1, "traits": ["CUSTOM_FAST"]}).status_code == 200
    assert client.put(f"/resource_providers/{child}/aggregates", headers=ADMIN, json={
        "resource_provider_generation": 2, "aggregates": [str(uuid.uuid4())]}
    ).status_code == 200
    assert client.put(f"/allocations/{consumer}", headers=ADMIN, json={
        "allocations": {child: {"resources": {"VCPU": 1, "CUSTOM_GOLD": 1}}},
        "project_id": "p", "user_id": "u", "consumer_generation": None,
        "consumer_type": "INSTANCE"}).status_code == 204
    return root, consumer


def test_reset_leaves_only_the_standard_classes_and_traits(controlled):
    root, consumer = _tree(controlled)
    assert controlled.post(f"{PREFIX}/reset", headers=ADMIN).status_code == 204
    assert controlled.get("/resource_providers", headers=ADMIN).json() == {
        "resource_providers": []}
    assert controlled.get(f"/allocations/{consumer}", headers=ADMIN).json()[
        "allocations"] == {}
    classes = controlled.get("/resource_classes", headers=ADMIN).json()["resource_classes"]
    assert [c["name"] for c in classes] == list(STANDARD_RESOURCE_CLASSES)
    traits = controlled.get("/traits", headers=ADMIN).json()["traits"]
    assert sorted(traits) == sorted(STANDARD_TRAITS)
    # The same names and uuids can be made again at once.
    _tree(controlled)
    assert controlled.post(f"{PREFIX}/reset", headers=ADMIN).status_code == 204


@pytest.mark.parametrize("headers, status", [
    ({}, 401),
    ({"x-auth-token": "someone"}, 403),
])
def test_the_control_api_takes_only_the_admin_token(controlled, headers, status):
    root, _ = _tree(controlled)
    response = controlled.post(f"{PREFIX}/reset", headers=headers)
    assert response.status_code == status
    if status == 403:
        assert response.json()["errors"][0]["title"] == "Forbidden"
    else:
        assert response.json()["title"] == "Unauthorized"
    assert controlled.get(f"/resource_providers/{root}", headers=ADMIN).status_code == 200


def test_the_control_api_has_its_document(controlled):
    document = controlled.get(f"{PREFIX}/openapi.json").json()
    assert "/reset" in document["paths"]
    assert controlled.get(f"{PREFIX}/ui/").status_code == 200


def test_an_unknown_control_path_is_placements_404(controlled):
    response = controlled.get(f"{PREFIX}/nothing", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["errors"][0]["title"] == "Not Found"


def _comparable(response) -> tuple:
    body = response.json()
    for error in body.get("errors", []):
        error.pop("request_id", None)
    return response.status_code, body


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("headers", [{}, ADMIN])
def test_without_control_the_prefix_is_unknown_to_placement_too(plain, method, headers):
    """Without `--control`, the prefix answers as any path the server does not know."""
    control = plain.request(method, f"{PREFIX}/reset", headers=headers)
    unknown = plain.request(method, "/no_such_path/reset", headers=headers)
    assert _comparable(control) == _comparable(unknown)
    assert control.status_code == (404 if headers else 401)


def test_without_control_the_prefix_answers_as_upstream(plain, peer_venv, tmp_path):
    with running_peer(peer_venv, tmp_path / "upstream") as peer:
        for method in ("GET", "POST"):
            for headers in ({}, ADMIN):
                upstream = httpx.request(method, f"{peer.url}{PREFIX}/reset",
                                         headers=headers)
                reference = plain.request(method, f"{PREFIX}/reset", headers=headers)
                assert _comparable(reference) == _comparable(upstream), (method, headers)


def _journal(client, **query) -> list[dict]:
    response = client.get(f"{PREFIX}/journal", params=query, headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def test_the_journal_keeps_each_request_and_its_answer(controlled):
    controlled.delete(f"{PREFIX}/journal", headers=ADMIN)
    rp = str(uuid.uuid4())
    controlled.post("/resource_providers", json={"uuid": rp, "name": f"rp-{rp}"},
                    headers={**ADMIN, "openstack-api-version": "placement 1.20"})
    controlled.get("/resource_providers", params={"name": f"rp-{rp}"}, headers=ADMIN)
    controlled.get(f"/resource_providers/{rp}")  # no token: 401, no microversion
    created, listed, refused = _journal(controlled)
    assert (created["method"], created["path"], created["query"]) == (
        "POST", "/resource_providers", "")
    assert created["request"]["body"] == {"uuid": rp, "name": f"rp-{rp}"}
    assert created["request"]["headers"]["openstack-api-version"] == "placement 1.20"
    assert created["microversion"] == "1.20"
    assert created["response"]["status"] == 200
    assert created["response"]["body"]["uuid"] == rp
    assert created["response"]["headers"]["x-openstack-request-id"].startswith("req-")
    assert created["injected"] is False and created["fault"] is None
    assert listed["query"] == f"name=rp-{rp}"
    assert listed["response"]["body"]["resource_providers"][0]["uuid"] == rp
    assert (refused["response"]["status"], refused["microversion"]) == (401, None)
    assert created["id"] < listed["id"] < refused["id"]


def test_the_journal_is_read_by_method_and_path(controlled):
    controlled.delete(f"{PREFIX}/journal", headers=ADMIN)
    for _ in range(3):
        controlled.get("/resource_classes", headers=ADMIN)
    controlled.get("/traits", headers=ADMIN)
    controlled.put("/traits/CUSTOM_JOURNAL", headers=ADMIN)
    assert [e["path"] for e in _journal(controlled, method="GET")] == [
        "/resource_classes"] * 3 + ["/traits"]
    assert [e["method"] for e in _journal(controlled, path="/traits*")] == ["GET", "PUT"]
    assert [e["path"] for e in _journal(controlled, path="/traits/*")] == [
        "/traits/CUSTOM_JOURNAL"]
    last = _journal(controlled, method="GET", limit=2)
    assert [e["path"] for e in last] == ["/resource_classes", "/traits"]
    # Reading the journal is no entry of it.
    assert len(_journal(controlled)) == 5
    assert controlled.get(f"{PREFIX}/journal", params={"method": "get"},
                          headers=ADMIN).status_code == 400


def test_a_reset_empties_the_journal(controlled):
    controlled.get("/traits", headers=ADMIN)
    assert _journal(controlled)
    controlled.post(f"{PREFIX}/reset", headers=ADMIN)
    assert _journal(controlled) == []


def test_the_journal_keeps_the_last_requests(tmp_path):
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'j.db'}", control=True,
                              journal_size=2))
    with TestClient(app) as client:
        for name in ("A", "B", "C"):
            client.get(f"/traits/CUSTOM_{name}", headers=ADMIN)
        assert [e["path"] for e in _journal(client)] == ["/traits/CUSTOM_B",
                                                          "/traits/CUSTOM_C"]


def test_without_control_no_layer_is_installed(tmp_path):
    """The server without `--control` is the Connexion application itself, as fast as
    before: no journal, no faults in its way."""
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'n.db'}"))
    assert isinstance(app, App) and not isinstance(app, ControlLayer)


def _faults(client, *rules, seed=0) -> dict:
    response = client.put(f"{PREFIX}/faults", json={"seed": seed, "faults": list(rules)},
                          headers=ADMIN)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_fault_answers_with_placements_error_instead(controlled):
    controlled.post(f"{PREFIX}/reset", headers=ADMIN)
    _faults(controlled, {"method": "PUT", "path": "/allocations/*", "status": 409,
                         "code": "placement.concurrent_update", "detail": "Try again.",
                         "times": 1})
    consumer = str(uuid.uuid4())
    body = {"allocations": {}, "project_id": "p", "user_id": "u",
            "consumer_generation": None, "consumer_type": "INSTANCE"}
    conflict = controlled.put(f"/allocations/{consumer}", json=body, headers=ADMIN)
    assert conflict.status_code == 409
    error = conflict.json()["errors"][0]
    assert (error["code"], error["title"]) == ("placement.concurrent_update", "Conflict")
    assert "Try again." in error["detail"]
    assert conflict.headers["openstack-api-version"] == "placement 1.39"
    assert conflict.headers["x-openstack-request-id"] == error["request_id"]
    # Spent: the next one is the server's own answer.
    assert controlled.put(f"/allocations/{consumer}", json=body,
                          headers=ADMIN).status_code == 204
    injected, real = _journal(controlled, method="PUT")
    assert injected["injected"] and injected["response"]["status"] == 409
    assert injected["request"]["body"] == body
    assert not real["injected"] and real["response"]["status"] == 204
    listed = controlled.get(f"{PREFIX}/faults", headers=ADMIN).json()["faults"]
    assert (listed[0]["met"], listed[0]["remaining"]) == (1, 0)
    assert injected["fault"] == listed[0]["id"]


def test_a_fault_meets_only_its_method_path_and_microversions(controlled):
    _faults(controlled, {"method": "GET", "path": "/traits", "microversion": "1.6-1.20",
                         "status": 503})
    for version, path, method, status in (("1.6", "/traits", "GET", 503),
                                          ("1.20", "/traits", "GET", 503),
                                          ("1.21", "/traits", "GET", 200),
                                          ("1.6", "/traits/CUSTOM_X", "GET", 404),
                                          ("1.6", "/traits", "POST", 405)):
        response = controlled.request(method, path, headers={
            **ADMIN, "openstack-api-version": f"placement {version}"})
        assert response.status_code == status, (version, path, method)
    response = controlled.get("/traits", headers={**ADMIN,
                                                  "openstack-api-version": "placement 1.6"})
    error = response.json()["errors"][0]
    # Before 1.23 Placement's errors carry no code.
    assert error["title"] == "Service Unavailable" and "code" not in error
    controlled.delete(f"{PREFIX}/faults", headers=ADMIN)
    assert controlled.get("/traits", headers={
        **ADMIN, "openstack-api-version": "placement 1.6"}).status_code == 200


def test_chances_are_drawn_from_the_seed(controlled):
    def run() -> list[int]:
        _faults(controlled, {"path": "/resource_classes", "status": 503,
                             "probability": 0.5}, seed=7)
        return [controlled.get("/resource_classes", headers=ADMIN).status_code
                for _ in range(20)]

    first = run()
    assert first == run()
    assert {200, 503} == set(first)


def test_a_delay_alone_makes_the_real_answer_late(controlled):
    _faults(controlled, {"path": "/", "delay": 0.3})
    started = time.monotonic()
    response = controlled.get("/", headers=ADMIN)
    assert response.status_code == 200 and "versions" in response.json()
    assert time.monotonic() - started >= 0.3
    assert _journal(controlled, path="/")[-1]["injected"]
    controlled.delete(f"{PREFIX}/faults", headers=ADMIN)


def test_a_reset_brings_back_the_faults_of_the_start(tmp_path):
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  - {path: /traits, status: 503, times: 1}\n")
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'f.db'}", control=True,
                              faults_file=str(faults)))
    with TestClient(app) as client:
        assert client.get("/traits", headers=ADMIN).status_code == 503
        assert client.get("/traits", headers=ADMIN).status_code == 200
        client.post(f"{PREFIX}/faults", json={"path": "/traits", "status": 500},
                    headers=ADMIN)
        client.post(f"{PREFIX}/reset", headers=ADMIN)
        assert [client.get("/traits", headers=ADMIN).status_code for _ in range(2)] == [
            503, 200]


@pytest.mark.parametrize("rule", [
    {"status": 409, "drop": True},
    {"path": "/traits"},
    {"status": 418},
    {"status": 409, "probability": 2},
    {"status": 409, "surprise": 1},
])
def test_a_rule_that_is_no_fault_is_a_400(controlled, rule):
    response = controlled.post(f"{PREFIX}/faults", json=rule, headers=ADMIN)
    assert response.status_code == 400
    assert response.json()["errors"][0]["title"] == "Bad Request"


def test_a_faults_file_that_is_no_set_of_faults_stops_the_start(tmp_path, capsys):
    faults = tmp_path / "faults.yaml"
    faults.write_text("faults:\n  - {path: /traits, status: 200}\n")
    with pytest.raises(SystemExit):
        main(["serve", "--control", "--faults-file", str(faults)])
    assert "faults file" in capsys.readouterr().err


def test_a_ceiling_serves_as_an_older_placement(tmp_path):
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'm.db'}", control=True,
                              max_microversion="1.28"))
    with TestClient(app) as client:
        assert client.get("/").json()["versions"][0]["max_version"] == "1.28"
        latest = client.get("/resource_providers", headers=ADMIN)
        assert latest.headers["openstack-api-version"] == "placement 1.28"
        newer = client.get("/resource_providers", headers={
            **ADMIN, "openstack-api-version": "placement 1.29"})
        assert newer.status_code == 406
        assert newer.json()["errors"][0]["max_version"] == "1.28"
        # The reshaper came in a later microversion: "latest" does not reach it.
        assert client.post("/reshaper", json={}, headers=ADMIN).status_code == 404
        # A fault for `latest` reads it as the ceiling.
        client.post(f"{PREFIX}/faults", json={"microversion": "1.28", "status": 503},
                    headers=ADMIN)
        assert client.get("/traits", headers=ADMIN).status_code == 503


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_reset_with_several_workers_on_each_database(backend, tmp_path):
    """Two workers share the database: a reset by one, while the other writes, leaves
    both serving an empty, consistent database."""
    with scratch_database(backend, tmp_path) as db_url, \
            running_server(db_url, workers=2, extra=("--control",)) as server, \
            httpx.Client(base_url=server.url, headers=ADMIN, timeout=60) as client:
        for _ in range(3):
            _tree(client)
        with ThreadPoolExecutor(4) as pool:
            writes = [pool.submit(_tree, client) for _ in range(3)]
            assert client.post(f"{PREFIX}/reset").status_code == 204
            for write in writes:
                with contextlib.suppress(AssertionError):
                    write.result()  # a write may lose its provider to the reset
        assert client.post(f"{PREFIX}/reset").status_code == 204
        for _ in range(6):  # answered by either worker
            assert client.get("/resource_providers").json()["resource_providers"] == []
        _tree(client)
