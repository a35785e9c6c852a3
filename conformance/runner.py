"""Running the gabbi scenarios of gabbits/ against a deployment, and recording each result.

gabbi builds one unittest test per scenario step; a result class of ours records what
became of each, with its feature (the file's stem) and the microversion its request
names. `run_suite` does the work, over HTTP for the command line (`conformance.run`) and
pytest (`conformance.run_tests`), or against a WSGI application in this process for the
project's own tests.

Which tests run:
- a feature runs only if the deployment serves every microversion it uses: its steps
  build on one another, so a feature the deployment cannot serve is skipped whole;
- within it, a test whose request names a microversion of the spec runs when that
  microversion is chosen (default: all the deployment serves); the steps it builds on
  run first, as gabbi does, without being reported. A test that names none (no header,
  "latest", a version sent to be refused) runs with its feature.

A test whose request the deployment's front end refused, instead of Placement
(`conformance.front_end`), is "not reached" and the rest of its feature, which builds on
it, is skipped; unless the target says the deployment must accept every request, when
it fails as any other test.

Each feature file's fixture gives it fresh data and removes it; at the end the run also
removes whatever is left with its run id (`conformance.cleanup`), even when a test failed
or the run was stopped (`RunOptions.stop`, after the test in progress). `keep` leaves it
all in place for debugging.
"""


from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
import traceback
import unittest
from dataclasses import dataclass, field
from typing import Callable, Iterable
from unittest import mock

import httpx
from gabbi.case import HTTPTestCase
from gabbi.suite import GabbiSuite

from conformance import cleanup, features, fixtures
from conformance.deviations import KnownDeviations
from conformance.exchange import Exchange
from conformance.exits import UsageError
from conformance.front_end import Policy, Refusal, refusal
from conformance.naming import new_run_id
from conformance.report import Outcome, RunResult, ScenarioResult
from conformance.roles import POLICY_FEATURE, ROLES, RoleChoice
from conformance.target import Target
from placement_spec import Microversion, Range, supported
from placement_spec.microversion import parse_or_none

WSGIApplication = Callable[[dict, Callable], Iterable[bytes]]

# Where a WSGI application in this process is said to be; no request leaves the process.
IN_PROCESS_URL = "http://placement.test"

# The names under which a failure to remove data is reported: a feature's own cleanup,
# and the sweep at the end of the run (under a feature of its own).
FEATURE_CLEANUP = "remove the data this feature made"
RUN_CLEANUP_FEATURE = "(run)"
RUN_CLEANUP = "remove everything this run made"


@dataclass(frozen=True)
class Deployment:
    """The Placement under test: reached over HTTP at `target.url`, or, with `app`, a WSGI
    application called in this process."""

    target: Target
    app: WSGIApplication | None = None

    @classmethod
    def in_process(cls, app: WSGIApplication, token: str = "admin") -> Deployment:
        """Read the microversions `app` serves from its `GET /`, as `connect` does over HTTP."""
        transport = httpx.WSGITransport(app=app)
        with httpx.Client(transport=transport, base_url=IN_PROCESS_URL) as client:
            document = client.get("/").json()
        return cls(Target.from_version_document(IN_PROCESS_URL, token, document), app)

    def gabbi_location(self) -> dict:
        """Where gabbi sends the tests' requests: `build_tests` keywords.

        gabbi makes an HTTP client per test, and one that validates certificates loads
        the CA bundle (30 ms each, most of a run's time): plain http needs none of that.
        """
        if self.app is None:
            return {"url": self.target.url,
                    "cert_validate": self.target.url.startswith("https:")
                    and self.target.verify is not False}
        return {"intercept": lambda: self.app}

    def client(self) -> httpx.Client:
        """An admin client at the newest microversion."""
        if self.app is None:
            return self.target.client()
        return self.target.client(transport=httpx.WSGITransport(app=self.app))


def _quiet(result: ScenarioResult, position: int, total: int) -> None:
    """No progress display: the default for callers that only want the RunResult."""


