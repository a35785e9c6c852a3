"""The reference server inside a test process, and a handle on it for the tests.

`serve_in_thread` runs any application of the server under uvicorn in a thread of the
calling process, on a free loopback port; `ReferenceServer` is what a client's test
holds: the URL, the admin token, and the control API's operations as methods (a server
with `--control`). The pytest plugin (`pytest_plugin.py`) hands one to client tests.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Iterator

import httpx
import uvicorn

from reference_impl.control import PREFIX


@contextlib.contextmanager
def serve_in_thread(app, *, ssl_certfile: str | None = None,
                    ssl_keyfile: str | None = None) -> Iterator[str]:
    """Serve `app` over loopback from a thread of this process until exit; yield its URL
    (HTTPS with a certificate chain and its key, PEM files)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the reference server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"{'https' if ssl_certfile else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join()


@dataclass
class ReferenceServer:
    """A running reference server with its control API, as a client's test uses it."""

    url: str
    admin_token: str
    microversion: str = "latest"
    _control: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._control = httpx.Client(base_url=f"{self.url}{PREFIX}",
                                     headers={"x-auth-token": self.admin_token}, timeout=30)

    def close(self) -> None:
        self._control.close()

    def client(self, microversion: str | None = None) -> httpx.Client:
        """An HTTP client of the Placement API as the admin, at `microversion` (the
        server's ceiling by default)."""
        return httpx.Client(base_url=self.url, timeout=30, headers={
            "x-auth-token": self.admin_token,
            "openstack-api-version": f"placement {microversion or self.microversion}"})

    def provider(self, *, inventory: dict | None = None, parent: str | None = None,
                 name: str | None = None) -> str:
        """Create a provider (under `parent`, with `inventory`: `{"VCPU": {"total": 8}}`)
        through the API; its uuid."""
        rp = str(uuid.uuid4())
        body = {"uuid": rp, "name": name or f"provider-{rp}"}
        if parent is not None:
            body["parent_provider_uuid"] = parent
        with self.client() as client:
            client.post("/resource_providers", json=body).raise_for_status()
            if inventory:
                client.put(f"/resource_providers/{rp}/inventories", json={
                    "resource_provider_generation": 0, "inventories": inventory}
                ).raise_for_status()
        return rp

    def reset(self) -> None:
        """Delete everything but the standard classes and traits; empty the journal; bring
        back the faults of the start."""
        self._control.post("/reset").raise_for_status()

    def journal(self, method: str | None = None, path: str | None = None,
                limit: int | None = None) -> list[dict]:
        """The requests received and their answers, oldest first (spec/control.yaml,
        `JournalEntry`); `path` is a shell-style pattern."""
        query = {key: value for key, value in
                 (("method", method), ("path", path), ("limit", limit)) if value is not None}
        response = self._control.get("/journal", params=query)
        response.raise_for_status()
        return response.json()["entries"]

    def inject(self, **rule) -> dict:
        """Add a fault (spec/control.yaml, `FaultRule`): `inject(method="PUT",
        path="/allocations/*", status=409, code="placement.concurrent_update", times=1)`."""
        response = self._control.post("/faults", json=rule)
        response.raise_for_status()
        return response.json()

    def set_faults(self, rules: list[dict], seed: int = 0) -> dict:
        """Replace every fault, and the seed of their chances."""
        response = self._control.put("/faults", json={"seed": seed, "faults": rules})
        response.raise_for_status()
        return response.json()

    def faults(self) -> list[dict]:
        response = self._control.get("/faults")
        response.raise_for_status()
        return response.json()["faults"]

    def clear_faults(self) -> None:
        self._control.delete("/faults").raise_for_status()
