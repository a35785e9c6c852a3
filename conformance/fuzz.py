"""`placement-conformance fuzz`: schemathesis against a Placement deployment, per microversion.

    placement-conformance fuzz --url URL [--microversions 1.12,1.28] [--max-examples N]
                               [--seed S] [--stateful] [--known-deviations FILE]
                               [--junit FILE]

For each chosen microversion the spec is projected to that version (`placement_spec`) and
handed to schemathesis, which generates requests from it, valid and invalid, sends them
with `OpenStack-API-Version: placement X.Y` and the token, and checks every response with
its own checks (the table `SCHEMATHESIS_CHECKS`) and with Placement's (`conformance.checks`).
`--stateful` adds sequences that follow the spec's links: create a provider, set its
inventory, claim inventory with `PUT /allocations/{consumer_uuid}`, read the claim, put it
again, delete it.

Everything the run creates is conformance data of this run, so that it can share a
deployment with real users and with other runs:

- providers are named `conformance-<run id>-...`, custom resource classes
  `CUSTOM_CONFORMANCE_<RUN ID>_...`, projects and users `conformance-<run id>-...`,
  whatever the generator drew (`Steering` renames them before each request is sent);
- two fixture providers with generous inventory of three classes of the run give
  generated allocations somewhere to land (`Fixtures`);
- all of it is deleted at the end, also when a check fails or the run is stopped by
  Ctrl-C or SIGTERM, and what could not be is reported (`conformance_data`).

Each failure is printed with the microversion, the check, curl commands that reproduce it
(`$PLACEMENT_TOKEN` stands for the token) and the seed that regenerates the run. A failure
that the known-deviations file lists (a check on an operation, `conformance.deviations`)
is printed as KNOWN, with its reason, and does not fail the run.

`conformance.fuzz_tests` runs the same through pytest, a test per operation and
microversion.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import copy
import dataclasses
import sys
import uuid
import xml.etree.ElementTree as ElementTree
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence, TextIO

import httpx
import schemathesis
from schemathesis import Case, GenerationMode, Response
from schemathesis.engine import Status, events, from_schema
from schemathesis.generation.meta import TestPhase

import placement_spec
from conformance import allocation_bodies, checks
from conformance.exits import EXIT_FAILED, EXIT_PASSED, UsageError
from conformance.deviations import FUZZ_KEY, KnownDeviations, load
from conformance.cleanup import remove_run_data
from conformance.naming import new_run_id, run_class_prefix, run_provider_prefix
from conformance.options import (
    DEFAULT_MAX_EXAMPLES,
    add_fuzz_options,
    add_target_options,
    new_seed,
)
from conformance.target import Target, chosen_microversions, connect
from conformance.uuids import canonical, is_uuid_like
from placement_spec import Microversion, facts

# Sequences per example of the other phases: a sequence is short (six requests at most)
# and the lifecycle's later steps are only reached through its first ones.
STATEFUL_FACTOR = 3


@dataclass(frozen=True)
class Exemption:
    """A path where a check is off below a microversion, because Placement's documented
    behaviour there differs from what the check assumes."""

    path: str
    below: Microversion
    reason: str


@dataclass(frozen=True)
class CheckSetting:
    """How one of schemathesis's own checks runs against Placement, and why."""

    enabled: bool = True
    reason: str = ""
    # The statuses the check accepts, when not its defaults.
    expected_statuses: tuple[str, ...] = ()
    exemptions: tuple[Exemption, ...] = ()


INVENTORIES = "/resource_providers/{uuid}/inventories"
_DELETE_ALL_INVENTORIES_SINCE = facts.operation_range("DELETE", INVENTORIES).low
BEFORE_DELETE_ALL_INVENTORIES = Exemption(
    path=INVENTORIES, below=_DELETE_ALL_INVENTORIES_SINCE,
    reason=f"below {_DELETE_ALL_INVENTORIES_SINCE} Placement answers DELETE with 405 and no "
           "Allow header, and names DELETE in the Allow header of its other 405s (see the "
           "spec's description)")