@dataclass(frozen=True)
class RunOptions:
    # None: every microversion the deployment serves.
    microversions: tuple[Microversion, ...] | None = None
    # Feature names (file stems); an empty `only` means all of them.
    only: frozenset[str] = frozenset()
    exclude: frozenset[str] = frozenset()
    deviations: KnownDeviations = field(default_factory=KnownDeviations)
    keep: bool = False
    # Called as each test ends, with its position and the number of tests.
    progress: Callable[[ScenarioResult, int, int], None] = _quiet
    # Set (by a signal handler) to stop the run after the test in progress.
    stop: threading.Event = field(default_factory=threading.Event)
    # The role the policy feature calls as; it runs only with one.
    role: RoleChoice | None = None


@dataclass(frozen=True)
class Feature:
    """One feature file's tests: those to run, and those to report as skipped, with why."""

    name: str
    to_run: tuple[HTTPTestCase, ...]
    skipped: tuple[tuple[HTTPTestCase, str], ...]


def run_suite(deployment: Deployment, options: RunOptions | None = None) -> RunResult:
    """Run the chosen scenarios against `deployment`, then remove what the run made."""
    options = options or RunOptions()  # made per call: each run has its own stop event
    chosen = set(options.microversions or _served(deployment.target))
    run_id = new_run_id()
    results: list[ScenarioResult] = []
    started = time.monotonic()
    # gabbi makes each test's HTTP client as it builds the test: the settings (the CA
    # bundle among them) must be in place before the plan builds them.
    with _fixture_settings(run_id, deployment.target, options.keep), \
            mock.patch.dict(os.environ, options.role.environment(run_id) if options.role else {}):
        planned = _plan(deployment, options, chosen)
        total = sum(len(feature.to_run) + len(feature.skipped) for feature in planned)
        positions = itertools.count(1)

        def announce(result: ScenarioResult) -> None:
            options.progress(result, next(positions), total)

        try:
            for feature in planned:
                if options.stop.is_set():
                    break
                results += _run_feature(feature, options, deployment.target, announce)
        finally:
            issued = fixtures.ISSUED.pop(run_id, [])
            if not options.keep:
                results += _remove_run_data(deployment, run_id)
    return RunResult(
        run_id=run_id,
        url=deployment.target.url,
        served=(str(deployment.target.minimum), str(deployment.target.maximum)),
        microversions=tuple(str(version) for version in sorted(chosen)),
        results=tuple(results),
        seconds=time.monotonic() - started,
        consumers=tuple(consumer for data in issued for consumer in data.consumers),
        kept=options.keep,
        interrupted=options.stop.is_set(),
    )


def _plan(deployment: Deployment, options: RunOptions, chosen: set[Microversion]) -> list[Feature]:
    """Build every test, check the names the options give, and split the chosen features'
    tests into those to run and those to skip, in the order of the features' names."""
    _check_feature_names(options.only | options.exclude)
    opted_in = options.only & set(features.opt_in_names())
    if (POLICY_FEATURE in opted_in) != (options.role is not None):
        raise UsageError(f"the {POLICY_FEATURE} feature checks what one role may do: "
                         f"run it with --only {POLICY_FEATURE} --as-role ROLE "
                         f"({', '.join(ROLES)})")
    files = features.build_tests(deployment.gabbi_location(), opted_in)
    options.deviations.check_names({(test.test_base_name, test.test_data["name"])
                                    for tests in files for test in tests})
    return [_feature(tests, deployment.target, chosen) for tests in files
            if _selected(tests[0].test_base_name, options)]


def _served(target: Target) -> list[Microversion]:
    return [version for version in supported() if target.serves(version)]


def _check_feature_names(names: frozenset[str]) -> None:
    known = features.feature_names() + features.opt_in_names()
    unknown = sorted(names - set(known))
    if unknown:
        raise UsageError(f"no feature named {', '.join(unknown)} "
                         f"(features: {', '.join(known)})")


def _selected(feature: str, options: RunOptions) -> bool:
    return (not options.only or feature in options.only) and feature not in options.exclude


