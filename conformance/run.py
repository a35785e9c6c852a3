"""`placement-conformance run`: the gabbi scenarios in gabbits/ against a deployment.

    placement-conformance run --url URL [--token T] [--microversions 1.0-1.39]
        [--only F,F] [--exclude F,F] [--known-deviations FILE] [--junit FILE] [--json FILE]
        [--keep]

gabbi builds one unittest test per scenario step; a result class of ours records what
became of each, with its feature (the file's stem) and the microversion its request
names. `run_suite` does the work, over HTTP for the command line or against a WSGI
application in this process for the project's own tests.

Which tests run:
- a feature runs only if the deployment serves every microversion it uses: its steps
  build on one another, so a feature the deployment cannot serve is skipped whole;
- within it, a test whose request names a microversion of the spec runs when that
  microversion is chosen (`--microversions`, default: all the deployment serves); the
  steps it builds on run first, as gabbi does, without being reported. A test that names
  none (no header, "latest", a version sent to be refused) runs with its feature.

Each feature file's fixture gives it fresh data and removes it; at the end the run also
removes whatever is left with its run id, even when a test failed or the run was stopped
by Ctrl-C or SIGTERM (after the test in progress; a second signal stops it at once).
`--keep` leaves it all in place for debugging.

`conformance.run_tests` runs the same through pytest, a test per scenario step.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import signal
import sys
import threading
import time
import traceback
import unittest
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator
from unittest import mock

import httpx
from gabbi import driver
from gabbi.case import HTTPTestCase
from gabbi.suite import GabbiSuite

from conformance import cleanup, fixtures
from conformance.exits import EXIT_FAILED, EXIT_PASSED, UsageError
from conformance.deviations import KnownDeviations, load
from conformance.naming import new_run_id
from conformance.report import (
    Outcome,
    RunResult,
    ScenarioResult,
    progress_line,
    summary,
    write_json,
    write_junit,
)
from conformance.options import add_run_options, add_target_options
from conformance.target import Target, chosen_microversions, connect
from placement_spec import MalformedVersion, Microversion, supported

WSGIApplication = Callable[[dict, Callable], Iterable[bytes]]

# Where a WSGI application in this process is said to be; no request leaves the process.
IN_PROCESS_URL = "http://placement.test"

# The names under which a failure to remove data is reported: a feature's own cleanup,
# and the sweep at the end of the run (under a feature of its own).
FEATURE_CLEANUP = "remove the data this feature made"
RUN_CLEANUP_FEATURE = "(run)"
RUN_CLEANUP = "remove everything this run made"


def gabbits_folder() -> Path:
    """The scenarios: installed inside the package, or at the top of a checkout."""
    installed = Path(__file__).with_name("gabbits")
    return installed if installed.is_dir() else Path(__file__).resolve().parent.parent / "gabbits"


def feature_names() -> list[str]:
    return sorted(path.stem for path in gabbits_folder().glob("*.yaml"))


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


@dataclass(frozen=True)
class Feature:
    """One feature file's tests: those to run, and those to report as skipped, with why."""

    name: str
    to_run: tuple[HTTPTestCase, ...]
    skipped: tuple[tuple[HTTPTestCase, str], ...]


def run_suite(deployment: Deployment, options: RunOptions = RunOptions()) -> RunResult:
    """Run the chosen scenarios against `deployment`, then remove what the run made."""
    chosen = set(options.microversions or _served(deployment.target))
    run_id = new_run_id()
    results: list[ScenarioResult] = []
    started = time.monotonic()
    # gabbi makes each test's HTTP client as it builds the test: the settings (the CA
    # bundle among them) must be in place before the plan builds them.
    with _fixture_settings(run_id, deployment.target, options.keep):
        features = _plan(deployment, options, chosen)
        total = sum(len(feature.to_run) + len(feature.skipped) for feature in features)
        positions = itertools.count(1)

        def announce(result: ScenarioResult) -> None:
            options.progress(result, next(positions), total)

        try:
            for feature in features:
                if options.stop.is_set():
                    break
                results += _run_feature(feature, options, announce)
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


