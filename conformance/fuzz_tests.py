"""`placement-conformance fuzz` through pytest: a test per operation and microversion.

    pytest --pyargs conformance.fuzz_tests --placement-url URL --placement-token TOKEN \\
           --placement-microversions 1.12,1.28 --fuzz-stateful

(the options are `conformance.pytest_plugin`'s). The run is the command's: the same
checks, the same steering onto conformance data, the same removal of that data at the
end (a failure to remove it is an error in the last test's teardown). What pytest adds
is its own reporting and selection: `--junitxml`, `-k` (of verdicts: a microversion is
always fuzzed whole, as sequences run across operations), `-x`.

Each microversion is fuzzed once, by its first test to run; that test's duration is the
whole microversion's. `test_operation` then passes or fails each operation on what the
run found there, and `test_microversion` fails on what belongs to no single operation:
an error of the engine, or a failure found in a sequence of calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import pytest

import placement_spec
from conformance.fuzz_checks import known_deviations
from conformance.fuzz_data import RunData, conformance_data
from conformance.fuzz_engine import FuzzOptions, fuzz_version
from conformance.fuzz_report import Finding, VersionResult
from conformance.fuzz_safety import Steering
from conformance.pytest_plugin import SEED, usage_errors_end_the_session
from conformance.target import Target, named_microversions
from placement_spec import Microversion


@dataclass
class FuzzSession:
    """One fuzz run over the pytest session: each microversion is fuzzed when a test first
    asks for it, against the session's conformance data."""

    target: Target
    options: FuzzOptions
    data: RunData
    results: dict[Microversion, VersionResult] = field(default_factory=dict)

    def result(self, version: Microversion) -> VersionResult:
        """What fuzzing `version` found; the asking test is skipped, with the reason, when
        the deployment does not serve `version`."""
        if version not in self.results:
            self.results[version] = fuzz_version(self.target, version, self.options,
                                                 Steering.for_run(self.data))
        result = self.results[version]
        if result.skipped:
            pytest.skip(result.skipped)
        return result


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The plugin has refused a malformed list already.
    versions = named_microversions(metafunc.config.getoption("--placement-microversions"))
    if "operation" in metafunc.fixturenames:
        cases = [(version, operation) for version in versions
                 for operation in placement_spec.operations(placement_spec.project(version))]
        metafunc.parametrize(("version", "operation"), cases,
                             ids=[f"{version}-{operation}" for version, operation in cases])
    elif "version" in metafunc.fixturenames:
        metafunc.parametrize("version", versions, ids=str)


@pytest.fixture(scope="session")
def fuzz_session(placement_target: Target, pytestconfig: pytest.Config) -> Iterator[FuzzSession]:
    with usage_errors_end_the_session():
        deviations = known_deviations(pytestconfig.getoption("--fuzz-known-deviations"))
    options = FuzzOptions(max_examples=pytestconfig.getoption("--fuzz-max-examples"),
                          seed=pytestconfig.stash[SEED],
                          stateful=pytestconfig.getoption("--fuzz-stateful"),
                          deviations=deviations)
    with conformance_data(placement_target) as data:
        yield FuzzSession(placement_target, options, data)
    if data.leftovers:
        pytest.fail("the run's data could not all be removed:\n" + "\n".join(data.leftovers),
                    pytrace=False)


def test_operation(fuzz_session: FuzzSession, version: Microversion, operation: str) -> None:
    """No check failed on the responses to this operation at this microversion, or only
    as a known deviation says it does (xfail)."""
    result = fuzz_session.result(version)
    _judge(fuzz_session, result.refusal_failures(operation),
           [f for f in result.findings if f.operation == operation])


def test_microversion(fuzz_session: FuzzSession, version: Microversion) -> None:
    """The run at this microversion had no errors, and no failure outside an operation."""
    result = fuzz_session.result(version)
    operations = set(placement_spec.operations(placement_spec.project(version)))
    _judge(fuzz_session, [f"ERROR {error}" for error in result.errors],
           [f for f in result.findings if f.operation not in operations])


def _judge(session: FuzzSession, errors: list[str], findings: list[Finding]) -> None:
    """Fail on errors (or refusals that fail the run) and unknown findings; xfail when
    every finding is a known one."""
    seed = session.options.seed
    failures = errors + [f.report(seed) for f in findings if not f.known]
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    if findings:
        pytest.xfail("\n\n".join(f.report(seed) for f in findings))
