"""Fixtures: the reference server in-process on each database backend, and the peer."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from reference_impl.app import create_app
from reference_impl.config import Settings
from tests import peer
from tests.databases import BACKENDS, scratch_database
from tests.dependencies import required

ADMIN_TOKEN = "admin"


def pytest_configure(config: pytest.Config) -> None:
    # A misspelt PLACEMENT_TEST_REQUIRE stops the run before any test can skip.
    required()


@pytest.fixture(scope="session")
def peer_venv() -> Path:
    """The virtualenv of upstream Placement 16.0.0, the peer the contract is checked
    against (skipped, or failed when required, without one)."""
    return peer.peer_venv()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    with scratch_database(request.param, tmp_path_factory.mktemp(request.param)) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url):
    # Responses are checked against the spec in every in-process test.
    return create_app(Settings(db_url=database_url, validate_responses=True))


@dataclass
class Api:
    """A client of the in-process server that speaks as an admin at one microversion."""

    client: object
    version: str = "latest"
    token: str = ADMIN_TOKEN

    def request(self, method: str, path: str, *, version: str | None = None,
                headers: dict | None = None, **kwargs):
        sent = {"x-auth-token": self.token,
                "openstack-api-version": f"placement {version or self.version}"}
        sent.update(headers or {})
        return self.client.request(method, path, headers=sent, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def put(self, path, **kwargs):
        return self.request("PUT", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def provider(self, inventory: dict | None = None, **fields) -> str:
        """Create a provider, with inventory if given; return its uuid."""
        rp = str(uuid.uuid4())
        name = f"test-rp-{rp}"
        response = self.post("/resource_providers", json={"uuid": rp, "name": name, **fields})
        assert response.status_code == 200, response.text
        if inventory:
            response = self.put(f"/resource_providers/{rp}/inventories", json={
                "resource_provider_generation": 0, "inventories": inventory})
            assert response.status_code == 200, response.text
        return rp


@pytest.fixture
def api(app):
    with app.test_client() as client:
        yield Api(client)
