"""`placement-conformance run`, against a live reference server and in-process.

The command is what a deployment's CI runs, so it is checked from the outside: exit codes,
the summary, the JUnit and JSON reports, the choice of features and microversions, and
that a run leaves the deployment as it found it (other people's data included), when it
passes, when a test fails and when it is stopped midway.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml
from a2wsgi import ASGIMiddleware

from conformance import cleanup, fixtures
from conformance.cli import main
from conformance.deviations import KnownDeviations, load
from conformance.features import gabbits_folder
from conformance.report import Outcome, write_junit
from conformance.runner import Deployment, RunOptions, run_suite
from reference_impl.app import create_app
from reference_impl.config import Settings
from tests.peer import running_peer
from tests.server_process import ServerProcess, running_server
from tests.test_broken_servers import merge_on_put

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM_DEVIATIONS = ROOT / "conformance" / "known-deviations" / "upstream-16.0.0.yaml"
ADMIN = {"x-auth-token": "admin", "openstack-api-version": "placement latest"}


def scenario_count(feature: str | None = None) -> int:
    """How many tests the feature files hold (one feature, or all)."""
    paths = gabbits_folder().glob(f"{feature or '*'}.yaml")
    return sum(len(yaml.safe_load(path.read_text())["tests"]) for path in paths)


def feature_names() -> set[str]:
    return {path.stem for path in gabbits_folder().glob("*.yaml")}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    database = tmp_path_factory.mktemp("conformance-run") / "placement.db"
    with running_server(f"sqlite:///{database}") as server:
        yield server


@pytest.fixture
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=ADMIN) as client:
        yield client


def run_command(server: ServerProcess, *options: str) -> int:
    return main(["run", "--url", server.url, "--token", "admin", *options])


def report(path: Path) -> dict:
    return json.loads(path.read_text())


def outcomes(document: dict) -> dict[str, set[str]]:
    """{feature: the outcomes of its tests} from a JSON report."""
    found: dict[str, set[str]] = {}
    for result in document["results"]:
        found.setdefault(result["feature"], set()).add(result["outcome"])
    return found


def test_a_passing_run_exits_0_and_reports(server, tmp_path, capsys) -> None:
    junit, json_report = tmp_path / "run.xml", tmp_path / "run.json"
    assert run_command(server, "--junit", str(junit), "--json", str(json_report)) == 0
    total = scenario_count()
    printed = capsys.readouterr()
    assert f"{total} tests: {total} passed, 0 failed, 0 skipped" in printed.out
    assert printed.out.splitlines()[2].split()[:3] == ["feature", "1.0", "1.1"]  # the table
    assert len([line for line in printed.err.splitlines() if line.startswith("[")]) == total

    suites = ElementTree.parse(junit).getroot()
    assert (suites.get("tests"), suites.get("failures")) == (str(total), "0")
    assert len(suites.findall("testsuite/testcase")) == total
    assert {suite.get("name") for suite in suites} == feature_names()

    document = report(json_report)
    assert document["counts"] == {"passed": total, "failed": 0, "skipped": 0, "known deviation": 0,
                                  "not reached": 0}
    assert len(document["results"]) == total
    capacity = next(result for result in document["results"] if result["feature"] == "capacity")
    assert capacity["microversion"] == "1.23"


def test_only_and_exclude_choose_features(server, tmp_path) -> None:
    only, exclude = tmp_path / "only.json", tmp_path / "exclude.json"
    assert run_command(server, "--only", "capacity,errors", "--json", str(only)) == 0
    assert run_command(server, "--exclude", "capacity", "--json", str(exclude)) == 0
    assert set(outcomes(report(only))) == {"capacity", "errors"}
    assert len(report(only)["results"]) == scenario_count("capacity") + scenario_count("errors")
    assert "capacity" not in outcomes(report(exclude))
    assert len(report(exclude)["results"]) == scenario_count() - scenario_count("capacity")


def test_microversions_not_chosen_are_skipped_not_failed(server, tmp_path) -> None:
    path = tmp_path / "old.json"
    assert run_command(server, "--microversions", "1.0-1.11", "--json", str(path)) == 0
    document = report(path)
    assert document["counts"]["failed"] == 0
    features = outcomes(document)
    assert features["capacity"] == {"skipped"}  # 1.23 only
    assert features["consumer-generations"] == {"skipped"}  # 1.28 only
    assert features["put-schema-list"] == {"passed"}  # 1.0 to 1.11
    assert {result["outcome"] for result in document["results"]
            if result["microversion"] in ("1.12", "1.28")} == {"skipped"}


@pytest.mark.parametrize(("options", "reason"), [
    (["--url", "http://127.0.0.1:9"], "cannot reach http://127.0.0.1:9"),
    (["--microversions", "1.x"], "--microversions: invalid version string: 1.x"),
    (["--only", "no-such-feature"], "no feature named no-such-feature"),
], ids=["unreachable URL", "bad --microversions", "unknown feature"])
def test_a_usage_or_connection_error_exits_2_with_one_line(server, capsys, options, reason) -> None:
    assert run_command(server, *options) == 2  # a second --url wins over the server's
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("placement-conformance: ") and reason in line


def test_a_malformed_known_deviations_file_exits_2(server, tmp_path, capsys) -> None:
    deviations = tmp_path / "deviations.yaml"
    deviations.write_text("- feature: capacity\n  test: no such test\n  reason: typo\n")
    assert run_command(server, "--known-deviations", str(deviations)) == 2
    assert capsys.readouterr().err == ("placement-conformance: known deviation names nothing "
                                       "the suite has: capacity: 'no such test'\n")


def test_two_runs_at_once_both_pass(server) -> None:
    runs = [command_process(server) for _ in range(2)]
    for process in runs:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, out + err


def command_process(server: ServerProcess) -> subprocess.Popen:
    """The command in a process of its own, as CI would start it."""
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "run", "--url", server.url, "--token", "admin"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


@pytest.fixture
def bystanders(client: httpx.Client) -> dict:
    """Data that is not the run's, and must survive it: a provider with an allocation, a
    custom class, and a provider and class named like those of another run."""
    provider, consumer = str(uuid.uuid4()), str(uuid.uuid4())
    for name, rp in ((f"bystander-{provider}", provider),
                     ("conformance-0other00-capacity-rp1", str(uuid.uuid4()))):
        client.post("/resource_providers", json={"uuid": rp, "name": name}).raise_for_status()
    client.put(f"/resource_providers/{provider}/inventories", json={
        "resource_provider_generation": 0, "inventories": {"VCPU": {"total": 4}},
    }).raise_for_status()
    client.put(f"/allocations/{consumer}", json={
        "allocations": {provider: {"resources": {"VCPU": 1}}}, "project_id": "p", "user_id": "u",
        "consumer_generation": None, "consumer_type": "INSTANCE"}).raise_for_status()
    for name in ("CUSTOM_BYSTANDER", "CUSTOM_CONFORMANCE_0OTHER00_CAPACITY"):
        client.put(f"/resource_classes/{name}").raise_for_status()
    return {"consumer": consumer, "allocations": client.get(f"/allocations/{consumer}").json()}


def state(client: httpx.Client) -> tuple[list, list]:
    """Every provider (with its generation) and every resource class."""
    providers = client.get("/resource_providers").json()["resource_providers"]
    classes = client.get("/resource_classes").json()["resource_classes"]
    return (sorted((rp["uuid"], rp["name"], rp["generation"]) for rp in providers),
            sorted(resource_class["name"] for resource_class in classes))


def assert_left_as_found(client: httpx.Client, before: tuple[list, list],
                         consumers: list[str]) -> None:
    assert state(client) == before
    for consumer in consumers:
        assert client.get(f"/allocations/{consumer}").json() == {"allocations": {}}


def test_a_run_leaves_no_data_behind_and_touches_nothing_else(server, client, bystanders,
                                                               tmp_path) -> None:
    before = state(client)
    path = tmp_path / "run.json"
    assert run_command(server, "--json", str(path)) == 0
    consumers = report(path)["consumers"]
    assert len(consumers) == fixtures.CONSUMER_COUNT * len(feature_names())
    assert_left_as_found(client, before, consumers)
    held = client.get(f"/allocations/{bystanders['consumer']}").json()
    assert held == bystanders["allocations"]


def test_keep_leaves_the_data_and_the_sweep_removes_it(server, client, tmp_path) -> None:
    before = state(client)
    path = tmp_path / "kept.json"
    assert run_command(server, "--only", "capacity", "--keep", "--json", str(path)) == 0
    run_id = report(path)["run_id"]
    providers, classes = state(client)
    assert any(name.startswith(f"conformance-{run_id}-capacity-") for _, name, _ in providers)
    assert f"CUSTOM_CONFORMANCE_{run_id.upper()}_CAPACITY" in classes

    assert cleanup.remove_run_data(client, run_id) == []
    assert_left_as_found(client, before, report(path)["consumers"])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_stops_the_run_and_removes_its_data(server, client, signum) -> None:
    before = state(client)
    process = command_process(server)
    for _ in range(40):  # well into the first feature, with data made
        assert process.stderr.readline().startswith("[")
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1
    assert "interrupted: the tests after these did not run" in out
    assert err.splitlines()[-1] == "placement-conformance: interrupted"
    assert state(client) == before


@pytest.fixture
def in_process(tmp_path: Path) -> Deployment:
    app = create_app(Settings(db_url=f"sqlite:///{tmp_path / 'placement.db'}"))
    return Deployment.in_process(ASGIMiddleware(app))


def test_a_failing_run_still_removes_its_data(in_process, monkeypatch, tmp_path) -> None:
    merge_on_put(monkeypatch)
    with in_process.client() as client:
        before = state(client)
        run = run_suite(in_process)
        assert run.failed
        assert_left_as_found(client, before, list(run.consumers))

    junit = tmp_path / "failed.xml"
    write_junit(run, junit)
    suites = ElementTree.parse(junit).getroot()
    assert suites.get("failures") == str(run.count(Outcome.FAILED))
    assert len(suites.findall("testsuite/testcase/failure")) == run.count(Outcome.FAILED)


def test_known_deviations_do_not_fail_the_run(in_process, monkeypatch, tmp_path) -> None:
    merge_on_put(monkeypatch)
    first = run_suite(in_process)
    failed = [result for result in first.results if result.outcome is Outcome.FAILED]
    deviations = tmp_path / "deviations.yaml"
    deviations.write_text(yaml.safe_dump([
        {"feature": result.feature, "test": result.name, "reason": "this server merges"}
        for result in failed]))

    second = run_suite(in_process, RunOptions(deviations=load(deviations)))
    assert not second.failed
    assert second.count(Outcome.KNOWN_DEVIATION) == len(failed)


def test_the_shipped_upstream_deviations_file_is_an_empty_list() -> None:
    assert load(UPSTREAM_DEVIATIONS) == KnownDeviations()


def test_upstream_placement_passes_with_no_failure(peer_venv, tmp_path) -> None:
    path = tmp_path / "upstream.json"
    with running_peer(peer_venv, tmp_path / "peer") as peer:
        code = main(["run", "--url", peer.url, "--token", "admin", "--json", str(path),
                     "--known-deviations", str(UPSTREAM_DEVIATIONS)])
    document = report(path)
    assert code == 0, [result for result in document["results"] if result["outcome"] == "failed"]
    assert document["counts"]["failed"] == document["counts"]["known deviation"] == 0
    assert document["counts"]["passed"] == scenario_count()