# schemathesis's own checks. Each is on unless Placement's documented behaviour differs
# from what the check assumes; the reason says where.
SCHEMATHESIS_CHECKS: dict[str, CheckSetting] = {
    "not_a_server_error": CheckSetting(),
    "status_code_conformance": CheckSetting(),
    "content_type_conformance": CheckSetting(),
    "response_schema_conformance": CheckSetting(),
    "response_headers_conformance": CheckSetting(),
    "negative_data_rejection": CheckSetting(),
    "positive_data_acceptance": CheckSetting(
        reason="Placement answers 400, not 404 or 409, to a schema-valid body that names "
               "something that does not exist (a provider, a resource class, a parent) or "
               "an inventory whose capacity is not positive, and to a malformed consumer "
               "uuid in the path, which the spec leaves a plain string",
        # schemathesis's default list, plus 400.
        expected_statuses=("2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx")),
    "missing_required_header": CheckSetting(),
    "unsupported_method": CheckSetting(exemptions=(BEFORE_DELETE_ALL_INVENTORIES,)),
    "allow_header_conformance": CheckSetting(exemptions=(BEFORE_DELETE_ALL_INVENTORIES,)),
    "ignored_auth": CheckSetting(),
    "ensure_resource_availability": CheckSetting(),
    "use_after_free": CheckSetting(
        enabled=False,
        reason="GET /allocations/{consumer_uuid} after its DELETE is 200 "
               '{"allocations": {}} by design: Placement never answers 404 there'),
    "object_level_authorization": CheckSetting(),
}

for _check in checks.CHECKS:
    schemathesis.check(_check)


@dataclass(frozen=True)
class FuzzOptions:
    """How much to generate (per operation and phase), from which seed (None: a new one),
    whether to run sequences too, and which failures are known (`FUZZ_KEY` entries)."""

    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    stateful: bool = False
    deviations: KnownDeviations = KnownDeviations()


@dataclass(frozen=True)
class Finding:
    """One way the deployment broke a check, with what reproduces it."""

    version: Microversion
    check: str
    operation: str
    title: str
    message: str
    reproduce: tuple[str, ...]  # curl commands, oldest first
    # Why the deployment is known to fail so (its known-deviations entry), if it is.
    known: str = ""

    def report(self, seed: int) -> str:
        steps = "\n".join(f"    {command}" for command in self.reproduce)
        message = "\n".join(f"  {line}" for line in self.message.strip().splitlines())
        verdict = f"KNOWN ({self.known})" if self.known else "FAILED"
        return (f"{verdict} placement {self.version} {self.operation} [{self.check}] "
                f"{self.title}\n{message}\n  reproduce (seed {seed}):\n{steps}")


@dataclass
class VersionResult:
    """What fuzzing one microversion found, and which answers it got."""

    version: Microversion
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # (phase, operation, status) -> how many responses
    answers: collections.Counter = field(default_factory=collections.Counter)
    operations: set[str] = field(default_factory=set)
    skipped: str = ""

    @property
    def failures(self) -> list[Finding]:
        """The findings that fail the run: all but the known deviations."""
        return [finding for finding in self.findings if not finding.known]

    def answered(self, operation: str, status: int, phase: str | None = None) -> bool:
        """Whether `operation` got `status` at least once (in `phase`, if given)."""
        return any(count for (seen_phase, seen, code), count in self.answers.items()
                   if seen == operation and code == status and phase in (None, seen_phase))


@dataclass
class FuzzReport:
    """A whole run: every microversion's result, and what cleanup could not delete."""

    seed: int
    run_id: str
    results: list[VersionResult]
    leftovers: list[str] = field(default_factory=list)
    # Stopped by Ctrl-C or SIGTERM: the microversions after `results` were not fuzzed.
    interrupted: bool = False

    @property
    def passed(self) -> bool:
        return not (self.interrupted or self.leftovers
                    or any(r.failures or r.errors for r in self.results))


# --------------------------------------------------------------- conformance data

