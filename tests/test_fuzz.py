"""The fuzzer (`placement-conformance fuzz`): it passes where Placement behaves, it gets past
setup to real allocations, and each of its checks catches the breakage it is there for.

The reference server runs as a process, upstream Placement 16.0.0 (when
`PLACEMENT_PEER_VENV` names its virtualenv) under gunicorn; both must give no failures at
the issue's microversions. Broken variants of the reference server are made by replacing
one of its functions for the test's duration (the product has no switches for this) and
serving it from this process, and the fuzzer must say which check each one breaks.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import shlex
import signal
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml

import placement_spec
import conformance
from conformance import cli, exits
from conformance.fuzz_checks import known_deviations
from conformance.fuzz_data import RunNames
from conformance.fuzz_engine import FuzzOptions, fuzz
from conformance.fuzz_report import Finding, FuzzReport
from conformance.target import Target
from placement_spec import MAXIMUM, MINIMUM, Microversion
from reference_impl.handlers import resource_providers
from reference_impl.storage import providers
from tests.breakages import errors_in_another_shape, merge_on_put
from tests.peer import running_peer
from tests.server_process import running_server
from tests.server_thread import RequestLog, serving_in_thread

VERSIONS = [Microversion.parse(v) for v in ("1.0", "1.12", "1.28", "1.38", "1.39")]
UPSTREAM_DEVIATIONS = (Path(conformance.__file__).parent / "known-deviations"
                       / "upstream-16.0.0-fuzz.yaml")
# Enough for every check to meet what it checks; a fixed seed keeps the runs repeatable.
OPTIONS = FuzzOptions(max_examples=6, seed=20261127, stateful=True)
TOKEN = "admin"


def target(url: str) -> Target:
    return Target(url=url, token=TOKEN, minimum=MINIMUM, maximum=MAXIMUM)


@dataclass(frozen=True)
class Run:
    """A fuzz run's report, and what it printed (failures with their curl commands)."""

    report: FuzzReport
    output: str

    @property
    def findings(self) -> list[Finding]:
        return [finding for result in self.report.results for finding in result.findings]


def run(at: Target, versions: list[Microversion], options: FuzzOptions = OPTIONS) -> Run:
    output = io.StringIO()
    report = fuzz(at, versions, options, out=output)
    return Run(report, output.getvalue())


# ------------------------------------------------------------- known server bugs

def _overflowing_capacity(finding: Finding) -> bool:
    """Upstream answers 500 ("cannot convert float infinity to integer"), without
    microversion headers, to an inventory whose `(total - reserved) * allocation_ratio`
    overflows a float (e.g. allocation_ratio -1e308 with reserved > total: the schema sets
    no minimum). The reference server answers 400."""
    body = _sent_body(finding.reproduce[-1])
    if not isinstance(body, dict):
        return False
    inventories = body.get("inventories")
    records = list(inventories.values()) if isinstance(inventories, dict) else [body]
    return any(isinstance(record, dict) and _capacity_overflows(record) for record in records)


def _capacity_overflows(record: dict) -> bool:
    try:
        return math.isinf((record["total"] - record.get("reserved", 0))
                          * record.get("allocation_ratio", 1.0))
    except (KeyError, TypeError):
        return False


def _sent_body(curl: str) -> object:
    arguments = shlex.split(curl)
    if "-d" not in arguments:
        return None
    try:
        return json.loads(arguments[arguments.index("-d") + 1])
    except ValueError:
        return None


@dataclass(frozen=True)
class KnownBugs:
    """A server's bugs that the fuzzer finds: reported, not fixed yet."""

    # Each known deviation the run reports must be one of these, so that a deviations
    # file shipped for the server excuses its bugs and nothing else.
    findings: tuple[Callable[[Finding], bool], ...] = ()
    # Providers the server will not let the run delete.
    stuck_providers: tuple[Callable[[str, dict], bool], ...] = ()


UPSTREAM_BUGS = KnownBugs(findings=(_overflowing_capacity,))
REFERENCE_BUGS = KnownBugs()


