"""PLACEMENT_TEST_REQUIRE: a test whose dependency is missing is skipped, saying what is
missing; under the switch, as in CI, the same test fails, so that a run cannot pass by
leaving something out.

Each case runs pytest as a command on some of the project's own tests, in an environment
where every dependency is missing: the virtualenvs and the api-ref point at a folder that
is not there, no database server is named, and PATH holds only Python's folder, where no
browser is.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.databases import BACKEND_VARIABLES
from tests.dependencies import HOW_TO_PROVIDE, REQUIRE_VARIABLE

PROJECT = Path(__file__).resolve().parent.parent

# For each dependency, tests that need it, and the variable whose absence they report.
NEEDING = {
    "peer": ("PLACEMENT_PEER_VENV", [
        "tests/test_upstream_parity.py::test_reference_answers_like_upstream[1.39]",
        "tests/test_gabbits_upstream.py::test_pytest[upstream Placement]",
        "tests/test_drift.py::test_upstream_placement_answers_as_the_spec_says",
    ]),
    "clients": ("PLACEMENT_CLIENTS_VENV", [
        "tests/test_official_clients.py::test_openstacksdk_placement_proxy",
    ]),
    "postgresql": ("PLACEMENT_TEST_POSTGRESQL_URL", [
        "tests/test_server_process.py::test_concurrent_writers_never_over_allocate[postgresql]",
    ]),
    "mysql": ("PLACEMENT_TEST_MYSQL_URL", [
        "tests/test_server_process.py::test_concurrent_writers_never_over_allocate[mysql]",
    ]),
    "api-ref": ("PLACEMENT_API_REF", [
        "tests/test_drift.py::test_the_table_lists_only_what_is_not_allow_listed",
    ]),
    "browser": ("PATH", [
        "tests/test_html_report.py::test_the_page_needs_no_network",
    ]),
}


def test_every_dependency_the_switch_takes_is_exercised_here() -> None:
    assert NEEDING.keys() == HOW_TO_PROVIDE.keys()


def environment_lacking_everything(tmp_path: Path, require: str | None) -> dict[str, str]:
    """This process's environment, with every dependency missing and the switch as given."""
    nowhere = tmp_path / "nowhere"
    environment = {name: value for name, value in os.environ.items()
                   if name not in BACKEND_VARIABLES.values() and name != REQUIRE_VARIABLE}
    environment.update(PLACEMENT_PEER_VENV=str(nowhere / "upstream"),
                       PLACEMENT_CLIENTS_VENV=str(nowhere / "clients"),
                       PLACEMENT_API_REF=str(nowhere / "api-ref"),
                       # Python, and nothing else: no browser to be found.
                       PATH=str(Path(sys.executable).parent))
    if require is not None:
        environment[REQUIRE_VARIABLE] = require
    return environment


def run_pytest(tmp_path: Path, environment: dict[str, str],
               *tests: str) -> tuple[int, dict[str, tuple[str, str]]]:
    """Run pytest on `tests` from the project's root: its exit code, and each test's
    outcome ("passed", "skipped", "failure" or "error") with its message, by test id."""
    junit = tmp_path / "junit.xml"
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
         f"--junitxml={junit}", *tests],
        cwd=PROJECT, env=environment, capture_output=True, text=True, timeout=300)
    outcomes = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        test = f"{case.get('classname').replace('.', '/')}.py::{case.get('name')}"
        verdict = next((child for child in case
                        if child.tag in ("skipped", "failure", "error")), None)
        outcomes[test] = ("passed", "") if verdict is None else (
            verdict.tag, f"{verdict.get('message', '')}\n{verdict.text or ''}")
    return finished.returncode, outcomes


# Every test above, with the dependency it needs and that dependency's variable.
NEEDED_BY = {test: (dependency, variable)
             for dependency, (variable, tests) in NEEDING.items() for test in tests}
FAILED = ("failure", "error")  # in a test, or in the fixture that provides the dependency


def test_without_the_switch_a_missing_dependency_is_a_skip_that_says_why(tmp_path) -> None:
    code, outcomes = run_pytest(tmp_path, environment_lacking_everything(tmp_path, None),
                                *NEEDED_BY)
    assert code == pytest.ExitCode.OK, outcomes
    assert outcomes.keys() == NEEDED_BY.keys()
    for test, (outcome, message) in outcomes.items():
        dependency, variable = NEEDED_BY[test]
        assert outcome == "skipped", (test, outcome, message)
        assert variable in message and HOW_TO_PROVIDE[dependency] in message, (test, message)


def test_under_the_switch_a_missing_dependency_fails_the_run(tmp_path) -> None:
    code, outcomes = run_pytest(
        tmp_path, environment_lacking_everything(tmp_path, ",".join(NEEDING)), *NEEDED_BY)
    assert code == pytest.ExitCode.TESTS_FAILED, outcomes
    assert outcomes.keys() == NEEDED_BY.keys()
    for test, (outcome, message) in outcomes.items():
        dependency, variable = NEEDED_BY[test]
        assert outcome in FAILED, (test, outcome, message)
        assert variable in message and HOW_TO_PROVIDE[dependency] in message, (test, message)
        assert f"{REQUIRE_VARIABLE} requires {dependency}" in message, (test, message)


def test_the_switch_fails_only_what_it_names(tmp_path) -> None:
    code, outcomes = run_pytest(tmp_path, environment_lacking_everything(tmp_path, "peer"),
                                *NEEDED_BY)
    assert code == pytest.ExitCode.TESTS_FAILED, outcomes
    assert outcomes.keys() == NEEDED_BY.keys()
    for test, (outcome, message) in outcomes.items():
        required = NEEDED_BY[test][0] == "peer"
        assert outcome in FAILED if required else outcome == "skipped", (test, outcome, message)


def test_a_name_the_switch_does_not_know_stops_the_run(tmp_path) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         "tests/test_spec.py"],
        cwd=PROJECT, env=environment_lacking_everything(tmp_path, "peer,postgres"),
        capture_output=True, text=True, timeout=300)
    assert finished.returncode == pytest.ExitCode.USAGE_ERROR, finished.stdout
    assert "PLACEMENT_TEST_REQUIRE names postgres, which no test needs" in finished.stderr
