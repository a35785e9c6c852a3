"""A small Keystone: the identity v3 API's version discovery and password authentication,
with a service catalog, enough for keystoneauth1 to get a token and find an endpoint.

It knows one user, in one project, and issues one token; it records each authentication
it was asked for, so that a test can see what the client sent.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

EXPIRES = "2099-01-01T00:00:00.000000Z"
ISSUED = "2026-01-01T00:00:00.000000Z"


@dataclass
class Identity:
    """Who may authenticate, the token they get, and the catalog's Placement endpoints by
    interface (public, internal, admin)."""

    user: str
    password: str
    project: str
    domain: str
    token: str
    placement: dict[str, str]
    # The bodies of the POST /v3/auth/tokens requests, in order.
    authentications: list[dict] = field(default_factory=list)


def _version(base: str) -> dict:
    return {"id": "v3.14", "status": "stable", "updated": ISSUED,
            "links": [{"rel": "self", "href": f"{base}/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


class _Handler(BaseHTTPRequestHandler):
    server: _KeystoneServer

    def log_message(self, format: str, *args) -> None:
        """Quiet: the test reads what it needs from `Identity`."""

    def do_GET(self) -> None:
        base = f"http://{self.headers['Host']}"
        if self.path.rstrip("/") == "/v3":
            return self._send(200, {"version": _version(base)})
        if self.path == "/":
            return self._send(300, {"versions": {"values": [_version(base)]}})
        self._send(404, {"error": {"code": 404, "title": "Not Found", "message": self.path}})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v3/auth/tokens":
            return self._send(404, {"error": {"code": 404, "title": "Not Found",
                                              "message": self.path}})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        identity = self.server.identity
        identity.authentications.append(body)
        auth = body["auth"]
        user = auth["identity"].get("password", {}).get("user", {})
        project = auth.get("scope", {}).get("project", {})
        if (auth["identity"]["methods"] != ["password"]
                or (user.get("name"), user.get("password")) != (identity.user, identity.password)
                or user.get("domain", {}).get("name") != identity.domain
                or project.get("name") != identity.project):
            return self._send(401, {"error": {"code": 401, "title": "Unauthorized",
                                              "message": "The request you have made requires "
                                                         "authentication."}})
        self._send(201, {"token": self._token(identity)},
                   {"X-Subject-Token": identity.token})

    @staticmethod
    def _token(identity: Identity) -> dict:
        domain = {"id": "default", "name": identity.domain}
        return {
            "methods": ["password"], "expires_at": EXPIRES, "issued_at": ISSUED,
            "user": {"id": "u-1", "name": identity.user, "domain": domain},
            "project": {"id": "p-1", "name": identity.project, "domain": domain},
            "roles": [{"id": "r-1", "name": "admin"}],
            "catalog": [{
                "id": "s-1", "type": "placement", "name": "placement",
                "endpoints": [{"id": f"e-{interface}", "interface": interface,
                               "region": "RegionOne", "region_id": "RegionOne", "url": url}
                              for interface, url in identity.placement.items()],
            }],
        }

    def _send(self, status: int, document: dict, headers: dict | None = None) -> None:
        content = json.dumps(document).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


class _KeystoneServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, identity: Identity):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.identity = identity


@contextlib.contextmanager
def keystone(identity: Identity) -> Iterator[str]:
    """Serve a Keystone that knows `identity`; yield its auth URL (ending in /v3)."""
    server = _KeystoneServer(identity)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
