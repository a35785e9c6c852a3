"""The harness through pytest: `pytest --pyargs conformance.run_tests` and
`conformance.fuzz_tests`, run as a user runs them, in a process of their own, from an
empty folder so that none of this project's pytest configuration applies.

They are aimed at a reference server served from this process, so that a test can break
it (`tests.breakages`) and see the break reported as a failed test with the rule it broke.
"""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from conformance.features import Scenario, scenarios
from conformance.target import Target
from placement_spec import MAXIMUM, MINIMUM
from tests.breakages import errors_in_another_shape, merge_on_put
from tests.server_thread import serving_in_thread
from tests.test_conformance_run import scenario_count
from tests.test_fuzz import conformance_data_on, known_everywhere

TOKEN = "admin"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with serving_in_thread(tmp_path_factory.mktemp("pytest-entry") / "placement.db") as url:
        yield Target(url=url, token=TOKEN, minimum=MINIMUM, maximum=MAXIMUM)


@dataclass(frozen=True)
class PytestRun:
    """A pytest run's exit code, what it printed, and its JUnit report as
    {test name: outcome}, the outcome being "passed", "skipped", or the text of the
    failure or error."""

    exit_code: int
    output: str
    outcomes: dict[str, str]

    def failed(self) -> dict[str, str]:
        return {name: text for name, text in self.outcomes.items()
                if text not in ("passed", "skipped")}


def run_pytest(module: str, at: Target, tmp_path: Path, *options: str) -> PytestRun:
    junit = tmp_path / "pytest.xml"
    process = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", module,
         "--placement-url", at.url, "--placement-token", TOKEN, f"--junitxml={junit}",
         *options],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    outcomes = {}
    if junit.exists():
        for case in ElementTree.parse(junit).getroot().iter("testcase"):
            outcomes[case.get("name")] = _outcome(case)
    return PytestRun(process.returncode, process.stdout + process.stderr, outcomes)


def _outcome(case: ElementTree.Element) -> str:
    for kind in ("failure", "error"):
        problem = case.find(kind)
        if problem is not None:
            return problem.text or problem.get("message") or kind
    return "skipped" if case.find("skipped") is not None else "passed"


def step_ids() -> dict[str, Scenario]:
    """{the test's name in the report: the scenario step it reports}."""
    return {f"test_scenario[{s.feature}-{s.microversion or '-'}-{s.name}]": s
            for s in scenarios()}


def fuzz(at: Target, tmp_path: Path, *options: str) -> PytestRun:
    return run_pytest("conformance.fuzz_tests", at, tmp_path, "--fuzz-max-examples", "3",
                      "--fuzz-seed", "11", *options)


# ----------------------------------------------------------------- the scenarios

def test_a_test_per_scenario_step_and_all_pass(server: Target, tmp_path) -> None:
    ran = run_pytest("conformance.run_tests", server, tmp_path)
    assert ran.exit_code == 0, ran.output
    steps = step_ids()
    assert len(steps) == scenario_count()
    assert set(ran.outcomes) == {*steps, "test_data_removed"}
    assert set(ran.outcomes.values()) == {"passed"}
    assert conformance_data_on(server) == []


def test_a_broken_rule_fails_its_steps_and_a_known_deviation_is_xfail(
    server: Target, tmp_path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    merge_on_put(monkeypatch)
    ran = run_pytest("conformance.run_tests", server, tmp_path, "-k", "replace-on-put")
    assert ran.exit_code == 1, ran.output
    failed = ran.failed()
    assert failed and all(name.startswith("test_scenario[replace-on-put-") for name in failed)
    assert any("holds exactly" in name for name in failed), failed
    assert conformance_data_on(server) == []

    deviations = tmp_path / "deviations.yaml"
    steps = step_ids()
    deviations.write_text(yaml.safe_dump([
        {"feature": steps[name].feature, "test": steps[name].name, "reason": "this server merges"}
        for name in failed]))
    ran = run_pytest("conformance.run_tests", server, tmp_path, "-k", "replace-on-put",
                     "--placement-known-deviations", str(deviations), "-rx")
    assert ran.exit_code == 0, ran.output
    assert f"{len(failed)} xfailed" in ran.output and "this server merges" in ran.output


def test_steps_at_microversions_not_chosen_are_skipped(server: Target, tmp_path) -> None:
    ran = run_pytest("conformance.run_tests", server, tmp_path, "-k", "capacity",
                     "--placement-microversions", "1.0-1.20", "-rs")
    assert ran.exit_code == 0, ran.output
    capacity = {name: outcome for name, outcome in ran.outcomes.items()
                if name.startswith("test_scenario[capacity-1.23-")}
    assert capacity and set(capacity.values()) == {"skipped"}
    assert "microversion 1.23 not chosen" in ran.output


# ----------------------------------------------------------------------- the fuzzer

def test_a_fuzz_test_per_operation_and_microversion_and_all_pass(server: Target,
                                                                 tmp_path) -> None:
    ran = fuzz(server, tmp_path, "--placement-microversions", "1.12,1.39", "--fuzz-stateful")
    assert ran.exit_code == 0, ran.output
    assert "fuzz seed 11" in ran.output
    assert {"test_operation[1.12-PUT /allocations/{consumer_uuid}]",
            "test_operation[1.39-GET /usages]", "test_microversion[1.39]"} <= ran.outcomes.keys()
    # /usages came in 1.9, consumer types in 1.38: each microversion has its own operations.
    assert "test_operation[1.12-GET /usages]" in ran.outcomes
    assert not any(name.startswith("test_operation[1.0-") for name in ran.outcomes)
    assert set(ran.outcomes.values()) == {"passed"}
    assert conformance_data_on(server) == []


def test_a_broken_check_fails_the_operation_with_a_curl_command(
    server: Target, tmp_path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    errors_in_another_shape(monkeypatch)
    ran = fuzz(server, tmp_path, "--placement-microversions", "1.28")
    assert ran.exit_code == 1, ran.output
    failed = ran.failed()
    assert "test_operation[1.28-GET /resource_providers/{uuid}]" in failed, ran.output
    for text in failed.values():
        assert "[placement_error_shape]" in text and "curl -X" in text and "(seed 11)" in text
    assert conformance_data_on(server) == []

    checks = {check for text in failed.values()
              for check in re.findall(r"^FAILED placement \S+ \S+ \S+ \[(\w+)\]", text, re.M)}
    deviations = known_everywhere(tmp_path, checks, "1.28", "errors in another shape")
    ran = fuzz(server, tmp_path, "--placement-microversions", "1.28",
               "--fuzz-known-deviations", str(deviations), "-rx")
    assert ran.exit_code == 0, ran.output
    assert "xfailed" in ran.output and "KNOWN (errors in another shape)" in ran.output


@pytest.mark.parametrize("module", ["conformance.run_tests", "conformance.fuzz_tests"])
def test_a_bad_option_is_a_usage_error(module: str, tmp_path) -> None:
    unreachable = Target(url="http://127.0.0.1:9", token=TOKEN, minimum=MINIMUM, maximum=MAXIMUM)
    for options, complaint in [
        (("--placement-microversions", "2.0"), "--placement-microversions 2.0 names none of"),
        (("--fuzz-max-examples", "0"), "argument --fuzz-max-examples: must be at least 1"),
        ((), "cannot reach http://127.0.0.1:9"),
    ]:
        ran = run_pytest(module, unreachable, tmp_path, *options)
        assert ran.exit_code == pytest.ExitCode.USAGE_ERROR, ran.output
        assert complaint in ran.output