def _feature(tests: tuple[HTTPTestCase, ...], target: Target,
             chosen: set[Microversion]) -> Feature:
    name = tests[0].test_base_name
    needs = features.microversion_range(name)
    served = Range(target.minimum, target.maximum)
    if not (served.covers(needs.low) and served.covers(needs.high)):
        reason = (f"the feature needs {needs.low}-{needs.high}; "
                  f"the deployment serves {target.minimum}-{target.maximum}")
        return Feature(name, (), tuple((test, reason) for test in tests))
    to_run, skipped = [], []
    for test in tests:
        version = _spec_version(features.requested_microversion(test.test_data))
        if version is None or version in chosen:
            to_run.append(test)
        else:
            skipped.append((test, f"microversion {version} not chosen"))
    return Feature(name, tuple(to_run), tuple(skipped))


def _spec_version(text: str | None) -> Microversion | None:
    """The microversion of the spec that `text` names, or None ("latest", "0.5", none...)."""
    version = parse_or_none(text)
    return version if version in supported() else None


def _fixture_settings(run_id: str, target: Target, keep: bool) -> contextlib.AbstractContextManager:
    """Set the variables the fixture reads (gabbi gives it no arguments); restore the
    whole environment after the run, with all the fixture set in it.

    A CA bundle reaches gabbi's and the fixture's HTTP clients (httpx) as SSL_CERT_FILE,
    the one way gabbi offers besides not checking at all.
    """
    tls = {"SSL_CERT_FILE": target.verify} if isinstance(target.verify, str) else {}
    return mock.patch.dict(os.environ, {fixtures.RUN_ID_VARIABLE: run_id,
                                        fixtures.TOKEN_VARIABLE: target.token,
                                        fixtures.KEEP_DATA_VARIABLE: "1" if keep else "",
                                        fixtures.INSECURE_VARIABLE:
                                            "1" if target.verify is False else "",
                                        **tls})


def _run_feature(feature: Feature, options: RunOptions, target: Target,
                 announce: Callable[[ScenarioResult], None]) -> list[ScenarioResult]:
    results = [_result(test, Outcome.SKIPPED, reason) for test, reason in feature.skipped]
    for result in results:
        announce(result)
    if feature.to_run:
        recorder = _Recorder(feature.name, options, target.front_end_refusals, announce)
        GabbiSuite(feature.to_run).run(recorder)
        results += recorder.results
        if recorder.refused is not None:
            name, refused = recorder.refused
            reason = f"not run: it builds on {name!r}, which was not reached: {refused}"
            for test in feature.to_run:
                if test.id() not in recorder.recorded:
                    results.append(_result(test, Outcome.SKIPPED, reason))
                    announce(results[-1])
    return results


def _result(test: HTTPTestCase, outcome: Outcome, message: str = "",
            seconds: float = 0.0, exchange: Exchange | None = None) -> ScenarioResult:
    return ScenarioResult(feature=test.test_base_name, name=test.test_data["name"],
                          microversion=features.requested_microversion(test.test_data),
                          outcome=outcome, message=message, seconds=seconds,
                          exchange=exchange)