@dataclass(frozen=True)
class Scenario:
    """One test of a feature file, as a run reports it."""

    feature: str
    name: str
    microversion: str | None


def scenarios() -> list[Scenario]:
    """Every test of every feature, in the order a run takes them, without running any."""
    return [Scenario(test.test_base_name, test.test_data["name"],
                     fixtures.requested_microversion(test.test_data))
            for tests in _build_tests({"url": IN_PROCESS_URL}) for test in tests]


def _build_tests(location: dict) -> list[tuple[HTTPTestCase, ...]]:
    """gabbi's tests for every feature file, a tuple per file, in the order of the
    features' names; `location` says where their requests go (`gabbi_location`)."""
    suite = driver.build_tests(str(gabbits_folder()), unittest.TestLoader(),
                               test_loader_name=__name__, fixture_module=fixtures, **location)
    return sorted((tuple(file_suite) for file_suite in suite),
                  key=lambda tests: tests[0].test_base_name)


def _plan(deployment: Deployment, options: RunOptions, chosen: set[Microversion]) -> list[Feature]:
    """Build every test, check the names the options give, and split the chosen features'
    tests into those to run and those to skip, in the order of the features' names."""
    files = _build_tests(deployment.gabbi_location())
    _check_feature_names(options.only | options.exclude)
    options.deviations.check_names({(test.test_base_name, test.test_data["name"])
                                    for tests in files for test in tests})
    return [_feature(tests, deployment.target, chosen) for tests in files
            if _selected(tests[0].test_base_name, options)]


def _served(target: Target) -> list[Microversion]:
    return [version for version in supported() if target.serves(version)]


def _check_feature_names(names: frozenset[str]) -> None:
    unknown = sorted(names - set(feature_names()))
    if unknown:
        raise UsageError(f"no feature named {', '.join(unknown)} "
                         f"(features: {', '.join(feature_names())})")


def _selected(feature: str, options: RunOptions) -> bool:
    return (not options.only or feature in options.only) and feature not in options.exclude


def _feature(tests: tuple[HTTPTestCase, ...], target: Target,
             chosen: set[Microversion]) -> Feature:
    name = tests[0].test_base_name
    needs = fixtures.microversion_range(gabbits_folder() / f"{name}.yaml")
    if not needs.served_by(str(target.minimum), str(target.maximum)):
        reason = (f"the feature needs {needs.minimum}-{needs.maximum}; "
                  f"the deployment serves {target.minimum}-{target.maximum}")
        return Feature(name, (), tuple((test, reason) for test in tests))
    to_run, skipped = [], []
    for test in tests:
        version = _spec_version(fixtures.requested_microversion(test.test_data))
        if version is None or version in chosen:
            to_run.append(test)
        else:
            skipped.append((test, f"microversion {version} not chosen"))
    return Feature(name, tuple(to_run), tuple(skipped))


def _spec_version(text: str | None) -> Microversion | None:
    """The microversion of the spec that `text` names, or None ("latest", "0.5", none...)."""
    try:
        version = Microversion.parse(text or "")
    except MalformedVersion:
        return None
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


def _run_feature(feature: Feature, options: RunOptions,
                 announce: Callable[[ScenarioResult], None]) -> list[ScenarioResult]:
    results = [_result(test, Outcome.SKIPPED, reason) for test, reason in feature.skipped]
    for result in results:
        announce(result)
    if feature.to_run:
        recorder = _Recorder(options, announce)
        GabbiSuite(feature.to_run).run(recorder)
        results += recorder.results
    return results


def _result(test: HTTPTestCase, outcome: Outcome, message: str = "",
            seconds: float = 0.0) -> ScenarioResult:
    return ScenarioResult(feature=test.test_base_name, name=test.test_data["name"],
                          microversion=fixtures.requested_microversion(test.test_data),
                          outcome=outcome, message=message, seconds=seconds)


