"""Policies and CORS, compared with upstream Placement 16.0.0 configured the same way.

For every operation of the spec and every kind of caller upstream's defaults tell apart,
the reference server must refuse with 403 exactly where the peer does: with the legacy
defaults (the peer as its test fixtures run), with the secure-RBAC defaults
(`enforce_new_defaults = True`), and with a policy file that overrides rules. With a CORS
origin, its preflight and simple answers must carry the peer's CORS headers.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from placement_spec import facts

from reference_impl.config import Settings
from tests.peer import PeerPolicy, running_peer
from tests.server_process import running_server

ORIGIN = "http://dashboard.example"
# Overrides a deployment might make: one rule opened to anyone with a token, one given
# to a role of its own.
POLICY_FILE = ('"placement:resource_providers:list": "@"\n'
               '"placement:traits:list": "role:foo"\n')
# The project the callers below belong to, and the one `GET /usages` asks about.
PROJECT = "p1"


@dataclass(frozen=True)
class Caller:
    """A kind of caller, as the headers noauth2 reads."""

    name: str
    headers: dict


CALLERS = (
    Caller("admin", {"x-auth-token": "admin"}),
    Caller("admin-role", {"x-auth-token": f"alice:{PROJECT}", "x-roles": "admin"}),
    Caller("service", {"x-auth-token": f"nova:{PROJECT}", "x-roles": "service"}),
    # Keystone hands a token its implied roles too: a member is also a reader.
    Caller("member-own-project", {"x-auth-token": f"bob:{PROJECT}", "x-roles": "member,reader"}),
    Caller("member-other-project", {"x-auth-token": "bob:p2", "x-roles": "member,reader"}),
    Caller("reader-own-project", {"x-auth-token": f"carol:{PROJECT}", "x-roles": "reader"}),
    Caller("reader-other-project", {"x-auth-token": "carol:p2", "x-roles": "reader"}),
    Caller("reader-named-project", {"x-auth-token": "carol:p2", "x-roles": "reader",
                                    "x-project-id": PROJECT}),
    Caller("no-roles", {"x-auth-token": "dave"}),
    Caller("empty-roles", {"x-auth-token": "dave", "x-roles": ""}),
    Caller("role-foo", {"x-auth-token": f"erin:{PROJECT}", "x-roles": "foo"}),
    Caller("system-reader", {"x-auth-token": "sys", "x-roles": "reader",
                             "openstack-system-scope": "all"}),
    Caller("system-admin", {"x-auth-token": "admin", "openstack-system-scope": "all"}),
    Caller("domain-admin", {"x-auth-token": "admin", "x-domain-id": "default"}),
)


@dataclass(frozen=True)
class Configuration:
    name: str
    peer: PeerPolicy
    reference: tuple[str, ...]
    policy_file: bool = False


CONFIGURATIONS = (
    Configuration("legacy", PeerPolicy(), ()),
    Configuration("secure", PeerPolicy(enforce_new_defaults=True), ("--policy", "secure")),
    Configuration("legacy-file-cors", PeerPolicy(cors_origin=ORIGIN),
                  ("--cors-origin", ORIGIN), policy_file=True),
)


@dataclass
class Pair:
    peer: str
    reference: str


@pytest.fixture(scope="module", params=CONFIGURATIONS, ids=[c.name for c in CONFIGURATIONS])
def pair(request, peer_venv, tmp_path_factory):
    configuration: Configuration = request.param
    folder = tmp_path_factory.mktemp(configuration.name)
    peer_policy, extra = configuration.peer, configuration.reference
    if configuration.policy_file:
        rules = folder / "policy.yaml"
        rules.write_text(POLICY_FILE)
        peer_policy = PeerPolicy(peer_policy.enforce_new_defaults, rules,
                                 peer_policy.cors_origin)
        extra = (*extra, "--policy-file", str(rules))
    with running_peer(peer_venv, folder / "upstream", policy=peer_policy) as peer, \
            running_server(f"sqlite:///{folder / 'reference.db'}", extra=extra) as reference:
        yield configuration, Pair(peer.url, reference.url)


def _request_line(operation: str) -> tuple[str, str]:
    """A request for the operation on things that need not exist: upstream checks the
    policy before it looks anything up."""
    method, template = operation.split(" ", 1)
    path = (template.replace("{uuid}", str(uuid.uuid4()))
            .replace("{consumer_uuid}", str(uuid.uuid4()))
            .replace("{resource_class}", "VCPU")
            .replace("{name}", "CUSTOM_POLICY_PROBE"))
    if template == "/usages":
        path += f"?project_id={PROJECT}"
    return method, path


def _send(url: str, method: str, path: str, caller: Caller) -> httpx.Response:
    headers = {**caller.headers, "openstack-api-version": "placement latest"}
    if method in ("PUT", "POST"):
        # Past the content-type check, which comes before the policy.
        headers["content-type"] = "application/json"
        return httpx.request(method, url + path, headers=headers, content=b"{}")
    return httpx.request(method, url + path, headers=headers)


def test_refuses_exactly_where_upstream_does(pair) -> None:
    _, servers = pair
    differences, outcomes = [], set()
    for operation in sorted(facts.operation_policies()):
        method, path = _request_line(operation)
        for caller in CALLERS:
            upstream = _send(servers.peer, method, path, caller)
            ours = _send(servers.reference, method, path, caller)
            refused = upstream.status_code == 403
            outcomes.add(refused)
            if refused != (ours.status_code == 403):
                differences.append(f"{operation} as {caller.name}: upstream "
                                   f"{upstream.status_code}, reference {ours.status_code}")
            elif refused and ours.json()["errors"][0]["detail"] != \
                    upstream.json()["errors"][0]["detail"]:
                differences.append(f"{operation} as {caller.name}: {ours.text}")
    assert not differences, "\n".join(differences)
    # Both answers occur, so the comparison could have failed either way.
    assert outcomes == {True, False}


CORS_PROBES = (
    ("OPTIONS", "/resource_providers", {"origin": ORIGIN, "access-control-request-method": "GET"}),
    ("OPTIONS", "/resource_providers", {"origin": ORIGIN, "access-control-request-method": "PUT",
                                        "access-control-request-headers":
                                            "openstack-api-version, x-auth-token"}),
    ("OPTIONS", "/resource_providers", {"origin": ORIGIN, "access-control-request-method": "GET",
                                        "access-control-request-headers": "x-unknown"}),
    ("OPTIONS", "/resource_providers", {"origin": ORIGIN, "access-control-request-method": "HEAD"}),
    ("OPTIONS", "/resource_providers", {"origin": ORIGIN}),
    ("OPTIONS", "/resource_providers", {"origin": "http://elsewhere.example",
                                        "access-control-request-method": "GET"}),
    ("OPTIONS", "/", {"origin": ORIGIN, "access-control-request-method": "GET",
                      "x-auth-token": "admin"}),
    ("GET", "/resource_providers", {"origin": ORIGIN, "x-auth-token": "admin"}),
    ("GET", "/resource_providers", {"origin": ORIGIN}),
    ("GET", "/", {"origin": ORIGIN}),
    ("GET", "/traits", {"origin": ORIGIN, "x-auth-token": "dave",
                        "openstack-api-version": "placement 1.6"}),
    ("GET", "/resource_providers", {"origin": "http://elsewhere.example", "x-auth-token": "admin"}),
)
# What CORS adds or changes; the rest of each answer is compared elsewhere.
CORS_HEADERS = ("vary", "access-control-allow-origin", "access-control-allow-credentials",
                "access-control-max-age", "access-control-allow-methods",
                "access-control-allow-headers", "access-control-expose-headers",
                "content-length")


CORS_CONFIGURATIONS = [c for c in CONFIGURATIONS if c.peer.cors_origin is not None]


@pytest.mark.parametrize("pair", CORS_CONFIGURATIONS, indirect=True,
                         ids=[c.name for c in CORS_CONFIGURATIONS])
@pytest.mark.parametrize("method, path, headers", CORS_PROBES,
                         ids=[f"{m}-{p}-{i}" for i, (m, p, _) in enumerate(CORS_PROBES)])
def test_cors_as_upstream(pair, method, path, headers) -> None:
    _, servers = pair
    upstream = httpx.request(method, servers.peer + path, headers=headers)
    ours = httpx.request(method, servers.reference + path, headers=headers)
    assert ours.status_code == upstream.status_code
    for header in CORS_HEADERS:
        assert ours.headers.get(header) == upstream.headers.get(header), header
    assert "x-openstack-request-id" in ours.headers


def test_without_an_origin_there_is_no_cors(pair) -> None:
    configuration, servers = pair
    headers = {"origin": ORIGIN, "x-auth-token": "admin"}
    for url in (servers.peer, servers.reference):
        answer = httpx.get(url + "/resource_providers", headers=headers)
        assert ("access-control-allow-origin" in answer.headers) == (
            configuration.peer.cors_origin is not None)


# ------------------------------------------------------------------ the options

def test_each_option_has_its_environment_variable(monkeypatch) -> None:
    monkeypatch.setenv("PLACEMENT_REF_POLICY", "secure")
    monkeypatch.setenv("PLACEMENT_REF_POLICY_FILE", "/etc/placement/policy.yaml")
    monkeypatch.setenv("PLACEMENT_REF_CORS_ORIGIN", ORIGIN)
    settings = Settings.from_environment()
    assert (settings.policy, settings.policy_file, settings.cors_origin) == (
        "secure", "/etc/placement/policy.yaml", ORIGIN)
    assert Settings().policy == "legacy"


def test_an_unknown_policy_mode_is_a_usage_error() -> None:
    run = subprocess.run([sys.executable, "-m", "reference_impl.cli", "serve", "--policy",
                          "lenient"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "invalid choice: 'lenient'" in run.stderr


def test_options_reach_the_server(tmp_path: Path) -> None:
    """`--policy secure`, `--policy-file` and `--cors-origin` on the command line change
    what a running server answers; `--token` still names the admin."""
    rules = tmp_path / "policy.yaml"
    rules.write_text('"placement:resource_classes:list": "role:foo"\n')
    with running_server(f"sqlite:///{tmp_path / 'db'}", token="s3cret",
                        extra=("--policy", "secure", "--policy-file", str(rules),
                               "--cors-origin", ORIGIN)) as server:
        def status(path: str, **headers) -> int:
            return httpx.get(server.url + path, headers={
                "openstack-api-version": "placement latest", **headers}).status_code
        assert status("/resource_providers", **{"x-auth-token": "s3cret"}) == 200
        assert status("/resource_providers", **{"x-auth-token": "admin"}) == 403
        assert status("/usages?project_id=p1", **{"x-auth-token": "u:p1",
                                                  "x-roles": "reader"}) == 200
        assert status("/resource_classes", **{"x-auth-token": "s3cret"}) == 403
        assert status("/resource_classes", **{"x-auth-token": "u", "x-roles": "foo"}) == 200
        preflight = httpx.options(server.url + "/", headers={
            "origin": ORIGIN, "access-control-request-method": "GET"})
        assert preflight.headers["access-control-allow-origin"] == ORIGIN


def test_a_broken_policy_file_stops_the_start(tmp_path: Path) -> None:
    rules = tmp_path / "policy.yaml"
    rules.write_text('"placement:resource_classes:list": [unclosed\n')
    with pytest.raises(RuntimeError):
        with running_server(f"sqlite:///{tmp_path / 'db'}",
                            extra=("--policy-file", str(rules)), startup_timeout=30):
            pass