@dataclass(frozen=True)
class RunNames:
    """How everything this run creates is named, so that it can be found and removed."""

    run_id: str

    @property
    def provider_prefix(self) -> str:
        """Every provider of the run starts with this; generated ones add `fuzz-`."""
        return run_provider_prefix(self.run_id)

    @property
    def class_prefix(self) -> str:
        return run_class_prefix(self.run_id)

    @property
    def fixture_providers(self) -> tuple[str, ...]:
        return (f"{self.provider_prefix}fixture-1", f"{self.provider_prefix}fixture-2")

    @property
    def fixture_classes(self) -> tuple[str, ...]:
        return tuple(f"{self.class_prefix}FIXTURE_{letter}" for letter in "ABC")

    def provider_name(self, generated: str, serial: int | None = None) -> str:
        """The run's name for a generated provider name; `serial` makes it unique."""
        prefix = f"{self.provider_prefix}fuzz-"
        if serial is None:
            return _prefixed(prefix, generated, 200)
        return _prefixed(f"{prefix}{serial}-", generated.removeprefix(prefix), 200)

    def class_name(self, generated: str) -> str:
        """`CUSTOM_X` becomes a class of the run; any other name is left to be refused."""
        if not generated.startswith("CUSTOM_") or generated.startswith(self.class_prefix):
            return generated
        return _prefixed(f"{self.class_prefix}FUZZ_", generated.removeprefix("CUSTOM_"), 255)

    def external_id(self, generated: str) -> str:
        """A project or user id: Placement records them, and offers no way to remove them."""
        return _prefixed(self.provider_prefix, generated, 255)


def _prefixed(prefix: str, generated: str, max_length: int) -> str:
    """`prefix` + `generated`, cut to `max_length`, except that a value that was already
    too long (a deliberately invalid one) stays as long as it was, so stays invalid.
    A value that has the prefix already keeps it once."""
    if generated.startswith(prefix):
        return generated
    return (prefix + generated)[:max(max_length, len(generated))]


@dataclass(frozen=True)
class Fixtures:
    """Where generated allocations land: providers with generous inventory of classes of
    the run, so that a valid claim succeeds whatever amounts were drawn (they are fitted
    into 1..FIXTURE_MAX_UNIT) and however many claims came before. The classes are the
    run's own, so that no real workload is ever scheduled onto these providers."""

    providers: tuple[str, ...]  # uuids
    classes: tuple[str, ...]


FIXTURE_MAX_UNIT = 1000
FIXTURE_INVENTORY = {"total": 2147483647, "max_unit": FIXTURE_MAX_UNIT}


def create_fixtures(client: httpx.Client, names: RunNames) -> Fixtures:
    for name in names.fixture_classes:
        _expect(client.post("/resource_classes", json={"name": name}), 201)
    providers = []
    for name in names.fixture_providers:
        provider = str(uuid.uuid4())
        _expect(client.post("/resource_providers", json={"uuid": provider, "name": name}), 200, 201)
        _expect(client.put(f"/resource_providers/{provider}/inventories", json={
            "resource_provider_generation": 0,
            "inventories": {name: FIXTURE_INVENTORY for name in names.fixture_classes}}), 200)
        providers.append(provider)
    return Fixtures(providers=tuple(providers), classes=names.fixture_classes)


@dataclass
class RunData:
    """What a run keeps on the deployment: how it names things, the fixtures it made, and,
    once the run is over, what could not be removed."""

    names: RunNames
    fixtures: Fixtures | None = None
    leftovers: list[str] = field(default_factory=list)

    def steering(self) -> Steering:
        """A new steering for one microversion's requests (sequences start afresh)."""
        assert self.fixtures is not None, "the fixtures are made on entering conformance_data"
        return Steering(self.names, self.fixtures)


@contextlib.contextmanager
def conformance_data(target: Target) -> Iterator[RunData]:
    """Make a new run's fixtures on the deployment, and remove everything named for the
    run on the way out, however the run ends (a failure, an error, Ctrl-C); what could
    not be removed is in `leftovers` afterwards."""
    data = RunData(RunNames(run_id=new_run_id()))
    with target.client() as client:
        try:
            data.fixtures = create_fixtures(client, data.names)
            yield data
        finally:
            try:
                data.leftovers = remove_run_data(client, data.names.run_id)
            except httpx.HTTPError as error:
                data.leftovers = [f"cannot list the run's data: {error}"]