def assert_passes(url: str, fuzzed: Run, bugs: KnownBugs,
                  versions: list[Microversion] = VERSIONS) -> None:
    assert fuzzed.report.passed, fuzzed.output
    known = [f for f in fuzzed.findings if f.known]
    assert all(any(bug(f) for bug in bugs.findings) for f in known), fuzzed.output
    assert not any(result.errors for result in fuzzed.report.results), fuzzed.output
    assert not unexplained_leftovers(url, fuzzed, bugs), fuzzed.output
    assert [result.version for result in fuzzed.report.results if not result.skipped] == versions


def unexplained_leftovers(url: str, fuzzed: Run, bugs: KnownBugs) -> list[str]:
    """The run's providers and classes still on the server (as it lists them, not as the
    run says), less those a known bug keeps there: a stuck provider and its classes."""
    names = RunNames(fuzzed.report.run_id)
    with target(url).client() as client:
        providers = [p for p in client.get("/resource_providers").json()["resource_providers"]
                     if p["name"].startswith(names.provider_prefix)]
        stuck = [p for p in providers if any(bug(url, p) for bug in bugs.stuck_providers)]
        held = {name for p in stuck for name in
                client.get(f"/resource_providers/{p['uuid']}/inventories").json()["inventories"]}
        classes = [c["name"] for c in client.get("/resource_classes").json()["resource_classes"]
                   if c["name"].startswith(names.class_prefix)]
    return [p["name"] for p in providers if p not in stuck] + [c for c in classes if c not in held]


def assert_reaches_allocations(fuzzed: Run) -> None:
    """Stateful sequences got past provider and inventory setup to a 204 PUT /allocations."""
    for result in fuzzed.report.results:
        assert result.answered("PUT /allocations/{consumer_uuid}", 204, phase="stateful"), (
            f"no stateful PUT /allocations got 204 at {result.version}: "
            f"{sorted(k for k in result.answers if k[0] == 'stateful')}")


# ------------------------------------------------------------------ passing servers

@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Run]]:
    """The reference server as a process, and one fuzz run against it."""
    database = tmp_path_factory.mktemp("fuzz-reference") / "placement.db"
    with running_server(f"sqlite:///{database}", token=TOKEN) as server:
        yield server.url, run(target(server.url), VERSIONS)


def test_the_reference_server_passes(reference: tuple[str, Run]) -> None:
    assert_passes(*reference, REFERENCE_BUGS)


def test_stateful_sequences_reach_allocations(reference: tuple[str, Run]) -> None:
    assert_reaches_allocations(reference[1])


def test_upstream_placement_passes_with_its_known_deviations(peer_venv, tmp_path) -> None:
    options = dataclasses.replace(OPTIONS, deviations=known_deviations(UPSTREAM_DEVIATIONS))
    with running_peer(peer_venv, tmp_path / "peer") as peer:
        fuzzed = run(target(peer.url), VERSIONS, options)
        assert_passes(peer.url, fuzzed, UPSTREAM_BUGS)
    assert_reaches_allocations(fuzzed)


# ------------------------------------------------------------ allocation candidates

# Where allocation candidates change most: their first microversion, granular groups,
# same_subtree, any-of traits.
CANDIDATE_VERSIONS = [Microversion.parse(v) for v in ("1.10", "1.25", "1.36", "1.39")]
CANDIDATES = "GET /allocation_candidates"


def assert_reaches_candidates(fuzzed: Run) -> None:
    """Generated requests for candidates got past the query's checks to an answer."""
    for result in fuzzed.report.results:
        assert result.answered(CANDIDATES, 200), (
            f"no {CANDIDATES} got 200 at {result.version}: "
            f"{sorted(k for k in result.answers if k[1] == CANDIDATES)}")


