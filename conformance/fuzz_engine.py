"""The fuzzing engine: schemathesis on the spec projected to one microversion at a time.

For each microversion the spec is projected to that version (`placement_spec`) and handed
to schemathesis, which generates requests from it, valid and invalid, sends them with
`OpenStack-API-Version: placement X.Y` and the token, and checks every response
(`conformance.fuzz_checks`). Each request is rewritten just before it is sent by the
run's steering (`conformance.fuzz_safety`); what the checks find is gathered per
microversion (`conformance.fuzz_report`).

Generated requests stay within the limits common front ends accept by default
(`conformance.front_end.COMMON_LIMITS`); an answer the deployment's front end gave instead
of Placement all the same (a tighter limit, a proxy's 502) is counted per operation as not
reached, and the checks' failures on it are dropped: they would judge the front end.
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Iterator, TextIO

import requests
import schemathesis
from schemathesis import Case, Response
from schemathesis.engine import Status, events, from_schema
from schemathesis.engine.run import PhaseName

import placement_spec
from conformance.deviations import KnownDeviations
from conformance.exchange import Exchange
from conformance.front_end import COMMON_LIMITS, exceeded, refusal
from conformance.fuzz_checks import SCHEMATHESIS_CHECKS, check_settings
from conformance.fuzz_data import conformance_data
from conformance.fuzz_report import Finding, FuzzReport, VersionResult, print_result
from conformance.fuzz_safety import Steering
from conformance.options import DEFAULT_MAX_EXAMPLES, new_seed
from conformance.progress import MicroversionProgress
from conformance.target import Target
from placement_spec import Microversion

# Sequences per example of the other phases: a sequence is short (six requests at most)
# and the lifecycle's later steps are only reached through its first ones.
STATEFUL_FACTOR = 3

# The phases that take the operations one by one, so that how many are done can be shown;
# sequences go across operations.
_PHASES_BY_OPERATION = (PhaseName.EXAMPLES, PhaseName.COVERAGE, PhaseName.FUZZING)


@dataclass(frozen=True)
class FuzzOptions:
    """How much to generate (per operation and phase), from which seed (None: a new one),
    whether to run sequences too, and which failures are known (`FUZZ_KEY` entries)."""

    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    stateful: bool = False
    deviations: KnownDeviations = KnownDeviations()


@dataclass(frozen=True)
class _ActiveRun:
    """What schemathesis's hooks need of the microversion being fuzzed: its steering, and
    its result, where the front end's refusals are counted."""

    steering: Steering
    result: VersionResult


# One run at a time: schemathesis's `before_call` and `after_call` hooks exist only
# process-wide.
_active: _ActiveRun | None = None


@contextlib.contextmanager
def _running(steering: Steering, result: VersionResult) -> Iterator[None]:
    global _active
    _active = _ActiveRun(steering, result)
    try:
        yield
    finally:
        _active = None


@schemathesis.hook("before_call")
def _steer(context, case: Case, kwargs: dict) -> None:
    if _active is not None:
        _active.steering.before_call(case)


@schemathesis.hook("after_call")
def _learn(context, case: Case, response: Response) -> None:
    if _active is None:
        return
    _active.steering.after_call(case, response)
    refused = refusal(response.status_code, response.headers, response.content)
    if refused is not None:
        _active.result.refused[(case.operation.label, refused.status)] += 1


@schemathesis.hook("filter_failure")
def _reached_placement(context, failure, case: Case, response: Response) -> bool:
    """A check's failure on an answer of the front end judges the front end, not
    Placement: it is dropped (the refusal is counted by `_learn`)."""
    return refusal(response.status_code, response.headers, response.content) is None


@schemathesis.hook("filter_case")
def _within_front_end_limits(context, case: Case) -> bool:
    """Only requests that common front ends accept by default are generated: a longer
    request line, header field or body would test the front end, not Placement."""
    return _active is None or within_common_limits(case)