def _expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise UsageError(f"{response.request.method} {response.request.url} answered "
                         f"{response.status_code}: {response.text[:300]}")
    return response


# --------------------------------------------------------------------- steering

class Steering:
    """Rewrites each generated request just before it is sent.

    Safety, on every request, valid or not:

    - only the run's own providers and consumers are written to: a request that would
      change or delete another provider or consumer (schemathesis draws values it has
      seen in responses, such as a listing of every provider) names one of the run's
      instead, or a new uuid when the run has none yet;
    - names of providers, custom classes, projects and users become names of this run
      (`RunNames`), so that nothing the fuzzer creates escapes cleanup.

    Reach, on valid requests only (invalid ones are left as drawn, to stay invalid):

    - an allocation names the fixtures' providers and classes, in amounts they grant;
    - a consumer is a new one (generation null), unless it is one the run wrote before,
      which a sequence carries on to its next step;
    - an inventory is of the fixtures' classes;
    - in a sequence, a provider is created new (a new uuid and name), or the sequence
      would end at its first step with 409.

    Without this, generated allocations name random providers and classes and never get
    past 400. The rules depend on nothing but the request and what the run created, so
    that Hypothesis, which replays sequences, sees the server answer the same way again.
    Every rule leaves a value it already applied to as it is, because schemathesis sends
    values it has seen again; and containers are copied before they are changed, because
    they may be the spec's own examples.
    """

    def __init__(self, names: RunNames, fixtures: Fixtures):
        self.names = names
        self.fixtures = fixtures
        # What the run's requests created, in canonical form, oldest first. The fixtures
        # are not among them: requests may claim their inventory, not change them.
        self.providers: list[str] = []
        self.consumers: list[str] = []
        self.serial = 0

    def before_call(self, case: Case) -> None:
        label = case.operation.label
        case.path_parameters = dict(case.path_parameters or {})
        if isinstance(case.body, (dict, list)):
            case.body = copy.deepcopy(case.body)
        self._write_only_the_run_s_own(case)
        self._name_for_the_run(label, case.path_parameters, case.body)
        valid = case.meta is not None and case.meta.generation.mode == GenerationMode.POSITIVE
        if valid and isinstance(case.body, dict):
            self._reach(label, case)

    def after_call(self, case: Case, response: Response) -> None:
        """Learn the uuid of each provider the run creates (from its body from 1.20, from
        its `Location` before)."""
        if case.operation.label != "POST /resource_providers":
            return
        if response.status_code == 200:
            self.providers.append(canonical(response.json()["uuid"]))
        elif response.status_code == 201 and (location := checks.header(response, "Location")):
            self.providers.append(canonical(location.rsplit("/", 1)[-1]))

    def _write_only_the_run_s_own(self, case: Case) -> None:
        if case.operation.method == "get":
            return
        path, body = case.path_parameters, case.body
        if "uuid" in path:
            path["uuid"] = self._own(path["uuid"], self.providers)
        if "consumer_uuid" in path:
            path["consumer_uuid"] = self._own(path["consumer_uuid"], self.consumers)
        if case.operation.label in ("POST /resource_providers", "PUT /resource_providers/{uuid}"):
            _rename(body, "parent_provider_uuid", lambda parent: self._own(parent, self.providers))
        elif case.operation.label == "PUT /allocations/{consumer_uuid}":
            self._own_providers_in(body)
        elif case.operation.label == "POST /allocations" and isinstance(body, dict):
            case.body = {self._own(consumer, self.consumers): document
                         for consumer, document in body.items()}
            for document in case.body.values():
                self._own_providers_in(document)

    def _own_providers_in(self, document: Any) -> None:
        """Allocations may name the run's providers and the fixtures."""
        owned = self.providers + list(self.fixtures.providers)
        allocation_bodies.rewrite(document, lambda provider: self._own(provider, owned))

    @staticmethod
    def _own(value: Any, owned: list[str]) -> Any:
        """`value`, unless it is a uuid the run did not create: then one the run did (or
        a new one). What is not uuid-like names nothing, and stays as drawn."""
        if not isinstance(value, str) or not is_uuid_like(value) or canonical(value) in owned:
            return value
        return _pick(owned, value) if owned else str(uuid.uuid4())

    def _name_for_the_run(self, label: str, path: dict, body: Any) -> None:
        if label in ("POST /resource_providers", "PUT /resource_providers/{uuid}"):
            _rename(body, "name", self.names.provider_name)
        elif label == "POST /resource_classes":
            _rename(body, "name", self.names.class_name)
        elif label.startswith(("PUT /resource_classes/", "DELETE /resource_classes/")):
            _rename(path, "name", self.names.class_name)
            _rename(body, "name", self.names.class_name)
        elif label == "PUT /allocations/{consumer_uuid}":
            self._name_owners(body)
        elif label == "POST /allocations" and isinstance(body, dict):
            for document in body.values():
                self._name_owners(document)

    def _name_owners(self, document: Any) -> None:
        for key in ("project_id", "user_id"):
            _rename(document, key, self.names.external_id)

    def _reach(self, label: str, case: Case) -> None:
        body = case.body
        if label == "POST /resource_providers" and _in_sequence(case):
            self.serial += 1
            body["uuid"] = str(uuid.uuid4())
            _rename(body, "name", lambda name: self.names.provider_name(name, self.serial))
        elif label == "PUT /resource_providers/{uuid}/inventories":
            if isinstance(body.get("inventories"), dict):
                body["inventories"] = {self._fixture_class(name): record
                                       for name, record in body["inventories"].items()}
        elif label == "POST /resource_providers/{uuid}/inventories":
            _rename(body, "resource_class", self._fixture_class)
        elif label == "PUT /allocations/{consumer_uuid}":
            consumer = case.path_parameters["consumer_uuid"]
            if not is_uuid_like(consumer) or canonical(consumer) not in self.consumers:
                case.path_parameters["consumer_uuid"] = self._new_consumer(body)
            self._claim(body)
        elif label == "POST /allocations":
            case.body = {self._new_consumer(document): document for document in body.values()}
            for document in case.body.values():
                self._claim(document)

    def _new_consumer(self, document: Any) -> str:
        """A consumer that does not exist yet, so its generation is null."""
        if isinstance(document, dict) and "consumer_generation" in document:
            document["consumer_generation"] = None
        consumer = str(uuid.uuid4())
        self.consumers.append(consumer)
        return consumer

    def _claim(self, document: Any) -> None:
        """Point every allocation of `document` at the fixtures, in amounts they grant."""
        allocation_bodies.rewrite(document, self._fixture_provider, self._amounts)

    def _amounts(self, resources: dict[str, float]) -> dict[str, int]:
        return {self._fixture_class(name): 1 + int(amount) % FIXTURE_MAX_UNIT
                for name, amount in resources.items()}

    def _fixture_provider(self, generated: str) -> str:
        return _pick(self.fixtures.providers, generated)

    def _fixture_class(self, generated: str) -> str:
        return _pick(self.fixtures.classes, generated)