def test_the_reference_server_passes_at_the_candidates_microversions(tmp_path) -> None:
    with running_server(f"sqlite:///{tmp_path / 'placement.db'}", token=TOKEN) as server:
        fuzzed = run(target(server.url), CANDIDATE_VERSIONS)
        assert_passes(server.url, fuzzed, REFERENCE_BUGS, CANDIDATE_VERSIONS)
    assert_reaches_candidates(fuzzed)


def test_upstream_passes_at_the_candidates_microversions(peer_venv, tmp_path) -> None:
    options = dataclasses.replace(OPTIONS, deviations=known_deviations(UPSTREAM_DEVIATIONS))
    with running_peer(peer_venv, tmp_path / "peer") as peer:
        fuzzed = run(target(peer.url), CANDIDATE_VERSIONS, options)
        assert_passes(peer.url, fuzzed, UPSTREAM_BUGS, CANDIDATE_VERSIONS)
    assert_reaches_candidates(fuzzed)


# ------------------------------------------------------------------ broken servers

@pytest.fixture(scope="module")
def in_process_requests() -> RequestLog:
    """The microversions that requests to the in-process server ask for."""
    return RequestLog()


@pytest.fixture(scope="module")
def in_process(tmp_path_factory: pytest.TempPathFactory,
               in_process_requests: RequestLog) -> Iterator[Target]:
    """The reference server served from this process, so that a test can break it."""
    with serving_in_thread(tmp_path_factory.mktemp("fuzz-broken") / "placement.db",
                           requests=in_process_requests) as url:
        yield target(url)


def error_on_non_ascii_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating a provider whose name is not plain ASCII is a 500."""
    create = providers.create

    def fragile(connection, *, name: str, **fields):
        if not name.isascii():
            raise RuntimeError("odd name")
        return create(connection, name=name, **fields)

    monkeypatch.setattr(providers, "create", fragile)


def provider_without_generation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Provider documents lose their required `generation`."""
    serialize = resource_providers.serialize
    monkeypatch.setattr(resource_providers, "serialize",
                        lambda provider: {k: v for k, v in serialize(provider).items()
                                          if k != "generation"})


@pytest.mark.parametrize(("break_server", "version", "broken_checks"), [
    pytest.param(error_on_non_ascii_names, "1.28", {"no_server_error", "not_a_server_error"},
                 id="a 500 on an odd body"),
    pytest.param(provider_without_generation, "1.28", {"response_schema_conformance"},
                 id="a GET that drops a required key"),
    # Without consumer generations, sequences PUT the same consumer twice in a row.
    pytest.param(merge_on_put, "1.12", {"replace_on_put"}, id="a PUT that merges"),
    pytest.param(errors_in_another_shape, "1.28", {"placement_error_shape"},
                 id="an error body in another shape"),
])
def test_the_fuzzer_names_the_broken_check(
    in_process: Target, monkeypatch: pytest.MonkeyPatch,
    break_server: Callable[[pytest.MonkeyPatch], None], version: str, broken_checks: set[str],
) -> None:
    break_server(monkeypatch)
    fuzzed = run(in_process, [Microversion.parse(version)])
    assert broken_checks <= {finding.check for finding in fuzzed.findings}, fuzzed.output


def test_the_command_reports_in_junit(in_process: Target, tmp_path, capsys) -> None:
    junit = tmp_path / "fuzz.xml"
    exit_code = cli.main(["fuzz", "--url", in_process.url, "--token", TOKEN,
                          "--microversions", "1.28", "--max-examples", "2",
                          "--seed", "7", "--junit", str(junit)])
    suites = ElementTree.parse(junit).getroot()
    assert suites[0].get("name") == "placement 1.28"
    assert "PUT /allocations/{consumer_uuid}" in {case.get("name") for case in suites[0]}
    problems = sum(int(suite.get("failures")) + int(suite.get("errors", 0)) for suite in suites)
    assert exit_code == (exits.EXIT_FAILED if problems else exits.EXIT_PASSED)
    assert "(seed 7, run " in capsys.readouterr().out


