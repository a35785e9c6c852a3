"""`placement-conformance run` through pytest: a test per step of every gabbi scenario.

    pytest --pyargs conformance.run_tests --placement-url URL --placement-token TOKEN \\
           [--placement-microversions 1.12,1.28] [--placement-known-deviations FILE]

(the options are `conformance.pytest_plugin`'s). The run is the command's (`run_suite`):
the same features, the same choice of microversions, fresh data for each feature and its
removal at the end. It happens once, when the first test asks for it; each test then
reports what became of its step: passed, failed with gabbi's message, skipped with the
reason (a microversion not chosen, or a feature the deployment cannot serve; a request
the deployment's front end refused is skipped as not reached), or xfail for a known
deviation. `-k` narrows the run to the features of the selected tests, and
`test_data_removed` fails when the run's data could not all be removed.
"""

from __future__ import annotations

import pytest

from conformance.deviations import KnownDeviations, load
from conformance.pytest_plugin import usage_errors_end_the_session
from conformance.features import scenarios
from conformance.report import Outcome, RunResult, ScenarioResult
from conformance.runner import FEATURE_CLEANUP, RUN_CLEANUP, Deployment, RunOptions, run_suite
from conformance.target import Target, chosen_microversions

# Scenario tests are parametrized by these, so that the run can see which features the
# selected tests belong to.
FEATURE, STEP = "feature", "step"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if STEP in metafunc.fixturenames:
        steps = scenarios()
        metafunc.parametrize(
            (FEATURE, STEP), [(step.feature, step.name) for step in steps],
            ids=[f"{step.feature}-{step.microversion or '-'}-{step.name}" for step in steps])


@pytest.fixture(scope="session")
def conformance_run(placement_target: Target, pytestconfig: pytest.Config,
                    request: pytest.FixtureRequest) -> RunResult:
    with usage_errors_end_the_session():
        options = RunOptions(
            microversions=tuple(chosen_microversions(
                pytestconfig.getoption("--placement-microversions"), placement_target)),
            only=_selected_features(request.session), deviations=_deviations(pytestconfig))
        return run_suite(Deployment(placement_target), options)


def _selected_features(session: pytest.Session) -> frozenset[str]:
    """The features of the scenario tests that pytest is to run, after `-k` and the like
    (none: every feature)."""
    features = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and FEATURE in callspec.params:
            features.add(callspec.params[FEATURE])
    return frozenset(features)


def _deviations(config: pytest.Config) -> KnownDeviations:
    path = config.getoption("--placement-known-deviations")
    return load(path) if path else KnownDeviations()


def test_scenario(conformance_run: RunResult, feature: str, step: str) -> None:
    """The step passed (or is a known deviation, or was not to run here)."""
    result = next((r for r in conformance_run.results
                   if r.feature == feature and r.name == step), None)
    if result is None:
        pytest.fail("the run recorded no result for this step", pytrace=False)
    _report(result)


def test_data_removed(conformance_run: RunResult) -> None:
    """Each feature removed its data, and the run swept what was left with its run id."""
    problems = [f"{result.feature}: {result.message}" for result in conformance_run.results
                if result.name in (FEATURE_CLEANUP, RUN_CLEANUP)]
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


def _report(result: ScenarioResult) -> None:
    if result.outcome is Outcome.FAILED:
        pytest.fail(result.message, pytrace=False)
    if result.outcome in (Outcome.SKIPPED, Outcome.NOT_REACHED):
        pytest.skip(result.message)
    if result.outcome is Outcome.KNOWN_DEVIATION:
        pytest.xfail(result.message)