def within_common_limits(case: Case) -> bool:
    """Whether the request `case` makes, at the schema's base URL, stays within
    `COMMON_LIMITS`."""
    sent = case.as_transport_kwargs()
    prepared = requests.Request(**{name: sent[name] for name in _REQUEST_FIELDS
                                   if name in sent}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    return exceeded(COMMON_LIMITS, prepared.method or "", prepared.path_url,
                    prepared.headers.items(), body) is None


# What `Case.as_transport_kwargs` gives that makes up the request itself.
_REQUEST_FIELDS = ("method", "url", "params", "headers", "cookies", "json", "data")


def fuzz(target: Target, versions: list[Microversion], options: FuzzOptions,
         out: TextIO | None = None, progress: MicroversionProgress | None = None
         ) -> FuzzReport:
    """Fuzz each microversion in turn, then remove the run's data; print as it goes
    (to standard output unless `out` is given), and show `progress` if given. Ctrl-C
    stops the run after removing its data, and the report says it was interrupted."""
    out = out or sys.stdout
    options = with_seed(options)
    for line in check_settings():
        print(line, file=out)
    with conformance_data(target) as data, _remembering_signals() as stopped:
        report = FuzzReport(seed=options.seed, run_id=data.names.run_id, results=[])
        try:
            for version in versions:
                result = fuzz_version(target, version, options, Steering.for_run(data),
                                      stopped, progress)
                report.results.append(result)
                print_result(result, options.seed, out)
        except KeyboardInterrupt:
            report.interrupted = True
    report.leftovers = data.leftovers
    for leftover in report.leftovers:
        print(f"LEFT BEHIND {leftover}", file=out)
    if report.interrupted:
        print("interrupted: the microversions after these were not fuzzed", file=out)
    total = sum(len(r.failures) for r in report.results)
    refused = sum(sum(r.refused.values()) for r in report.results)
    print(f"{total} failures at {len(report.results)} microversions, {refused} requests "
          f"refused by the front end (seed {options.seed}, run {data.names.run_id})", file=out)
    return report


def with_seed(options: FuzzOptions) -> FuzzOptions:
    """`options` with a seed: its own, or a new one to print, so that the run can be repeated."""
    if options.seed is not None:
        return options
    return dataclasses.replace(options, seed=new_seed())


def fuzz_version(target: Target, version: Microversion, options: FuzzOptions,
                 steering: Steering, stopped: threading.Event | None = None,
                 progress: MicroversionProgress | None = None) -> VersionResult:
    """Run schemathesis at one microversion; `options` must have a seed (`with_seed`).
    The run stops at the first event after `stopped` is set."""
    result = VersionResult(version, front_end_refusals=target.front_end_refusals)
    if not target.serves(version):
        result.skipped = f"the deployment serves {target.minimum}..{target.maximum}"
        return result
    progress = progress or MicroversionProgress(None, 0)
    document = placement_spec.project(version)
    schema = schemathesis.openapi.from_dict(
        document, config=schemathesis_config(target, version, options))
    seen: set[tuple[str, str, str]] = set()
    progress.started(version)
    with _running(steering, result):
        for event in from_schema(schema).execute():
            if isinstance(event, events.PhaseStarted):
                _show_phase(progress, event, len(placement_spec.operations(document)))
            elif isinstance(event, events.ScenarioFinished):
                responses = sum(answered.response is not None
                                for answered in event.recorder.interactions.values())
                _record(result, event, seen, options.deviations)
                progress.answered(event.recorder.label, responses, len(result.failures))
            elif isinstance(event, events.NonFatalError):
                result.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
            elif isinstance(event, events.FatalError):
                raise event.exception
            elif isinstance(event, events.Interrupted):
                # schemathesis stops on Ctrl-C and says so; the caller stops too.
                raise KeyboardInterrupt
            if stopped is not None and stopped.is_set():
                # A Ctrl-C that schemathesis swallowed (one that lands as it moves from
                # one phase to the next): stop all the same.
                raise KeyboardInterrupt
    progress.finished(len(result.failures))
    return result


def _show_phase(progress: MicroversionProgress, event: events.PhaseStarted,
                operations: int) -> None:
    """A phase of requests begins: by operation (of `operations`, or those the phase is
    limited to), or in sequences, whose number is not known in advance."""
    if event.phase.name in _PHASES_BY_OPERATION:
        progress.phase(event.phase.name.value,
                       len(event.operations) if event.operations else operations)
    elif event.phase.name is PhaseName.STATEFUL_TESTING:
        progress.phase("sequences", None)


@contextlib.contextmanager
def _remembering_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM while the run lasts, whatever becomes of the
    KeyboardInterrupt each still raises, as it did before."""
    stopped = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stopped  # signals reach the main thread only
        return
    # Only the signals a Python handler takes (Ctrl-C's raises KeyboardInterrupt; the
    # command makes SIGTERM do the same); the others keep their default.
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)
                if callable(signal.getsignal(signum))}

    def remember(signum, frame):
        stopped.set()
        previous[signum](signum, frame)

    for signum in previous:
        signal.signal(signum, remember)
    try:
        yield stopped
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def schemathesis_config(target: Target, version: Microversion,
                        options: FuzzOptions) -> schemathesis.Config:
    """The whole schemathesis configuration of one microversion, as a schemathesis.toml
    would say it (and explicit, so that no schemathesis.toml nearby changes the run)."""
    return schemathesis.Config.from_dict({
        "seed": options.seed,
        "base-url": target.url,
        "tls-verify": target.verify,
        "headers": {"X-Auth-Token": target.token, "OpenStack-API-Version": f"placement {version}"},
        "continue-on-failure": True,
        # Generating the largest bodies (POST /allocations) may outlast Hypothesis's time
        # budget on a busy machine: how fast requests are made says nothing of the
        # deployment, and must not fail its run.
        "suppress-health-check": ["too_slow"],
        # No example database: nothing from an earlier run (against another deployment,
        # perhaps) is replayed, and nothing is written to the working directory.
        "generation": {"max-examples": options.max_examples, "database": "none"},
        "checks": {name: {"enabled": setting.enabled,
                          **({"expected-statuses": list(setting.expected_statuses)}
                             if setting.expected_statuses else {})}
                   for name, setting in SCHEMATHESIS_CHECKS.items()},
        # Values for requests come from the generator, the spec and its links only:
        # reusing values seen in responses, or inferring links, would lead from a listing
        # to another user's provider, and then change or delete it.
        "phases": {
            "examples": {"extra-data-sources": {"responses": False}},
            "coverage": {"extra-data-sources": {"responses": False}},
            "fuzzing": {"extra-data-sources": {"responses": False}},
            # Sequences of valid requests: invalid ones are the other phases' job, and
            # would end each sequence at its first step.
            "stateful": {"enabled": options.stateful, "inference": {"algorithms": []},
                         "generation": {"mode": "positive",
                                        "max-examples": options.max_examples * STATEFUL_FACTOR}},
        },
        "operations": [
            {"include-path": exemption.path, "checks": {name: {"enabled": False}}}
            for name, setting in SCHEMATHESIS_CHECKS.items()
            for exemption in setting.exemptions if version < exemption.below],
    })


def _record(result: VersionResult, event: events.ScenarioFinished,
            seen: set[tuple[str, str, str]], deviations: KnownDeviations) -> None:
    recorder = event.recorder
    for case_id, interaction in recorder.interactions.items():
        if interaction.response is not None and case_id in recorder.cases:
            operation = recorder.cases[case_id].value.operation.label
            result.operations.add(operation)
            result.answers[(event.phase.value, operation, interaction.response.status_code)] += 1
    for case_id, nodes in recorder.checks.items():
        for node in nodes:
            if node.status != Status.FAILURE or node.failure_info is None:
                continue
            failure = node.failure_info.failure
            operation = failure.operation or recorder.label
            if (node.name, operation, failure.title) in seen:
                continue
            seen.add((node.name, operation, failure.title))
            info = node.failure_info
            steps = [step.curl for step in info.steps] or [info.code_sample]
            result.findings.append(Finding(
                version=result.version, check=node.name, operation=operation,
                title=failure.title, message=failure.message,
                reproduce=tuple(_with_token_variable(command) for command in steps),
                known=deviations.reason_for(node.name, operation) or "",
                exchange=_exchange(recorder.interactions.get(case_id))))


def _exchange(interaction) -> Exchange | None:
    """The request schemathesis sent and the response it got (headers as lists of values)."""
    if interaction is None or interaction.response is None:
        return None
    request, response = interaction.request, interaction.response
    return Exchange.of(request.method, request.uri, _pairs(request.headers), request.body,
                       response.status_code, _pairs(response.headers), response.content)


def _pairs(headers: dict[str, list[str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, values in headers.items() for value in values]


def _with_token_variable(curl: str) -> str:
    """schemathesis hides the token; the printed command reads it from $PLACEMENT_TOKEN."""
    return curl.replace("-H 'X-Auth-Token: [Filtered]'", '-H "X-Auth-Token: $PLACEMENT_TOKEN"')