def known_everywhere(folder: Path, checks: set[str], version: Microversion | str,
                     reason: str) -> Path:
    """A fuzz known-deviations file that excuses `checks` on every operation of `version`."""
    path = folder / "deviations.yaml"
    operations = placement_spec.operations(placement_spec.project(version))
    path.write_text(yaml.safe_dump([
        {"check": check, "operation": operation, "reason": reason}
        for check in sorted(checks) for operation in operations]))
    return path


def conformance_data_on(at: Target) -> list[str]:
    """The providers and resource classes on the server that are named as conformance data."""
    with at.client() as client:
        providers = client.get("/resource_providers").json()["resource_providers"]
        classes = client.get("/resource_classes").json()["resource_classes"]
    return ([p["name"] for p in providers if p["name"].startswith("conformance-")]
            + [c["name"] for c in classes if c["name"].startswith("CUSTOM_CONFORMANCE_")])


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_stops_the_fuzzer_and_removes_its_data(
    in_process: Target, in_process_requests: RequestLog, signum: int, tmp_path,
) -> None:
    junit = tmp_path / "fuzz.xml"
    in_process_requests.clear()
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "fuzz", "--url", in_process.url,
         "--token", TOKEN, "--microversions", "1.28,1.39", "--max-examples", "1000",
         "--junit", str(junit)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # The signal comes once fuzzing has begun (the run's data made, its first request at
    # 1.28 sent), and fuzzing 1.28 takes minutes at this many examples.
    assert in_process_requests.wait_for("placement 1.28", timeout=60), \
        "the fuzzer sent no request at 1.28 within a minute"
    assert conformance_data_on(in_process)
    process.send_signal(signum)
    out, err = process.communicate(timeout=120)
    assert process.returncode == exits.EXIT_FAILED, out + err
    assert "interrupted: the microversions after these were not fuzzed" in out
    assert "placement 1.39" not in out
    assert err.splitlines()[-1] == "placement-conformance: interrupted"
    assert conformance_data_on(in_process) == []
    failures = ElementTree.parse(junit).getroot().iter("failure")
    assert "interrupted" in {failure.get("message") for failure in failures}


def test_known_deviations_do_not_fail_the_run(in_process: Target, tmp_path, capsys,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    errors_in_another_shape(monkeypatch)
    version = Microversion(1, 28)
    broken = {finding.check for finding in run(in_process, [version]).findings}
    assert "placement_error_shape" in broken
    deviations = known_everywhere(tmp_path, broken, version, "errors in another shape")
    junit = tmp_path / "fuzz.xml"
    exit_code = cli.main(["fuzz", "--url", in_process.url, "--token", TOKEN,
                          "--microversions", str(version), "--max-examples", "2",
                          "--seed", "7", "--known-deviations", str(deviations),
                          "--junit", str(junit)])
    out = capsys.readouterr().out
    assert exit_code == exits.EXIT_PASSED, out
    assert "KNOWN (errors in another shape) placement 1.28" in out
    assert "placement 1.28: passed," in out
    cases = list(ElementTree.parse(junit).getroot().iter("testcase"))
    assert not any(case.find("failure") is not None for case in cases)
    assert any(case.find("skipped") is not None for case in cases)


def test_a_deviation_that_names_no_check_is_a_usage_error(tmp_path, capsys) -> None:
    deviations = tmp_path / "deviations.yaml"
    deviations.write_text(yaml.safe_dump([{"check": "no_such_check", "operation": "GET /",
                                           "reason": "a typo"}]))
    exit_code = cli.main(["fuzz", "--url", "http://127.0.0.1:9", "--token", TOKEN,
                          "--known-deviations", str(deviations)])
    assert exit_code == exits.EXIT_USAGE
    assert "names nothing the suite has: no_such_check: 'GET /'" in capsys.readouterr().err


def test_a_bad_example_count_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["fuzz", "--url", "http://127.0.0.1:9", "--max-examples", "0"])
    assert exited.value.code == exits.EXIT_USAGE
    assert "argument --max-examples: must be at least 1" in capsys.readouterr().err
