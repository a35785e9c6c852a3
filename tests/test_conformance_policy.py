"""The policy feature: run only when asked, for one role, it passes against upstream with
the secure defaults and against the reference server with `--policy secure`, as every
role; and a run that does not name it never takes it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from a2wsgi import ASGIMiddleware

from conformance.cli import main
from conformance.exits import UsageError
from conformance.features import feature_names
from conformance.report import Outcome, RunResult
from conformance.roles import ROLES, RoleChoice
from conformance.runner import Deployment, RunOptions, run_suite
from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.peer import PeerPolicy, running_peer

POLICY = frozenset({"policy"})


def outcomes(run: RunResult) -> dict[str, str]:
    return {result.name: f"{result.outcome.name} {result.message}"[:300]
            for result in run.results if result.outcome is not Outcome.PASSED}


@pytest.fixture(scope="module")
def secure_reference(tmp_path_factory) -> Deployment:
    folder = tmp_path_factory.mktemp("secure-reference")
    app = create_app(Settings(db_url=f"sqlite:///{folder / 'placement.db'}", policy="secure"))
    return Deployment.in_process(ASGIMiddleware(app))


@pytest.fixture(scope="module")
def secure_peer(peer_venv, tmp_path_factory):
    folder = tmp_path_factory.mktemp("secure-peer")
    with running_peer(peer_venv, folder, policy=PeerPolicy(enforce_new_defaults=True)) as peer:
        yield peer.url


@pytest.mark.parametrize("role", ROLES)
def test_the_reference_server_passes_as_each_role(secure_reference, role) -> None:
    run = run_suite(secure_reference, RunOptions(only=POLICY, role=RoleChoice(role)))
    assert run.results and outcomes(run) == {}


@pytest.mark.parametrize("role", ROLES)
def test_upstream_passes_as_each_role(secure_peer, role, capsys) -> None:
    code = main(["run", "--url", secure_peer, "--token", "admin", "--only", "policy",
                 "--as-role", role])
    assert code == 0, capsys.readouterr().out
    assert re.search(r"(\d+) tests: \1 passed", capsys.readouterr().out)


def test_a_server_that_lets_a_role_do_more_fails(tmp_path: Path) -> None:
    """The feature expects the secure defaults: a server that lets a role do more fails."""
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'db'}", policy="secure",
                              policy_file=str(_open_policy_file(tmp_path))))
    run = run_suite(Deployment.in_process(ASGIMiddleware(app)),
                    RunOptions(only=POLICY, role=RoleChoice("none")))
    assert set(outcomes(run)) == {"list resource classes"}


def _open_policy_file(folder: Path) -> Path:
    rules = folder / "policy.yaml"
    rules.write_text('"placement:resource_classes:list": "@"\n')
    return rules


def test_a_plain_run_never_takes_the_policy_feature(secure_reference) -> None:
    others = frozenset(feature_names()) - {"auth"}
    run = run_suite(secure_reference, RunOptions(exclude=others))
    assert {result.feature for result in run.results} == {"auth"}
    assert "policy" not in feature_names()


def test_the_policy_feature_needs_a_role_and_a_role_needs_it(secure_reference) -> None:
    with pytest.raises(UsageError, match="--as-role"):
        run_suite(secure_reference, RunOptions(only=POLICY))
    with pytest.raises(UsageError, match="--only policy"):
        run_suite(secure_reference, RunOptions(only=frozenset({"auth"}),
                                               role=RoleChoice("reader")))


def test_a_role_token_needs_its_project() -> None:
    with pytest.raises(UsageError, match="--role-project"):
        RoleChoice("reader", token="secret")
    with pytest.raises(UsageError, match="no role named"):
        RoleChoice("superuser")


def test_a_given_token_and_project_are_sent_as_they_are() -> None:
    variables = RoleChoice("member", token="t0ken", project="p1").environment("run1")
    assert (variables["CONFORMANCE_ROLE_TOKEN"], variables["CONFORMANCE_ROLE_PROJECT"],
            variables["CONFORMANCE_ROLE_ROLES"]) == ("t0ken", "p1", "member,reader")