def _rename(container: Any, key: str, rename: Callable[[Any], Any]) -> None:
    if isinstance(container, dict) and isinstance(container.get(key), str):
        container[key] = rename(container[key])


def _pick(choices: Sequence[str], generated: str) -> str:
    """One of `choices`, the same for the same generated text (reproducible runs)."""
    return choices[zlib.crc32(generated.encode("utf-8", "surrogatepass")) % len(choices)]


def _in_sequence(case: Case) -> bool:
    return case.meta is not None and case.meta.phase.name == TestPhase.STATEFUL


# One run at a time steers: schemathesis's `before_call` hook exists only process-wide.
_active_steering: Steering | None = None


@contextlib.contextmanager
def _steering(steering: Steering) -> Iterator[None]:
    global _active_steering
    _active_steering = steering
    try:
        yield
    finally:
        _active_steering = None


@schemathesis.hook("before_call")
def _steer(context, case: Case, kwargs: dict) -> None:
    if _active_steering is not None:
        _active_steering.before_call(case)


@schemathesis.hook("after_call")
def _learn(context, case: Case, response: Response) -> None:
    if _active_steering is not None:
        _active_steering.after_call(case, response)


# ---------------------------------------------------------------------- the run

def fuzz(target: Target, versions: list[Microversion], options: FuzzOptions,
         out: TextIO | None = None) -> FuzzReport:
    """Fuzz each microversion in turn, then remove the run's data; print as it goes
    (to standard output unless `out` is given). Ctrl-C stops the run after removing its
    data, and the report says it was interrupted."""
    out = out or sys.stdout
    options = with_seed(options)
    for line in check_settings():
        print(line, file=out)
    with conformance_data(target) as data:
        report = FuzzReport(seed=options.seed, run_id=data.names.run_id, results=[])
        try:
            for version in versions:
                result = fuzz_version(target, version, options, data.steering())
                report.results.append(result)
                _print_result(result, options.seed, out)
        except KeyboardInterrupt:
            report.interrupted = True
    report.leftovers = data.leftovers
    for leftover in report.leftovers:
        print(f"LEFT BEHIND {leftover}", file=out)
    if report.interrupted:
        print("interrupted: the microversions after these were not fuzzed", file=out)
    total = sum(len(r.failures) for r in report.results)
    print(f"{total} failures at {len(report.results)} microversions (seed {options.seed}, "
          f"run {data.names.run_id})", file=out)
    return report