class _Recorder(unittest.TestResult):
    """Records what became of each test of one feature, as unittest reports it.

    gabbi reports a failure of the feature's fixture on the suite's first test: before
    the tests ran (data could not be made), it is that test's failure and the others are
    skipped; after (data could not be removed), that test already has its result, and the
    failure is recorded under FEATURE_CLEANUP. A test's first result is the one kept.
    When the run is asked to stop, the suite stops after the test in progress.
    """

    def __init__(self, options: RunOptions, announce: Callable[[ScenarioResult], None]):
        super().__init__()
        self.deviations = options.deviations
        self.stop_requested = options.stop
        self.announce = announce
        self.results: list[ScenarioResult] = []
        self.recorded: set[str] = set()
        self.started = time.monotonic()

    def startTest(self, test: HTTPTestCase) -> None:
        super().startTest(test)
        self.started = time.monotonic()

    def stopTest(self, test: HTTPTestCase) -> None:
        super().stopTest(test)
        if self.stop_requested.is_set():
            self.stop()

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

    def _failed(self, test: HTTPTestCase, message: str) -> None:
        if test.id() in self.recorded:
            self.results.append(ScenarioResult(test.test_base_name, FEATURE_CLEANUP, None,
                                               Outcome.FAILED, message))
            return
        reason = self.deviations.reason_for(test.test_base_name, test.test_data["name"])
        if reason is None:
            self._record(test, Outcome.FAILED, message)
        else:
            self._record(test, Outcome.KNOWN_DEVIATION, f"{reason}\n{message}")

    def _record(self, test: HTTPTestCase, outcome: Outcome, message: str = "") -> None:
        if test.id() in self.recorded:
            return
        self.recorded.add(test.id())
        result = _result(test, outcome, message, time.monotonic() - self.started)
        self.results.append(result)
        self.announce(result)


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


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "run", help="run the gabbi scenarios against a deployment",
        description="Run the gabbi scenarios against a Placement deployment; exit 0 when "
                    "all passed, 1 when one failed, 2 on a usage or connection error.")
    add_target_options(parser.add_argument)
    parser.add_argument("--only", type=_names, default=frozenset(), metavar="FEATURE,...",
                        help=f"run only these features ({', '.join(feature_names())})")
    parser.add_argument("--exclude", type=_names, default=frozenset(), metavar="FEATURE,...",
                        help="leave these features out")
    add_run_options(parser.add_argument)
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report")
    parser.add_argument("--keep", action="store_true",
                        help="leave the data the run made in place, for debugging")
    parser.set_defaults(handler=run_command)


def _names(text: str) -> frozenset[str]:
    return frozenset(name.strip() for name in text.split(",") if name.strip())


def run_command(arguments: argparse.Namespace) -> int:
    deviations = KnownDeviations()
    if arguments.known_deviations:
        deviations = load(arguments.known_deviations)
    target = connect(arguments)
    options = RunOptions(
        microversions=tuple(chosen_microversions(arguments.microversions, target)),
        only=arguments.only, exclude=arguments.exclude, deviations=deviations,
        keep=arguments.keep, progress=_print_progress,
    )
    with _stopped_by_signals(options.stop):
        run = run_suite(Deployment(target), options)
    if arguments.junit:
        _write_report(write_junit, run, arguments.junit)
    if arguments.json:
        _write_report(write_json, run, arguments.json)
    print(summary(run))
    if run.interrupted:
        raise KeyboardInterrupt  # the command line's way out: "interrupted", exit 1
    return EXIT_FAILED if run.failed else EXIT_PASSED


def _print_progress(result: ScenarioResult, position: int, total: int) -> None:
    print(progress_line(result, position, total), file=sys.stderr, flush=True)


def _write_report(write: Callable[[RunResult, Path], None], run: RunResult, path: Path) -> None:
    try:
        write(run, path)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from error


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C or SIGTERM: stop after the test in progress, so that the run's data is
    removed and its reports written; a second one stops at once, still removing the data.

    The handler only sets `stop`: an exception raised in a handler may land in a
    finalizer (gabbi leaves an HTTP client per test to the garbage collector), which
    would swallow it.
    """

    def handle(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {signum: signal.signal(signum, handle) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