class _Recorder(unittest.TestResult):
    """Records what became of each test of one feature, as unittest reports it.

    gabbi reports a failure of the feature's fixture on the suite's first test: before
    the tests ran (data could not be made), it is that test's failure and the others are
    skipped; after (data could not be removed), that test already has its result, and the
    failure is recorded under FEATURE_CLEANUP. unittest lets go of each test once it has
    run, so gabbi may report that failure (and skip each test) on None instead of a test.
    A test's first result is the one kept.
    When the run is asked to stop, the suite stops after the test in progress; so it does
    after a test the front end refused (`refused`), unless such refusals fail the run.

    A failure keeps the test's last request and response, caught by a response hook on
    the test's own HTTP client (gabbi's `http.client`, an httpx client) while it runs.
    """

    def __init__(self, feature: str, options: RunOptions, front_end_refusals: Policy,
                 announce: Callable[[ScenarioResult], None]):
        super().__init__()
        self.feature = feature
        self.deviations = options.deviations
        self.front_end_refusals = front_end_refusals
        # The first test the front end refused, by name, and how.
        self.refused: tuple[str, Refusal] | None = None
        self.stop_requested = options.stop
        self.announce = announce
        self.results: list[ScenarioResult] = []
        self.recorded: set[str] = set()
        self.started = time.monotonic()
        self.exchange: Exchange | None = None

    def startTest(self, test: HTTPTestCase) -> None:
        super().startTest(test)
        self.started = time.monotonic()
        self.exchange = None
        test.http.client.event_hooks["response"].append(self._keep_exchange)

    def stopTest(self, test: HTTPTestCase) -> None:
        super().stopTest(test)
        test.http.client.event_hooks["response"].remove(self._keep_exchange)
        if self.stop_requested.is_set():
            self.stop()

    def _keep_exchange(self, response: httpx.Response) -> None:
        response.read()
        self.exchange = Exchange.from_httpx(response)

    def addSuccess(self, test: HTTPTestCase) -> None:
        self._record(test, Outcome.PASSED)

    def addFailure(self, test: HTTPTestCase, error) -> None:
        self._failed(test, _exception_text(error))

    def addError(self, test: HTTPTestCase, error) -> None:
        self._failed(test, _exception_text(error))

    def addSkip(self, test: HTTPTestCase, reason: str) -> None:
        self._record(test, Outcome.SKIPPED, reason)

    def addExpectedFailure(self, test: HTTPTestCase, error) -> None:
        """A scenario marked `xfail` that failed, as it says it does."""
        self._record(test, Outcome.PASSED, _exception_text(error))

    def addUnexpectedSuccess(self, test: HTTPTestCase) -> None:
        self._failed(test, "passed, but the scenario is marked xfail")

    def _failed(self, test: HTTPTestCase | None, message: str) -> None:
        if test is None or test.id() in self.recorded:
            self.results.append(ScenarioResult(self.feature, FEATURE_CLEANUP, None,
                                               Outcome.FAILED, message))
            return
        refused = _front_end_refusal(test)
        if refused is not None:
            message = f"{refused.verdict(self.front_end_refusals)}\n{message}"
            if self.front_end_refusals is Policy.REPORT:
                self._record(test, Outcome.NOT_REACHED, message)
                self.refused = (test.test_data["name"], refused)
                self.stop()
                return
        reason = self.deviations.reason_for(test.test_base_name, test.test_data["name"])
        if reason is None:
            self._record(test, Outcome.FAILED, message, self.exchange)
        else:
            self._record(test, Outcome.KNOWN_DEVIATION, f"{reason}\n{message}", self.exchange)

    def _record(self, test: HTTPTestCase | None, outcome: Outcome, message: str = "",
                exchange: Exchange | None = None) -> None:
        if test is None or test.id() in self.recorded:
            return
        self.recorded.add(test.id())
        result = _result(test, outcome, message, time.monotonic() - self.started, exchange)
        self.results.append(result)
        self.announce(result)


def _front_end_refusal(test: HTTPTestCase) -> Refusal | None:
    """The front end's refusal that the test's request got, if it got one (gabbi keeps
    the response's headers, with its status, and the decoded body on the test)."""
    response = getattr(test, "response", None)
    if response is None:
        return None
    return refusal(int(response["status"]), response, getattr(test, "output", ""))


def _exception_text(error) -> str:
    """The exception's own words, without the traceback through gabbi and unittest."""
    kind, value, _ = error
    return "".join(traceback.format_exception_only(kind, value)).strip()


def _remove_run_data(deployment: Deployment, run_id: str) -> list[ScenarioResult]:
    """Sweep what the run left; a failure is reported as a failed test of its own."""
    try:
        with deployment.client() as client:
            leftovers = cleanup.remove_run_data(client, run_id)
    except httpx.HTTPError as error:
        leftovers = [f"cannot list the run's data: {error}"]
    if not leftovers:
        return []
    return [ScenarioResult(RUN_CLEANUP_FEATURE, RUN_CLEANUP, None, Outcome.FAILED,
                           "conformance data left behind:\n" + "\n".join(leftovers))]
