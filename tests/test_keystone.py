"""Without a token, the harness authenticates through Keystone with the `OS_*` variables
(keystoneauth1), and finds Placement in the service catalog when no URL is given.

Keystone is `tests.fake_keystone`, which speaks the identity v3 API: version discovery,
password authentication scoped to a project, a catalog with a Placement endpoint per
interface. The reference server's admin token is the one Keystone issues, so a run
that passes sent that token; the catalog's internal endpoint leads nowhere, so a run
that reaches Placement used the interface it was asked for.
"""

from __future__ import annotations

import uuid

import pytest

from conformance.cli import main
from conformance.exits import EXIT_FAILED, EXIT_PASSED, EXIT_USAGE
from tests.fake_keystone import Identity, keystone
from tests.server_process import running_server

# Nothing listens on the discard port: the endpoint a run must not take.
NOWHERE = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def token() -> str:
    return uuid.uuid4().hex


@pytest.fixture(scope="module")
def placement(token: str, tmp_path_factory) -> str:
    database = tmp_path_factory.mktemp("keystone") / "placement.db"
    with running_server(f"sqlite:///{database}", token=token) as server:
        yield server.url


@pytest.fixture
def identity(token: str, placement: str) -> Identity:
    return Identity(user="operator", password="secret", project="admin", domain="Default",
                    token=token, placement={"public": placement, "internal": NOWHERE})


@pytest.fixture
def os_environment(identity: Identity, monkeypatch):
    """The variables an openrc file sets, for a Keystone that knows `identity`."""
    for variable in ("PLACEMENT_URL", "PLACEMENT_TOKEN", "OS_INTERFACE", "OS_AUTH_TYPE",
                     "OS_CACERT"):
        monkeypatch.delenv(variable, raising=False)
    with keystone(identity) as auth_url:
        for name, value in {"OS_AUTH_URL": auth_url, "OS_USERNAME": identity.user,
                            "OS_PASSWORD": identity.password,
                            "OS_PROJECT_NAME": identity.project,
                            "OS_USER_DOMAIN_NAME": identity.domain,
                            "OS_PROJECT_DOMAIN_NAME": identity.domain}.items():
            monkeypatch.setenv(name, value)
        yield


def _run(capsys, *arguments: str) -> tuple[int, str, str]:
    code = main(["run", "--only", "headers", *arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_token_and_the_endpoint_come_from_keystone(os_environment, identity, placement,
                                                       capsys):
    code, out, err = _run(capsys)
    assert code == EXIT_PASSED, out + err
    assert f"against {placement} " in out and "0 failed" in out
    assert len(identity.authentications) == 1
    sent = identity.authentications[0]["auth"]
    assert sent["identity"]["password"]["user"]["name"] == "operator"
    assert sent["scope"]["project"] == {"name": "admin", "domain": {"name": "Default"}}


def test_a_url_given_is_used_with_the_keystone_token(os_environment, identity, placement,
                                                     monkeypatch, capsys):
    """--url wins over the catalog (here pointed nowhere); the token is still Keystone's."""
    identity.placement = {"public": NOWHERE}
    code, out, err = _run(capsys, "--url", placement)
    assert code == EXIT_PASSED, out + err
    assert len(identity.authentications) == 1


def test_os_interface_picks_the_catalog_endpoint(os_environment, monkeypatch, capsys):
    monkeypatch.setenv("OS_INTERFACE", "internal")
    code, _, err = _run(capsys)
    assert code == EXIT_USAGE
    assert f"placement-conformance: cannot reach {NOWHERE}" in err


def test_a_wrong_password_is_a_one_line_usage_error(os_environment, monkeypatch, capsys):
    monkeypatch.setenv("OS_PASSWORD", "wrong")
    code, out, err = _run(capsys)
    assert code == EXIT_USAGE and out == ""
    assert err.startswith("placement-conformance: Keystone authentication failed: ")
    assert len(err.strip().splitlines()) == 1


def test_a_token_that_keystone_did_not_issue_is_refused(identity, placement, monkeypatch,
                                                        capsys):
    """The control: the reference server refuses any other token, so the runs above
    passed because they sent Keystone's."""
    monkeypatch.delenv("PLACEMENT_TOKEN", raising=False)
    code, out, _ = _run(capsys, "--url", placement, "--token", "not-" + identity.token)
    assert code == EXIT_FAILED
    assert "17 tests: 0 passed, 17 failed" in out
    assert out.count("AssertionError: '403' not found in") == 15