def with_seed(options: FuzzOptions) -> FuzzOptions:
    """`options` with a seed: its own, or a new one to print, so that the run can be repeated."""
    if options.seed is not None:
        return options
    return dataclasses.replace(options, seed=new_seed())


def fuzz_version(target: Target, version: Microversion, options: FuzzOptions,
                 steering: Steering) -> VersionResult:
    """Run schemathesis at one microversion; `options` must have a seed (`with_seed`)."""
    result = VersionResult(version)
    if not target.serves(version):
        result.skipped = f"the deployment serves {target.minimum}..{target.maximum}"
        return result
    schema = schemathesis.openapi.from_dict(
        placement_spec.project(version),
        config=schemathesis_config(target, version, options))
    seen: set[tuple[str, str, str]] = set()
    with _steering(steering):
        for event in from_schema(schema).execute():
            if isinstance(event, events.ScenarioFinished):
                _record(result, event, seen, options.deviations)
            elif isinstance(event, events.NonFatalError):
                result.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
            elif isinstance(event, events.FatalError):
                raise event.exception
            elif isinstance(event, events.Interrupted):
                # schemathesis stops on Ctrl-C and says so; the caller stops too.
                raise KeyboardInterrupt
    return result


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
                known=deviations.reason_for(node.name, operation) or ""))


def _with_token_variable(curl: str) -> str:
    """schemathesis hides the token; the printed command reads it from $PLACEMENT_TOKEN."""
    return curl.replace("-H 'X-Auth-Token: [Filtered]'", '-H "X-Auth-Token: $PLACEMENT_TOKEN"')


def check_settings() -> list[str]:
    """Which of schemathesis's checks do not run as they come, and why: a line each."""
    lines = []
    for name, setting in SCHEMATHESIS_CHECKS.items():
        if not setting.enabled:
            lines.append(f"check {name} is off: {setting.reason}")
        elif setting.expected_statuses:
            lines.append(f"check {name} expects {', '.join(setting.expected_statuses)}: "
                         f"{setting.reason}")
        lines += [f"check {name} is off on {exemption.path} below {exemption.below}: "
                  f"{exemption.reason}" for exemption in setting.exemptions]
    return lines


def _print_result(result: VersionResult, seed: int, out: TextIO) -> None:
    if result.skipped:
        print(f"SKIPPED placement {result.version}: {result.skipped}", file=out)
        return
    for finding in result.findings:
        print(finding.report(seed), file=out)
    for error in result.errors:
        print(f"ERROR placement {result.version}: {error}", file=out)
    verdict = "passed" if not (result.failures or result.errors) else "FAILED"
    known = len(result.findings) - len(result.failures)
    print(f"placement {result.version}: {verdict}, {sum(result.answers.values())} responses, "
          f"{len(result.failures)} failures, {known} known deviations", file=out)


def write_junit(report: FuzzReport, path: Path) -> None:
    """One test suite per microversion, one test case per operation."""
    suites = ElementTree.Element("testsuites", name="placement-conformance fuzz")
    for result in report.results:
        suite = ElementTree.SubElement(suites, "testsuite", name=f"placement {result.version}")
        if result.skipped:
            case = ElementTree.SubElement(suite, "testcase", name="all operations")
            ElementTree.SubElement(case, "skipped", message=result.skipped)
        failed: dict[str, list[Finding]] = collections.defaultdict(list)
        known: dict[str, list[Finding]] = collections.defaultdict(list)
        for finding in result.findings:
            (known if finding.known else failed)[finding.operation].append(finding)
        for operation in sorted(result.operations | set(failed) | set(known)):
            case = ElementTree.SubElement(suite, "testcase", name=operation,
                                          classname=f"placement {result.version}")
            for finding in failed[operation]:
                failure = ElementTree.SubElement(case, "failure",
                                                 message=f"[{finding.check}] {finding.title}")
                failure.text = finding.report(report.seed)
            if known[operation] and not failed[operation]:
                skipped = ElementTree.SubElement(case, "skipped", message="known deviation")
                skipped.text = "\n\n".join(f.report(report.seed) for f in known[operation])
        for error in result.errors:
            case = ElementTree.SubElement(suite, "testcase", name="run")
            ElementTree.SubElement(case, "error", message=error)
        suite.set("tests", str(len(suite)))
        suite.set("failures", str(sum(len(f) for f in failed.values())))
        suite.set("errors", str(len(result.errors)))
    if report.interrupted:
        _failed_suite(suites, "run", "every chosen microversion fuzzed", "interrupted",
                      "stopped by Ctrl-C or SIGTERM: the microversions after these were "
                      "not fuzzed")
    if report.leftovers:
        _failed_suite(suites, "cleanup", "conformance data removed", "left behind",
                      "\n".join(report.leftovers))
    ElementTree.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def _failed_suite(suites: ElementTree.Element, name: str, case_name: str, message: str,
                  text: str) -> None:
    """A suite of one failed test case, for what went wrong with the run as a whole."""
    suite = ElementTree.SubElement(suites, "testsuite", name=name, tests="1", failures="1")
    case = ElementTree.SubElement(suite, "testcase", name=case_name)
    failure = ElementTree.SubElement(case, "failure", message=message)
    failure.text = text


def known_deviations(path: Path | None) -> KnownDeviations:
    """The known-deviations file at `path` (none: no deviations), checked against the
    checks the fuzzer runs and the operations of the spec, so that a typo hides nothing."""
    if path is None:
        return KnownDeviations()
    deviations = load(path, FUZZ_KEY)
    names = [*SCHEMATHESIS_CHECKS, *(check.__name__ for check in checks.CHECKS)]
    operations = {operation for version in placement_spec.supported()
                  for operation in placement_spec.operations(placement_spec.project(version))}
    deviations.check_names((name, operation) for name in names for operation in operations)
    return deviations


# ------------------------------------------------------------------------ the CLI

def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser(
        "fuzz", help="schemathesis on the spec, per microversion",
        description="Generate requests from the spec with schemathesis, at each chosen "
                    "microversion, and check every answer; the data the run creates is "
                    "named as conformance data and removed at the end.")
    add_target_options(parser.add_argument)
    add_fuzz_options(parser.add_argument)
    parser.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    parser.set_defaults(handler=command)


def command(arguments: argparse.Namespace) -> int:
    deviations = known_deviations(arguments.known_deviations)  # a typo before any request
    target = connect(arguments)
    versions = chosen_microversions(arguments.microversions, target)
    options = FuzzOptions(max_examples=arguments.max_examples, seed=arguments.seed,
                          stateful=arguments.stateful, deviations=deviations)
    report = fuzz(target, versions, options)
    if arguments.junit:
        write_junit(report, arguments.junit)
    if report.interrupted:
        raise KeyboardInterrupt  # the command line's way out: "interrupted", exit 1
    return EXIT_PASSED if report.passed else EXIT_FAILED

